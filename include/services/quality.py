"""The gate of a Service registry run: a Great Expectations suite over the planned writes.

Checked independently of how the plan was made, from the plan and the zone as observed:

- every write is inside the managed zone;
- every write lands on a name this fleet owns or that is free, and every record it changes is one
  of ours at that name (an A record of the default line, or our ownership TXT);
- every TTL written is within the domain edition's bounds (``MinTtl`` .. 86400 s);
- no global name is left without an enabled record while one of its clusters is healthy.

A plan without writes has nothing to gate. GX is imported inside the functions (slow to import).
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from include.fleet.contract import ownership_rr
from include.services.changes import ADD, DELETE, SET_STATUS, TTL_ACTIONS, NamePlan
from include.services.model import MAX_TTL, ZoneRecord
from include.services.ownership import MANAGED_LINE, MANAGED_TYPE, ZoneIndex
from include.services.plan import ServicePlan


@dataclass(frozen=True)
class GateReport:
    success: bool
    #: one line per failed expectation: table, expectation, arguments, a sample of bad values
    failures: tuple[str, ...]
    evaluated: int


def ttl_problem(ttl: int, min_ttl: int, domain: str, edition: str = "") -> str | None:
    """Why ``ttl`` cannot be written to ``domain`` (one line), or ``None``.

    The edition's minimum comes from ``DescribeDomainInfo`` (``MinTtl``); the maximum is 86400 s on
    every edition (https://www.alibabacloud.com/help/en/dns/ttl-definition). The TTL is not clamped:
    the run fails before any write and says which setting to change.
    """
    if ttl < min_ttl:
        which = f" ({edition})" if edition else ""
        return (
            f"service_dns_ttl {ttl} s is below the minimum TTL {min_ttl} s of {domain}'s DNS edition"
            f"{which}; set the connection extra service_dns_ttl to at least {min_ttl}; nothing was changed"
        )
    if ttl > MAX_TTL:
        return f"service_dns_ttl {ttl} s is above the maximum {MAX_TTL} s; nothing was changed"
    return None


def _touches_only_ours(
    name: NamePlan, change_rr: str, record_id: str | None, index: ZoneIndex, by_id: dict[str, ZoneRecord]
) -> bool:
    state = index.state(name.rr)
    if not (state.owned or state.free):
        return False
    if change_rr not in (name.rr, ownership_rr(name.rr)):
        return False
    if record_id is None:
        return True
    record = by_id.get(record_id)
    if record is None or record.rr != change_rr:
        return False
    if record.rr == name.rr:
        return record.type == MANAGED_TYPE and record.line == MANAGED_LINE
    return index.is_ours(record)


def change_rows(plan: ServicePlan, records: Iterable[ZoneRecord], owner: str) -> list[dict[str, Any]]:
    """One row per planned write: ``fqdn``, ``action``, ``ttl`` (writes with a TTL), ``ours``."""
    records = list(records)
    index = ZoneIndex.build(records, owner)
    by_id = {r.record_id: r for r in records}
    return [
        {
            "fqdn": f"{c.rr}.{plan.domain}",
            "action": c.action,
            "ttl": c.ttl if c.action in TTL_ACTIONS else None,
            "ours": _touches_only_ours(name, c.rr, c.record_id, index, by_id),
        }
        for name in plan.names
        for c in name.changes
    ]


def global_rows(plan: ServicePlan, records: Iterable[ZoneRecord], owner: str) -> list[dict[str, Any]]:
    """One row per global name: healthy targets, and enabled records once the plan is applied."""
    index = ZoneIndex.build(records, owner)
    changes = {n.rr: n.changes for n in plan.names}
    rows = []
    for check in plan.checks:
        state = index.state(check.rr)
        enabled = {r.record_id: r.enabled for r in state.managed} if state.owned else {}
        for n, change in enumerate(changes.get(check.rr, ())):
            if change.rr != check.rr or change.record_type != MANAGED_TYPE:
                continue
            if change.action == ADD:
                enabled[f"new-{n}"] = True
            elif change.action == DELETE:
                enabled.pop(str(change.record_id), None)
            elif change.action == SET_STATUS and change.record_id in enabled:
                enabled[str(change.record_id)] = change.status == "Enable"
        after = sum(enabled.values())
        rows.append(
            {
                "rr": check.rr,
                "healthy_targets": check.healthy_targets,
                "enabled_after": after,
                "left_empty": check.healthy_targets > 0 and after == 0,
            }
        )
    return rows


def check_gate(
    plan: ServicePlan, records: Iterable[ZoneRecord], *, domain: str, owner: str, min_ttl: int
) -> GateReport:
    """Run the suite against the managed zone ``domain``; ``success`` only when every expectation holds.

    A plan with nothing to write passes without running GX.
    """
    records = list(records)
    if not plan.changes:
        return GateReport(True, (), 0)
    gxe: Any = importlib.import_module("great_expectations.expectations")  # exports lazily

    zone = re.escape(domain)
    failures, evaluated = _validate(
        "service_writes",
        change_rows(plan, records, owner),
        [
            gxe.ExpectColumnValuesToMatchRegex(column="fqdn", regex=rf"^(?:[a-z0-9_-]+\.)+{zone}$"),
            gxe.ExpectColumnValuesToBeInSet(column="ours", value_set=[True]),
            gxe.ExpectColumnValuesToBeBetween(column="ttl", min_value=min_ttl, max_value=MAX_TTL),
        ],
    )
    names = global_rows(plan, records, owner)
    if names:
        more, n = _validate(
            "global_names", names, [gxe.ExpectColumnValuesToBeInSet(column="left_empty", value_set=[False])]
        )
        failures += more
        evaluated += n
    return GateReport(not failures, tuple(failures), evaluated)


def _validate(name: str, rows: list[dict[str, Any]], expectations: list[Any]) -> tuple[list[str], int]:
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas(name=f"{name}_source").add_dataframe_asset(name=name)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"{name}_batch")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    for expectation in expectations:
        suite.add_expectation(expectation)
    result = batch_definition.get_batch(batch_parameters={"dataframe": pd.DataFrame(rows)}).validate(suite)
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
