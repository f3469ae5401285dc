"""The gate of a capacity run: a Great Expectations suite over the plan, checked against the snapshot.

Independently of how the plan was made, every action row must hold:

- pool sizes stay within ``[min_size, max_size]`` once the plan is applied (a removal never goes below
  min, an addition never above max);
- step limits: new nodes per pool per run, new nodes per run, removals per run (settings);
- no new node and no removal in a failed zone, and new nodes only in the pool's zones;
- no action on an unmanaged node (no pool label or no providerID) or on a node the snapshot lacks;
- a Deployment's new replicas within ``[min-replicas, max-replicas]`` (a floor may raise the minimum,
  never above max).

A plan without actions has nothing to gate. GX runs through the helper the Service registry's gate uses.
"""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

from include.capacity.model import ADD_NODES, REMOVE_NODE, SCALE_DEPLOYMENT, CapacityPlan, Snapshot
from include.capacity.settings import DEFAULT_SETTINGS, CapacitySettings
from include.capacity.zones import pool_nodes
from include.services.quality import GateReport
from include.services.quality import _validate as validate_rows


def plan_rows(plan: CapacityPlan, snapshot: Snapshot) -> list[dict[str, Any]]:
    """One row per action with the facts the suite checks (sizes after the whole plan, zone state, ...)."""
    size_after: Counter[str] = Counter()
    added: Counter[str] = Counter()
    for p in snapshot.pools:
        size_after[p.name] = len(pool_nodes(p.name, snapshot))
    for a in plan.actions:
        if a.kind == ADD_NODES and a.pool:
            size_after[a.pool] += a.count
            added[a.pool] += a.count
        elif a.kind == REMOVE_NODE and a.pool:
            size_after[a.pool] -= 1
    pools = {p.name: p for p in snapshot.pools}
    nodes = {n.name: n for n in snapshot.nodes}
    deployments = {d.key: d for d in snapshot.deployments}
    rows = []
    for a in plan.actions:
        pool = pools.get(a.pool or "")
        node = nodes.get(a.target) if a.kind == REMOVE_NODE else None
        deployment = deployments.get(a.target) if a.kind == SCALE_DEPLOYMENT else None
        rows.append(
            {
                "kind": a.kind,
                "target": a.target,
                "known_pool": pool is not None or a.kind == SCALE_DEPLOYMENT,
                "size_after": size_after[a.pool] if a.pool else None,
                "max_size": pool.max_size if pool else None,
                # the minimum binds removals only; an addition may leave a pool still below it
                "min_size": pool.min_size if pool and a.kind == REMOVE_NODE else None,
                "new_nodes": a.count if a.kind == ADD_NODES else 0,
                "pool_new_nodes": added[a.pool] if a.kind == ADD_NODES and a.pool else 0,
                "removals": 1 if a.kind == REMOVE_NODE else 0,
                "zone_failed": a.zone in snapshot.failed_zones if a.zone else False,
                "zone_in_pool": (a.zone in pool.zones) if (pool and a.zone) else a.kind == SCALE_DEPLOYMENT,
                "node_ok": (node is not None and node.managed and node.pool == a.pool)
                if a.kind == REMOVE_NODE
                else True,
                "replicas": a.replicas,
                "replicas_min": deployment.min_replicas if deployment else None,
                "replicas_max": deployment.max_replicas if deployment else None,
                "autoscaled": deployment.autoscale if deployment else a.kind != SCALE_DEPLOYMENT,
            }
        )
    return rows


def check_plan(
    plan: CapacityPlan, snapshot: Snapshot, settings: CapacitySettings = DEFAULT_SETTINGS
) -> GateReport:
    """Run the suite; ``success`` only when every expectation holds. No actions: success without GX."""
    if not plan.actions:
        return GateReport(True, (), 0)
    gxe: Any = importlib.import_module("great_expectations.expectations")  # exports lazily
    rows = plan_rows(plan, snapshot)
    either = "either_value_is_missing"
    expectations = [
        gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=[SCALE_DEPLOYMENT, ADD_NODES, REMOVE_NODE]),
        gxe.ExpectColumnValuesToBeInSet(column="known_pool", value_set=[True]),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="max_size", column_B="size_after", or_equal=True, ignore_row_if=either
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="size_after", column_B="min_size", or_equal=True, ignore_row_if=either
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="pool_new_nodes", min_value=0, max_value=settings.max_new_nodes_per_pool
        ),
        gxe.ExpectColumnSumToBeBetween(
            column="new_nodes", min_value=0, max_value=settings.max_new_nodes_per_run
        ),
        gxe.ExpectColumnSumToBeBetween(
            column="removals", min_value=0, max_value=settings.max_removals_per_run
        ),
        gxe.ExpectColumnValuesToBeInSet(column="zone_failed", value_set=[False]),
        gxe.ExpectColumnValuesToBeInSet(column="zone_in_pool", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="node_ok", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="autoscaled", value_set=[True]),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="replicas_max", column_B="replicas", or_equal=True, ignore_row_if=either
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="replicas", column_B="replicas_min", or_equal=True, ignore_row_if=either
        ),
    ]
    failures, evaluated = validate_rows("capacity_plan", rows, expectations)
    return GateReport(not failures, tuple(failures), evaluated)
