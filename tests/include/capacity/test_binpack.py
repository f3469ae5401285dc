"""Node tier scale-up: first-fit-decreasing per pool, constraints, limits, room already on its way."""

from __future__ import annotations

from collections import Counter

from include.capacity.binpack import daemonset_overheads, pack
from include.capacity.model import INSTANCE_TYPE_LABEL, POOL_LABEL, ZONE_LABEL, Backoff, Offering, Resources
from include.capacity.settings import CapacitySettings
from tests.include.capacity.factory import GI, NODE, H, I, J, node, pod, pool, snapshot


def pending(n: int, cpu_m: int = 1000, memory_gi: float = 1, prefix: str = "p", **kw: object) -> tuple:
    return tuple(pod(f"{prefix}{i}", cpu_m=cpu_m, memory_gi=memory_gi, **kw) for i in range(n))


def test_first_fit_decreasing_packs_by_every_resource() -> None:
    # 4 CPU / 16 GiB nodes: 6 pods of 2 CPU fill 3 nodes on CPU; 8 pods of 0.5 CPU and 4 GiB need 2 more
    # nodes (4 per node by memory); the lower bound max(ceil(16 CPU / 4), ceil(38 GiB / 16)) = 4 is not
    # reachable because CPU and memory do not mix on one node here
    pods = pending(6, 2000, 1, "cpu") + pending(8, 500, 4, "mem")
    up = pack(pods, snapshot(pods=pods))
    assert len(up.new_nodes) == 5
    assert not up.unplaced
    for n in up.new_nodes:
        assert n.used.cpu_m <= NODE.cpu_m and n.used.memory_b <= NODE.memory_b


def test_small_pods_fill_gaps_left_by_large_ones() -> None:
    pods = pending(3, 3000, 1, "big") + pending(3, 1000, 1, "small")
    up = pack(pods, snapshot(pods=pods))
    assert len(up.new_nodes) == 3
    assert all(len(n.pods) == 2 for n in up.new_nodes)


def test_pod_slots_are_a_resource() -> None:
    pods = pending(120, 10, 0.01)
    up = pack(pods, snapshot(pods=pods))
    assert sorted(len(n.pods) for n in up.new_nodes) == [10, 110]


def test_daemonset_overhead_is_taken_from_new_nodes() -> None:
    ds = pod("agent-x", "n1", 1000, 1, owner="agent", owner_kind="DaemonSet", daemonset=True)
    pods = pending(3, 1500)
    p = pool()
    p = type(p)(p.name, p.zones, p.instance_types, 0, 50, p.allocatable)  # overhead derived
    snap = snapshot((node("n1", created_at=0),), (ds, *pods), pools=(p,))
    assert daemonset_overheads(snap)["workers"] == Resources(1000, GI, 1)
    # 4000 - 1000 = 3000m per new node: two 1500m pods each -> 2 nodes; n1's free room is not offered to
    # pods the scheduler already found unschedulable
    up = pack(pods, snap)
    assert len(up.new_nodes) == 2


def test_node_selector_on_zone_pins_the_new_node() -> None:
    pods = pending(2, 1000, 1, "pin", zone=J)
    up = pack(pods, snapshot(pods=pods))
    (n,) = up.new_nodes
    assert n.zones == frozenset({J})


def test_pinned_pods_do_not_narrow_nodes_of_free_pods() -> None:
    pods = pending(10, 1000, 2, "web") + pending(3, 500, 1, "pin", zone=I)
    up = pack(pods, snapshot(pods=pods))
    pinned = [n for n in up.new_nodes if n.zones == frozenset({I})]
    assert len(pinned) == 1 and all(p.startswith("shop/pin") for p in pinned[0].pods)
    assert sum(1 for n in up.new_nodes if len(n.zones) == 3) == 3  # 10 pods, 4 per node


def test_required_affinity_terms_are_or_ed() -> None:
    terms = (((ZONE_LABEL, (H,)), (INSTANCE_TYPE_LABEL, ("ecs.g7.2xlarge",))), ((ZONE_LABEL, (J,)),))
    pods = pending(1, 1000, 1, "aff", required_terms=terms)
    p = pool(types=("ecs.g7.xlarge", "ecs.g7.2xlarge"))
    (n,) = pack(pods, snapshot(pods=pods, pools=(p,))).new_nodes
    # ecs.g7.xlarge (first by priority) is allowed only by the second term: zone J
    assert (n.instance_type, n.zones) == ("ecs.g7.xlarge", frozenset({J}))


