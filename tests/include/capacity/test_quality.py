"""The plan's Great Expectations gate: it passes real plans and catches each broken rule."""

from __future__ import annotations

from dataclasses import replace

from include.capacity.model import ADD_NODES, REMOVE_NODE, SCALE_DEPLOYMENT, Action, CapacityPlan
from include.capacity.plan import plan_capacity
from include.capacity.quality import check_plan, plan_rows
from include.capacity.settings import CapacitySettings
from tests.include.capacity.factory import H, I, J, deployment, node, pod, pool, snapshot

SNAP = snapshot(
    (node("h1", H), node("i1", I), node("j1", J), node("u1", managed=False)),
    (pod("web-7d9f-a", None, 3000),),
    pools=(pool(min_size=3, max_size=4),),
    deployments=(deployment(replicas=3, max_replicas=5),),
    failed_zones=frozenset({J}),
)


def add(zone: str = H, count: int = 1) -> Action:
    return Action(
        ADD_NODES, "workers", "t", pool="workers", zone=zone, instance_type="ecs.g7.xlarge", count=count
    )


def remove(target: str) -> Action:
    return Action(REMOVE_NODE, target, "t", pool="workers", zone=H)


def test_empty_plan_passes_without_running_gx() -> None:
    assert check_plan(CapacityPlan("demo"), SNAP).evaluated == 0


def test_a_planned_scale_up_passes() -> None:
    plan = plan_capacity(SNAP)
    assert plan.actions
    report = check_plan(plan, SNAP)
    assert report.success, report.failures
    assert report.evaluated > 10


def test_each_broken_rule_fails_the_gate() -> None:
    # one GX run over rows that each break one rule (GX takes seconds per run); every rule must be named
    bigger = replace(SNAP, pools=(pool(min_size=4, max_size=6), pool("batch", min_size=0, max_size=1)))
    batch_add = Action(ADD_NODES, "batch", "t", pool="batch", zone=H, instance_type="ecs.g7.xlarge", count=2)
    actions = (
        batch_add,  # 0 + 2 > max 1
        remove("h1"),  # 3 + 2 - 2 < min 4
        add(J),  # failed zone
        remove("u1"),  # unmanaged
        add("cn-shanghai-a"),  # not a zone of the pool
        Action(SCALE_DEPLOYMENT, "shop/web", "t", replicas=9, previous=3),  # above max-replicas 5
        Action(SCALE_DEPLOYMENT, "shop/other", "t", replicas=2, previous=3),  # not autoscaled
    )
    report = check_plan(CapacityPlan("demo", actions), bigger)
    assert not report.success
    for column in (
        "max_size",
        "min_size",
        "zone_failed",
        "node_ok",
        "zone_in_pool",
        "replicas_max",
        "autoscaled",
    ):
        assert any(column in f for f in report.failures), (column, report.failures)


def test_a_node_the_snapshot_lacks_fails_the_gate() -> None:
    report = check_plan(CapacityPlan("demo", (remove("ghost"),)), replace(SNAP, pools=(pool(max_size=4),)))
    assert [f for f in report.failures if "node_ok" in f] and len(report.failures) == 1


def test_step_limits() -> None:
    big = replace(SNAP, pools=(pool(max_size=50),), failed_zones=frozenset())
    plan = CapacityPlan("demo", (add(H, 3), add(I, 3), remove("h1"), remove("i1")))
    limits = CapacitySettings(max_new_nodes_per_pool=5, max_new_nodes_per_run=4, max_removals_per_run=1)
    failures = " ".join(check_plan(plan, big, limits).failures)
    assert "'pool_new_nodes'" in failures and "'new_nodes'" in failures and "'removals'" in failures


def test_rows_carry_sizes_after_the_whole_plan() -> None:
    rows = plan_rows(CapacityPlan("demo", (add(H, 1), remove("i1"))), SNAP)
    assert [r["size_after"] for r in rows] == [3, 3]
    assert rows[1]["min_size"] == 3 and rows[0]["min_size"] is None
