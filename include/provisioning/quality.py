"""The data-quality gate of a provisioning run: Great Expectations suites over the request and the plan.

The validate task runs these after the schema and semantic checks; a failed expectation fails the run
with the report before anything is created. GX is imported inside the functions: it is slow to import
and the DAG files must stay light.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from include.fleet.contract import ROLES, TAG_CLUSTER
from include.provisioning.catalog import MAX_POOL_SIZE
from include.provisioning.plan import KIND_INSTANCES, ProvisionPlan
from include.provisioning.request import ProvisionRequest


@dataclass(frozen=True)
class QualityReport:
    success: bool
    #: One line per failed expectation: table, expectation, column(s), a sample of bad values.
    failures: tuple[str, ...]
    evaluated: int

    def to_json(self) -> dict[str, Any]:
        return {"success": self.success, "failures": list(self.failures), "evaluated": self.evaluated}


def request_rows(request: ProvisionRequest) -> list[dict[str, Any]]:
    """One row per (pool, zone) of the request."""
    rows = []
    for pool in request.node_pools:
        for zone in pool.zones:
            rows.append(
                {
                    "pool": pool.name,
                    "zone": zone,
                    "instance_type": pool.instance_type,
                    "min_size": pool.min_size,
                    "desired_size": pool.desired_size,
                    "max_size": pool.max_size,
                }
            )
    return rows


def plan_rows(plan: ProvisionPlan) -> list[dict[str, Any]]:
    """One row per planned resource."""
    return [
        {
            "key": r.key,
            "kind": r.kind,
            "product": r.product,
            "zone": r.zone,
            "count": r.count,
            "role": r.role,
            "cluster_tag": r.tags.get(TAG_CLUSTER),
        }
        for r in plan.resources
    ]


def _expectations() -> Any:
    """The GX expectations module (imported on first use; typed loosely, GX exports lazily)."""
    import great_expectations.expectations as module

    return module


def _request_expectations(request: ProvisionRequest) -> list[Any]:
    gxe = _expectations()

    return [
        gxe.ExpectColumnValuesToBeInSet(column="zone", value_set=list(request.zones)),
        gxe.ExpectColumnValuesToNotBeNull(column="instance_type"),
        gxe.ExpectColumnValuesToMatchRegex(column="pool", regex=r"^[a-z](?:[a-z0-9-]*[a-z0-9])?$"),
        gxe.ExpectColumnValuesToBeBetween(column="max_size", min_value=1, max_value=MAX_POOL_SIZE),
        gxe.ExpectColumnValuesToBeBetween(column="min_size", min_value=0, max_value=MAX_POOL_SIZE),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="max_size", column_B="desired_size", or_equal=True
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="desired_size", column_B="min_size", or_equal=True
        ),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["pool", "zone"]),
    ]


def _plan_expectations(request: ProvisionRequest, plan: ProvisionPlan) -> list[Any]:
    gxe = _expectations()

    planned_instances = request.control_plane.count + sum(p.desired_size for p in request.node_pools)
    return [
        gxe.ExpectColumnValuesToBeUnique(column="key"),
        gxe.ExpectColumnValuesToBeInSet(column="zone", value_set=list(request.zones)),
        gxe.ExpectColumnValuesToBeInSet(column="role", value_set=list(ROLES)),
        gxe.ExpectColumnValuesToBeBetween(column="count", min_value=1, max_value=MAX_POOL_SIZE),
        gxe.ExpectColumnValuesToBeInSet(column="cluster_tag", value_set=[plan.cluster]),
        gxe.ExpectColumnValuesToBeInSet(column="product", value_set=["ecs", "slb", "alidns", "registry"]),
        gxe.ExpectColumnSumToBeBetween(
            column="instance_count", min_value=planned_instances, max_value=planned_instances
        ),
    ]


def _validate(name: str, rows: list[dict[str, Any]], expectations: list[Any]) -> tuple[list[str], int]:
    import great_expectations as gx
    import pandas as pd

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(name=f"{name}_source")
    asset = source.add_dataframe_asset(name=name)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"{name}_batch")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    for expectation in expectations:
        suite.add_expectation(expectation)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": pd.DataFrame(rows)})
    result = batch.validate(suite)
    failures = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        kwargs = {k: v for k, v in (config.kwargs if config else {}).items() if k != "batch_id"}
        outcome = item.result or {}
        sample = outcome.get("partial_unexpected_list") or outcome.get("observed_value")
        failures.append(f"{name}: {config.type if config else '?'} {kwargs} failed; found {sample!r}")
    return failures, len(result.results)


def check_quality(request: ProvisionRequest, plan: ProvisionPlan) -> QualityReport:
    """Run both suites; ``success`` only if every expectation holds."""
    request_failures, n1 = _validate("request", request_rows(request), _request_expectations(request))
    rows = plan_rows(plan)
    for row in rows:
        row["instance_count"] = row["count"] if row["kind"] == KIND_INSTANCES else 0
    plan_failures, n2 = _validate("plan", rows, _plan_expectations(request, plan))
    failures = tuple(request_failures + plan_failures)
    return QualityReport(success=not failures, failures=failures, evaluated=n1 + n2)
