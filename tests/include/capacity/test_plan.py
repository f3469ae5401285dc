"""The whole plan: tiers combined, converged cluster, bad input reported, never stopping the loop."""

from __future__ import annotations

from include.capacity.model import ADD_NODES, REMOVE_NODE, SCALE_DEPLOYMENT, Floor
from include.capacity.plan import plan_capacity
from tests.include.capacity.factory import NOW, H, I, J, deployment, node, pod, pool, snapshot


def converged():
    nodes = (node("h1", H), node("i1", I), node("j1", J), node("u1", managed=False))
    pods = tuple(pod(f"web-7d9f-{n.name}", n.name, 2500, usage_m=1250) for n in nodes[:3])
    return snapshot(nodes, pods, deployments=(deployment(replicas=3, min_replicas=3, target=50, cpu_m=2500),))


def test_converged_cluster_yields_no_action() -> None:
    plan = plan_capacity(converged())
    assert plan.actions == () and plan.converged
    assert plan.unmanaged_nodes == ("u1",)
    assert plan.history["shop/web"] == ((NOW, 3),)


def test_demand_up_scales_the_deployment_and_buys_nodes_for_the_new_pods() -> None:
    snap = converged()
    hot = tuple(p if p.node is None else type(p)(**{**p.__dict__, "cpu_usage_m": 2500}) for p in snap.pods)
    plan = plan_capacity(type(snap)(**{**snap.__dict__, "pods": hot}))
    kinds = [a.kind for a in plan.actions]
    assert kinds[0] == SCALE_DEPLOYMENT and plan.actions[0].replicas == 6 and plan.actions[0].previous == 3
    added = [a for a in plan.actions if a.kind == ADD_NODES]
    # three new 2.5-CPU pods: one fits on the empty (unmanaged, schedulable) node u1, two need new nodes
    assert sum(a.count for a in added) == 2
    assert len({a.zone for a in added}) == 2  # one per zone: skew stays <= 1
    assert all(a.fallbacks for a in added)
    assert REMOVE_NODE not in kinds


def test_pending_pods_pinned_to_a_zone_get_nodes_there_only() -> None:
    pods = tuple(pod(f"db-{i}", None, 3000, zone=J, owner="db-5c") for i in range(2))
    plan = plan_capacity(snapshot((node("h1", H),), pods))
    (add,) = plan.actions
    assert (add.zone, add.count) == (J, 2) and "pinned" in add.reason
    assert all(o.zone == J for o in add.fallbacks)


def test_bad_annotation_and_unplaceable_pod_do_not_stop_the_plan() -> None:
    bad = deployment("broken", error="shop/broken: yunfleet.io/max-replicas: 'x' is not a whole number")
    pods = (pod("ssd-1", None, 1000, node_selector={"disk": "ssd"}), pod("web-1", None, 1000))
    plan = plan_capacity(snapshot((), pods, deployments=(bad,)))
    assert "not a whole number" in plan.errors["shop/broken"]
    assert "disk" in plan.notes["shop/ssd-1"]
    assert [a.kind for a in plan.actions] == [ADD_NODES]


def test_floor_pre_scales_and_demand_down_removes_idle_nodes_later() -> None:
    floors = (Floor(0, 1440, 5),)
    snap = snapshot(
        (node("h1", H),),
        (pod("web-7d9f-a", "h1", 500, usage_m=100),),
        deployments=(deployment(replicas=1, floors=floors, cpu_m=500),),
    )
    plan = plan_capacity(snap)
    (scale,) = [a for a in plan.actions if a.kind == SCALE_DEPLOYMENT]
    assert scale.replicas == 5 and "floor 5" in scale.reason
    # the 4 new 500m pods fit on h1 (3500m free): no node bought
    assert not [a for a in plan.actions if a.kind == ADD_NODES]


def test_idle_nodes_are_removed_after_their_time_and_timers_are_returned() -> None:
    nodes = (node("h1", H), node("h2", H), node("i1", I), node("j1", J))
    pods = (pod("web-7d9f-a", "h1", 3000),)
    first = plan_capacity(snapshot(nodes, pods))
    assert not first.actions and set(first.unneeded_since) == {"h2", "i1", "j1"}
    later = plan_capacity(
        snapshot(nodes, pods, unneeded_since={k: v - 700 for k, v in first.unneeded_since.items()})
    )
    removed = [a for a in later.actions if a.kind == REMOVE_NODE]
    assert removed[0].target == "h2" and removed[0].instance_id == "i-h2"
    assert len(removed) == 3 and "fit on other nodes" in removed[0].reason


def test_no_scale_down_while_scaling_up() -> None:
    nodes = (node("h1", H), node("i1", I))
    pods = (pod("big-1", None, 3900, owner="big-1a"),)
    plan = plan_capacity(snapshot(nodes, pods, unneeded_since={"h1": 0.0, "i1": 0.0}))
    assert [a.kind for a in plan.actions] == [ADD_NODES]
    assert "adds nodes" in plan.notes["scale-down"]


def test_pool_below_min_size_is_filled_in_balance() -> None:
    plan = plan_capacity(snapshot((node("h1", H),), pools=(pool(min_size=3),)))
    adds = [a for a in plan.actions if a.kind == ADD_NODES]
    assert sorted(a.zone for a in adds) == [I, J] and "min_size 3" in adds[0].reason
