"""The audit log of the Fleet view: ``audit_events`` filtered by ticket, cluster and time, paged.

Newest first. Each event carries the path of its DAG run in the Airflow UI
(``/dags/<dag_id>/runs/<run_id>``); a page also carries the total of matching events and, over all
of them (not only the page), one line per DAG run: when it acted, how many calls, how many failed,
which clusters it touched. That summary is what a ticket's requester asks: what was done for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session

from include.fleetview.paging import PageRequest, encode_cursor
from include.fleetview.times import iso
from include.registry.models import AuditEvent

OUTCOMES = ("ok", "error", "dry_run")
#: runs listed in a page's summary, newest first
MAX_RUNS = 200


@dataclass(frozen=True)
class AuditFilter:
    """Which events: every field given must match (``since`` inclusive, ``until`` exclusive).

    :raises ValueError: an ``outcome`` other than ``ok``, ``error``, ``dry_run``.
    """

    ticket_id: str | None = None
    cluster: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    dag_id: str | None = None
    run_id: str | None = None
    outcome: str | None = None

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {self.outcome!r}")

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (AuditEvent.ticket_id, self.ticket_id),
            (AuditEvent.cluster, self.cluster),
            (AuditEvent.dag_id, self.dag_id),
            (AuditEvent.run_id, self.run_id),
            (AuditEvent.outcome, self.outcome),
        ):
            if value is not None:
                found.append(column == value)
        if self.since is not None:
            found.append(AuditEvent.occurred_at >= self.since)
        if self.until is not None:
            found.append(AuditEvent.occurred_at < self.until)
        return found


@dataclass(frozen=True)
class AuditPage:
    """One page of events (JSON-ready dicts), the total matching the filter, and the runs summary."""

    events: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    next_cursor: str | None
    runs: list[dict[str, Any]] = field(default_factory=list)


def run_path(dag_id: str | None, run_id: str | None) -> str | None:
    """The DAG run's page in the Airflow UI, relative to the UI's root; ``None`` without both ids."""
    if not dag_id or not run_id:
        return None
    return f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def event_json(row: AuditEvent) -> dict[str, Any]:
    """One event as the API answers it (its ``request`` was redacted before it was stored)."""
    return {
        "id": row.id,
        "occurred_at": iso(row.occurred_at),
        "ticket_id": row.ticket_id,
        "cluster": row.cluster,
        "dag_id": row.dag_id,
        "run_id": row.run_id,
        "task_id": row.task_id,
        "map_index": row.map_index,
        "try_number": row.try_number,
        "actor": row.actor,
        "product": row.product,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "error_code": row.error_code,
        "cloud_request_id": row.cloud_request_id,
        "request": dict(row.request or {}),
        "run_path": run_path(row.dag_id, row.run_id),
    }


def audit_page(engine: Engine, where: AuditFilter, page: PageRequest) -> AuditPage:
    """The page ``page`` of the events ``where`` selects, newest first.

    The runs summary is computed when the filter names a ticket or a run (a ticket's story); for
    other filters it is empty, so that browsing the whole log never groups the whole table.
    """
    clauses = where.clauses()
    query = select(AuditEvent).where(*clauses).order_by(AuditEvent.id.desc())
    if page.after_id is not None:
        query = query.where(AuditEvent.id < page.after_id)
    else:
        query = query.offset(page.offset)
    with Session(engine) as session:
        rows = list(session.scalars(query.limit(page.limit + 1)))
        total = int(session.scalar(select(func.count(AuditEvent.id)).where(*clauses)) or 0)
        groups = (
            session.execute(
                select(
                    AuditEvent.dag_id,
                    AuditEvent.run_id,
                    AuditEvent.cluster,
                    AuditEvent.outcome,
                    func.count(AuditEvent.id),
                    func.min(AuditEvent.occurred_at),
                    func.max(AuditEvent.occurred_at),
                    func.max(AuditEvent.ticket_id),
                )
                .where(*clauses)
                .group_by(AuditEvent.dag_id, AuditEvent.run_id, AuditEvent.cluster, AuditEvent.outcome)
            ).all()
            if where.ticket_id is not None or where.run_id is not None
            else []
        )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return AuditPage(
        events=[event_json(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset if page.after_id is None else 0,
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
        runs=_runs(groups),
    )


def _runs(groups: Iterable[Any]) -> list[dict[str, Any]]:
    """Fold ``(dag_id, run_id, cluster, outcome, count, first, last, ticket)`` groups into one entry
    per run, newest activity first."""
    runs: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for dag_id, run_id, cluster, outcome, count, first, last, ticket in groups:
        entry = runs.setdefault(
            (dag_id, run_id),
            {
                "dag_id": dag_id,
                "run_id": run_id,
                "run_path": run_path(dag_id, run_id),
                "ticket_id": ticket,
                "first_at": first,
                "last_at": last,
                "events": 0,
                "outcomes": {},
                "clusters": set(),
            },
        )
        entry["events"] += int(count)
        entry["outcomes"][outcome] = entry["outcomes"].get(outcome, 0) + int(count)
        entry["first_at"] = min(entry["first_at"], first)
        entry["last_at"] = max(entry["last_at"], last)
        entry["ticket_id"] = entry["ticket_id"] or ticket
        if cluster:
            entry["clusters"].add(cluster)
    ordered = sorted(runs.values(), key=lambda r: r["last_at"], reverse=True)[:MAX_RUNS]
    for entry in ordered:
        entry["first_at"], entry["last_at"] = iso(entry["first_at"]), iso(entry["last_at"])
        entry["clusters"] = sorted(entry["clusters"])
    return ordered