def test_pool_selector_picks_the_pool() -> None:
    pods = pending(2, 1000, 1, "gpu", node_selector={POOL_LABEL: "batch"})
    pools = (pool("workers"), pool("batch"))
    up = pack(pods, snapshot(pods=pods, pools=pools))
    assert {n.pool for n in up.new_nodes} == {"batch"}


def test_selector_on_a_label_new_nodes_lack_is_reported() -> None:
    pods = pending(1, 1000, 1, "ssd", node_selector={"disk": "ssd"})
    up = pack(pods, snapshot(pods=pods))
    assert not up.new_nodes
    assert "disk" in up.unplaced["shop/ssd0"]


def test_pod_larger_than_any_type_is_reported() -> None:
    pods = pending(1, 16000, 1, "huge")
    up = pack(pods, snapshot(pods=pods))
    assert not up.new_nodes and "more than a ecs.g7.xlarge" in up.unplaced["shop/huge0"]


def test_next_instance_type_holds_what_the_first_cannot() -> None:
    pods = pending(1, 6000, 1, "wide")
    p = pool(types=("ecs.g7.xlarge", "ecs.g7.2xlarge"))
    (n,) = pack(pods, snapshot(pods=pods, pools=(p,))).new_nodes
    assert n.instance_type == "ecs.g7.2xlarge"


def test_pool_max_size_and_step_limits() -> None:
    pods = pending(20, 4000)
    snap = snapshot((node("n1"), node("n2")), pods, pools=(pool(max_size=5),))
    up = pack(pods, snap)
    assert len(up.new_nodes) == 3
    assert sum(1 for r in up.unplaced.values() if "max size 5" in r) == 17
    up = pack(pods, snapshot(pods=pods), CapacitySettings(max_new_nodes_per_pool=4))
    assert len(up.new_nodes) == 4 and all("step limit of 4" in r for r in up.unplaced.values())
    up = pack(pods, snapshot(pods=pods), CapacitySettings(max_new_nodes_per_run=2))
    assert len(up.new_nodes) == 2 and all("per-run limit of 2" in r for r in up.unplaced.values())


def test_failed_zone_and_backoff_remove_offerings() -> None:
    pods = pending(3, 4000)
    snap = snapshot(
        pods=pods,
        failed_zones=frozenset({H}),
        backoffs=(Backoff(Offering(I, "ecs.g7.xlarge"), 1e12, "OperationDenied.NoStock"),),
    )
    up = pack(pods, snap)
    assert {n.zones for n in up.new_nodes} == {frozenset({J})}
    pinned = pending(1, 1000, 1, "pin", zone=H)
    up = pack(pinned, snapshot(pods=pinned, failed_zones=frozenset({H})))
    assert not up.new_nodes and "zone failed" in up.unplaced["shop/pin0"]


def test_expired_backoff_is_ignored() -> None:
    pods = pending(3, 4000)
    snap = snapshot(
        pods=pods, backoffs=(Backoff(Offering(I, "ecs.g7.xlarge"), 1.0, "OperationDenied.NoStock"),)
    )
    assert all(I in n.zones for n in pack(pods, snap).new_nodes)


def test_upcoming_and_booting_nodes_take_pending_pods_first() -> None:
    pods = pending(4, 2000)
    snap = snapshot((node("booting", ready=False),), pods, upcoming=(node("i-launched", ready=False),))
    up = pack(pods, snap)
    assert not up.new_nodes
    assert Counter(up.on_existing.values()) == {"booting": 2, "i-launched": 2}


def test_only_pods_not_yet_created_use_free_room_of_ready_nodes() -> None:
    real = pending(1, 1000, 1, "real")
    new = pending(1, 1000, 1, "new")
    snap = snapshot((node("n1"),), real + new)
    up = pack(real + new, snap, synthetic=frozenset({"shop/new0"}))
    assert up.on_existing == {"shop/new0": "n1"}
    assert [n.pods for n in up.new_nodes] == [("shop/real0",)]


def test_pool_below_min_size_opens_nodes_that_pods_fill() -> None:
    pods = pending(2, 1000)
    up = pack(pods, snapshot(pods=pods, pools=(pool(min_size=3),)))
    assert len(up.new_nodes) == 3
    assert sum(len(n.pods) for n in up.new_nodes) == 2


def test_nothing_to_do() -> None:
    up = pack((), snapshot((node("n1"),)))
    assert not up.new_nodes and not up.unplaced


def test_a_not_ready_node_yunfleet_did_not_launch_is_no_room_on_its_way() -> None:
    pods = pending(2, 2000)
    stranger = node("edge-1", managed=False, ready=False)
    up = pack(pods, snapshot((stranger,), pods))
    assert not up.on_existing
    assert sum(len(n.pods) for n in up.new_nodes) == 2
