"""Node tier scale-down: utilisation, simulation, timers, min size, zone balance, blockers, unmanaged."""

from __future__ import annotations

from include.capacity.scaledown import find_unneeded, plan_scale_down
from include.capacity.settings import CapacitySettings
from tests.include.capacity.factory import NOW, H, I, J, node, pod, pool, snapshot

LONG_AGO = NOW - 3600


def busy(name: str, zone: str = H, cpu_m: int = 3000, **kw: object) -> tuple:
    """A node and a pod that keeps it above the threshold."""
    return node(name, zone, **kw), pod(f"web-7d9f-{name}", name, cpu_m)


def test_underused_node_whose_pods_fit_elsewhere_is_unneeded() -> None:
    n1, p1 = busy("n1", cpu_m=2000)
    snap = snapshot((n1, node("n2")), (p1, pod("web-7d9f-x", "n2", 1000)))
    unneeded, _ = find_unneeded(snap)
    assert unneeded == {"n2": (0.25, ("shop/web-7d9f-x",))}


def test_pods_that_fit_nowhere_keep_the_node() -> None:
    n1, p1 = busy("n1", cpu_m=3500)
    snap = snapshot((n1, node("n2")), (p1, pod("web-7d9f-x", "n2", 1000)))
    unneeded, kept = find_unneeded(snap)
    assert not unneeded and "do not all fit" in kept["n2"]


def test_two_underused_nodes_cannot_both_move_into_each_other() -> None:
    snap = snapshot((node("n1"), node("n2")), (pod("web-7d9f-a", "n1", 1500), pod("web-7d9f-b", "n2", 1500)))
    unneeded, kept = find_unneeded(snap)
    assert len(unneeded) == 1 and len(kept) == 1


def test_pod_constraints_are_honoured_in_the_simulation() -> None:
    n1, p1 = busy("n1", H, cpu_m=2000)
    snap = snapshot((n1, node("n2", I)), (p1, pod("web-7d9f-x", "n2", 1000, zone=I)))
    unneeded, _ = find_unneeded(snap)
    assert "n2" not in unneeded


def test_daemonset_and_mirror_pods_do_not_count_or_move() -> None:
    n1, p1 = busy("n1", cpu_m=3000)
    ds = pod("agent-x", "n2", 1500, owner="agent", owner_kind="DaemonSet", daemonset=True)
    mirror = pod("etcd-n2", "n2", 1500, owner="n2", owner_kind="Node", mirror=True)
    unneeded, _ = find_unneeded(snapshot((n1, node("n2")), (p1, ds, mirror)))
    assert unneeded == {"n2": (0.0, ())}


def test_blockers_keep_the_node() -> None:
    bare = pod("debug", "n2", 100, owner=None)
    local = pod("cache-7d9f-x", "n2", 100, local_storage=True)
    for blocker, why in ((bare, "no controller"), (local, "local storage")):
        _, kept = find_unneeded(snapshot((node("n1"), node("n2")), (blocker,)))
        assert why in kept["n2"]


def test_young_cordoned_unready_and_failed_zone_nodes_are_not_candidates() -> None:
    nodes = (
        node("young", created_at=NOW - 60),
        node("cordoned", unschedulable=True),
        node("down", ready=False),
        node("failed", J),
        node("spare", I),
    )
    unneeded, kept = find_unneeded(snapshot(nodes, failed_zones=frozenset({J})))
    assert set(unneeded) == {"spare"}
    assert "younger than" in kept["young"]


def test_removed_only_after_the_unneeded_time() -> None:
    nodes = (*busy("n1")[:1], node("n2"), node("n3", I), node("n4", J))
    pods = (busy("n1")[1],)
    fresh = plan_scale_down(snapshot(nodes, pods))
    assert not fresh.removals and fresh.unneeded_since["n2"] == NOW
    ripe = plan_scale_down(snapshot(nodes, pods, unneeded_since={"n2": NOW - 601, "n3": NOW - 10}))
    assert [r.node for r in ripe.removals] == ["n2"]
    assert ripe.unneeded_since["n3"] == NOW - 10 and "10 s of 600 s" in ripe.notes["n3"]


def test_never_below_min_size() -> None:
    nodes = (node("a", H), node("b", I), node("c", J))
    old = {n.name: LONG_AGO for n in nodes}
    down = plan_scale_down(snapshot(nodes, pools=(pool(min_size=2),), unneeded_since=old))
    assert len(down.removals) == 1
    assert sum("min size 2" in v for v in down.notes.values()) == 2


def test_removals_keep_zones_balanced() -> None:
    # H has 3 nodes, I and J 2; all but one H node are empty and unneeded
    nodes = (
        node("h1", H),
        node("h2", H),
        node("h3", H),
        node("i1", I),
        node("i2", I),
        node("j1", J),
        node("j2", J),
    )
    pods = (pod("web-7d9f-a", "h1", 3000),)
    old = {n.name: LONG_AGO for n in nodes}
    down = plan_scale_down(
        snapshot(nodes, pods, unneeded_since=old), CapacitySettings(max_removals_per_run=4)
    )
    removed = [r.zone for r in down.removals]
    assert removed[0] == H
    counts = {H: 3, I: 2, J: 2}
    for z in removed:
        counts[z] -= 1
        assert max(counts.values()) - min(counts.values()) <= 1
    assert len(removed) == 4


def test_unbalanced_pool_does_not_lose_its_smallest_zone() -> None:
    nodes = (node("h1", H), node("h2", H), node("i1", I))
    pods = (pod("web-7d9f-a", "h1", 3000), pod("web-7d9f-b", "h2", 3000))
    down = plan_scale_down(snapshot(nodes, pods, unneeded_since={"i1": LONG_AGO}))
    assert not down.removals and "unbalance" in down.notes["i1"]


def test_at_most_n_removals_per_run() -> None:
    nodes = tuple(node(f"n{i}", (H, I, J)[i % 3]) for i in range(9))
    down = plan_scale_down(
        snapshot(nodes, unneeded_since={n.name: LONG_AGO for n in nodes}),
        CapacitySettings(max_removals_per_run=2),
    )
    assert len(down.removals) == 2


def test_unmanaged_nodes_are_listed_and_never_removed() -> None:
    nodes = (node("u1", managed=False), node("u2", pool_name=None), node("n1"), node("n2", I))
    down = plan_scale_down(snapshot(nodes, unneeded_since={"u1": LONG_AGO, "u2": LONG_AGO}))
    assert down.unmanaged == ("u1", "u2")
    assert not {r.node for r in down.removals} & {"u1", "u2"}


def test_pods_may_move_to_unmanaged_nodes() -> None:
    nodes = (node("u1", managed=False), node("n1"))
    unneeded, _ = find_unneeded(snapshot(nodes, (pod("web-7d9f-a", "n1", 1000),)))
    assert "n1" in unneeded and "u1" not in unneeded


def test_too_many_unready_nodes_pause_scale_down() -> None:
    nodes = (*(node(f"d{i}", ready=False) for i in range(4)), node("n1"), node("n2"))
    down = plan_scale_down(snapshot(nodes, unneeded_since={"n1": LONG_AGO}))
    assert not down.removals and "unready" in down.notes["scale-down"]


def test_paused_keeps_timers_running() -> None:
    nodes = (node("n1"), node("n2", I))
    down = plan_scale_down(snapshot(nodes, unneeded_since={"n1": LONG_AGO}), paused="adds nodes")
    assert (
        not down.removals
        and down.unneeded_since["n1"] == LONG_AGO
        and down.notes["scale-down"] == "adds nodes"
    )
