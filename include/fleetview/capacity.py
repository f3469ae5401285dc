"""Capacity over time per cluster, from the registry's ``capacity_history``.

The reconciler (``reconcile_capacity``) writes two kinds of rows there:

- **decisions**: one row per planned action (tier ``pod``: a Deployment's replicas; tier ``node``: a
  pool's nodes in a zone), ``current`` -> ``desired`` with the reason;
- **snapshots** (subject :data:`SNAPSHOT_SUBJECT`): one ``node`` row and one ``pod`` row per cluster
  per run, built by :func:`snapshot_records` from what the run observed. ``node``: ``current`` =
  registered nodes, ``desired`` = nodes after the run's plan, ``reason.zones`` = ``{zone: {"ready",
  "total"}}``, ``reason.upcoming`` = instances launched but not yet nodes. ``pod``: ``current`` =
  pods running, ``desired`` = running + pending, ``reason.pending`` and ``reason.unschedulable``.

:func:`capacity_series` turns them into a chart's points (one per snapshot) and its action markers;
:func:`latest_snapshots` gives each cluster's last observation (the cluster cards' fallback when the
cluster cannot be read live).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from include.capacity.model import ADD_NODES, REMOVE_NODE, CapacityPlan, Snapshot
from include.fleetview.times import iso
from include.registry.models import CapacityHistory

SNAPSHOT_SUBJECT = "snapshot"
SNAPSHOT_KIND = "snapshot"
#: rows read for one chart (snapshots and decisions together), newest kept
DEFAULT_ROWS = 2000


def snapshot_records(snapshot: Snapshot, plan: CapacityPlan, run_id: str) -> list[dict[str, Any]]:
    """The two snapshot rows of one run, as keyword arguments of ``FleetRegistry.record_capacity``."""
    zones: dict[str, dict[str, int]] = {}
    for node in snapshot.nodes:
        counts = zones.setdefault(node.zone or "", {"ready": 0, "total": 0})
        counts["total"] += 1
        counts["ready"] += int(node.ready)
    added = sum(a.count for a in plan.actions if a.kind == ADD_NODES)
    removed = sum(1 for a in plan.actions if a.kind == REMOVE_NODE)
    live = [p for p in snapshot.pods if p.phase in ("Pending", "Running") and not p.mirror]
    running = sum(1 for p in live if p.phase == "Running")
    pending = [p for p in live if p.phase == "Pending"]
    nodes = len(snapshot.nodes)
    upcoming = len(snapshot.upcoming)
    return [
        {
            "tier": "node",
            "subject": SNAPSHOT_SUBJECT,
            "current": nodes,
            "desired": nodes + upcoming + added - removed,
            "reason": {
                "kind": SNAPSHOT_KIND,
                "run_id": run_id,
                "zones": dict(sorted(zones.items())),
                "upcoming": upcoming,
            },
        },
        {
            "tier": "pod",
            "subject": SNAPSHOT_SUBJECT,
            "current": running,
            "desired": running + len(pending),
            "reason": {
                "kind": SNAPSHOT_KIND,
                "run_id": run_id,
                "pending": len(pending),
                "unschedulable": sum(1 for p in pending if p.unschedulable),
            },
        },
    ]


def _rows(
    engine: Engine, *, clusters: Iterable[str] | None, since: datetime | None, limit: int
) -> list[CapacityHistory]:
    query = select(CapacityHistory).order_by(CapacityHistory.observed_at.desc(), CapacityHistory.id.desc())
    if clusters is not None:
        query = query.where(CapacityHistory.cluster.in_(list(clusters)))
    if since is not None:
        query = query.where(CapacityHistory.observed_at >= since)
    with Session(engine) as session:
        return list(session.scalars(query.limit(limit)))


def capacity_series(
    engine: Engine,
    *,
    cluster: str | None = None,
    since: datetime | None = None,
    limit: int = DEFAULT_ROWS,
) -> list[dict[str, Any]]:
    """Per cluster (sorted by name): ``points`` oldest first, each ``{"at", "run_id", "nodes",
    "nodes_ready", "nodes_desired", "zones", "pods_running", "pods_pending", "pods_unschedulable"}``
    (a field is ``None`` when the run recorded only one of its two rows), and ``actions`` oldest
    first, each ``{"at", "tier", "subject", "zone_id", "current", "desired", "kind", "reason",
    "run_id"}``. At most ``limit`` rows are read, the newest."""
    rows = _rows(engine, clusters=[cluster] if cluster else None, since=since, limit=limit)
    out: dict[str, dict[str, Any]] = {}
    for row in reversed(rows):
        entry = out.setdefault(row.cluster, {"cluster": row.cluster, "points": [], "actions": []})
        reason = dict(row.reason or {})
        if row.subject == SNAPSHOT_SUBJECT and reason.get("kind") == SNAPSHOT_KIND:
            _merge_point(entry["points"], row, reason)
            continue
        entry["actions"].append(
            {
                "at": iso(row.observed_at),
                "tier": row.tier,
                "subject": row.subject,
                "zone_id": row.zone_id,
                "current": row.current,
                "desired": row.desired,
                "kind": reason.get("kind"),
                "reason": reason.get("reason"),
                "run_id": reason.get("run_id"),
            }
        )
    return [out[name] for name in sorted(out)]


def _merge_point(points: list[dict[str, Any]], row: CapacityHistory, reason: dict[str, Any]) -> None:
    """Add a snapshot row to the point of its run (the two rows of a run share a ``run_id``)."""
    run_id = reason.get("run_id")
    point = points[-1] if points and run_id and points[-1]["run_id"] == run_id else None
    if point is None:
        point = {
            "at": iso(row.observed_at),
            "run_id": run_id,
            "nodes": None,
            "nodes_ready": None,
            "nodes_desired": None,
            "zones": {},
            "pods_running": None,
            "pods_pending": None,
            "pods_unschedulable": None,
        }
        points.append(point)
    if row.tier == "node":
        zones = {str(z): dict(v) for z, v in (reason.get("zones") or {}).items()}
        point.update(
            nodes=row.current,
            nodes_desired=row.desired,
            nodes_ready=sum(int(v.get("ready", 0)) for v in zones.values()),
            zones=zones,
        )
    elif row.tier == "pod":
        point.update(
            pods_running=row.current,
            pods_pending=int(reason.get("pending", row.desired - row.current)),
            pods_unschedulable=int(reason.get("unschedulable", 0)),
        )


def latest_snapshots(engine: Engine, clusters: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each cluster's last recorded observation: ``{cluster: {"at", "run_id", "zones", "nodes",
    "pods_pending", "pods_running"}}``; clusters never observed are absent."""
    names = list(clusters)
    if not names:
        return {}
    newest = (
        select(func.max(CapacityHistory.id))
        .where(CapacityHistory.cluster.in_(names), CapacityHistory.subject == SNAPSHOT_SUBJECT)
        .group_by(CapacityHistory.cluster, CapacityHistory.tier)
    )
    with Session(engine) as session:
        rows = list(session.scalars(select(CapacityHistory).where(CapacityHistory.id.in_(newest))))
    found: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        reason = dict(row.reason or {})
        if reason.get("kind") != SNAPSHOT_KIND:
            continue
        entry = found.setdefault(row.cluster, {"at": iso(row.observed_at), "run_id": reason.get("run_id")})
        entry["at"] = max(entry["at"] or "", iso(row.observed_at) or "")
        if row.tier == "node":
            entry["zones"] = {str(z): dict(v) for z, v in (reason.get("zones") or {}).items()}
            entry["nodes"] = row.current
        elif row.tier == "pod":
            entry["pods_running"] = row.current
            entry["pods_pending"] = int(reason.get("pending", row.desired - row.current))
    return found
