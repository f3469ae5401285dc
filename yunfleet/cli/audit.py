"""``yunfleet audit <ticket_id>``: everything Yunfleet did for a ticket, from the Fleet API's audit log.

First the DAG runs that acted for the ticket, each with its outcome counts, the clusters it touched
and its link in the Airflow UI; then every audited call, oldest first (times in UTC). ``--json``
prints ``{"ticket_id", "total", "runs", "events"}`` (events oldest first). Exit 0 when something was
audited for the ticket, 1 when nothing was.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from yunfleet.cli.api import fleet_api, fleet_call
from yunfleet.cli.clusters import render_table
from yunfleet.cli.errors import EXIT_FAILED, CommandError


def _time(value: str | None) -> str:
    return (value or "")[:19].replace("T", " ")


def _outcomes(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))


def event_rows(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One row per event: time, cluster, dag, run, task, call, target, outcome (with the error code)."""
    rows = []
    for e in events:
        task = e.get("task_id") or ""
        if task and e.get("map_index") is not None and e["map_index"] >= 0:
            task = f"{task}[{e['map_index']}]"
        outcome = e["outcome"] + (f" {e['error_code']}" if e.get("error_code") else "")
        rows.append(
            {
                "time": _time(e.get("occurred_at")),
                "cluster": e.get("cluster") or "",
                "dag": e.get("dag_id") or "",
                "run": e.get("run_id") or "",
                "task": task,
                "call": f"{e['product']} {e['action']}",
                "target": e.get("target") or "",
                "outcome": outcome,
            }
        )
    return rows


def render_story(ticket: str, total: int, runs: list[dict[str, Any]], events: list[dict[str, Any]]) -> str:
    """The runs summary, then the calls table (``events`` oldest first)."""
    plural = "s" if len(runs) != 1 else ""
    lines = [
        f"ticket {ticket}: {total} audited call{'s' if total != 1 else ''} in {len(runs)} DAG run{plural}"
    ]
    for run in runs:
        clusters = f"; cluster {', '.join(run['clusters'])}" if run.get("clusters") else ""
        lines.append(
            f"  {run.get('dag_id')} {run.get('run_id')}: {_outcomes(run.get('outcomes') or {})}{clusters}; "
            f"{_time(run.get('first_at'))} -> {_time(run.get('last_at'))} UTC"
        )
        if run.get("run_url"):
            lines.append(f"    {run['run_url']}")
    lines += ["", render_table(event_rows(events), empty="")]
    if total > len(events):
        lines.append(f"(the first {len(events)} of {total} calls; --limit shows more)")
    return "\n".join(lines)


def cmd_audit(args: argparse.Namespace) -> str:
    filters = {"ticket_id": args.ticket_id, "cluster": args.cluster, "since": args.since, "until": args.until}
    with fleet_api(args) as api:
        events, first = fleet_call(lambda: api.audit_pages(limit=args.limit, **filters))
    events.reverse()
    total, runs = int(first.get("total") or 0), list(first.get("runs") or [])
    if not events:
        raise CommandError(EXIT_FAILED, f"nothing was audited for ticket {args.ticket_id!r}")
    if args.json:
        return json.dumps(
            {"ticket_id": args.ticket_id, "total": total, "runs": runs, "events": events}, indent=2
        )
    return render_story(args.ticket_id, total, runs, events)
