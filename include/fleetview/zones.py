"""Zone health in the Fleet view: each zone's state now, and its history where the registry keeps one.

``zone_states`` holds one row per (scope, zone): scope ``""`` is the zone for the whole fleet, scope
``<cluster>`` is the zone as one cluster sees it (zone ``*`` = the whole cluster). That is always
shown. The history comes from optional tables that zone health and failover keep, read when they
exist and answered as empty lists when they do not (a registry migrated before them):

- :data:`TRANSITIONS_TABLE`: one row per state change. Columns read: ``zone_id``, ``scope``
  (optional), ``from_state`` (optional), ``to_state`` (or ``state``), a time column (the first of
  :data:`TIME_COLUMNS` present) and ``reason`` (optional); every other column is passed through.
- :data:`EVACUATIONS_TABLE`: one row per evacuation (manual or automatic), passed through as is,
  newest first by its time column.

A zone's **timeline** is its transitions, oldest first, as segments ``{"state", "from", "to"}``
(``to`` ``None`` for the current one); without a transitions table it is one segment from the row's
``since``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, MetaData, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from include.fleetview.times import iso
from include.registry.models import ZoneState

TRANSITIONS_TABLE = "zone_transitions"
EVACUATIONS_TABLE = "zone_evacuations"
TIME_COLUMNS = ("at", "occurred_at", "changed_at", "started_at", "created_at", "recorded_at")
#: history rows read per table, newest kept
DEFAULT_HISTORY = 500


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _optional_rows(engine: Engine, name: str, *, since: datetime | None, limit: int) -> list[dict[str, Any]]:
    """Rows of table ``name`` (which exists), newest first by its time column; ``[]`` if unreadable."""
    try:
        table = Table(name, MetaData(), autoload_with=engine)
    except SQLAlchemyError:
        return []
    time_column = next((table.c[c] for c in TIME_COLUMNS if c in table.c), None)
    query = select(table)
    if time_column is not None:
        if since is not None:
            query = query.where(time_column >= since)
        query = query.order_by(time_column.desc())
    with engine.connect() as connection:
        rows = connection.execute(query.limit(limit)).mappings().all()
    found = []
    for row in rows:
        item = {key: _jsonable(value) for key, value in row.items()}
        if time_column is not None:
            item.setdefault("at", _jsonable(row[time_column.name]))
        found.append(item)
    return found


def _aware_iso(value: Any) -> str | None:
    """A time column's value as ISO UTC: naive datetimes (SQLite) are UTC; strings pass through."""
    if isinstance(value, datetime):
        return iso(value)
    return str(value) if value is not None else None


def _timeline(state: Mapping[str, Any], transitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Segments of one zone, oldest first, ending in its current state."""
    mine = [
        t
        for t in transitions
        if t.get("zone_id") == state["zone_id"] and (t.get("scope") or "") == state["scope"]
    ]
    segments: list[dict[str, Any]] = []
    for t in sorted(mine, key=lambda t: str(t.get("at") or "")):
        to_state = t.get("to_state") or t.get("state")
        if not to_state:
            continue
        if segments:
            segments[-1]["to"] = t.get("at")
        elif t.get("from_state"):
            segments.append({"state": t["from_state"], "from": None, "to": t.get("at")})
        segments.append({"state": to_state, "from": t.get("at"), "to": None, "reason": t.get("reason")})
    if not segments or segments[-1]["state"] != state["state"]:
        if segments:
            segments[-1]["to"] = state["since"]
        segments.append({"state": state["state"], "from": state["since"], "to": None})
    return segments


def zone_view(
    engine: Engine, *, since: datetime | None = None, limit: int = DEFAULT_HISTORY
) -> dict[str, Any]:
    """``{"zones": [...], "transitions": [...], "evacuations": [...], "history": {...}}``.

    ``zones``: every ``zone_states`` row (fleet-wide first, then per cluster, by zone) with ``state``,
    ``since``, ``updated_at``, ``detail`` and its ``timeline``. ``history`` says per optional table
    whether it was found (``"present"``/``"absent"``).
    """
    with Session(engine) as session:
        rows = list(session.scalars(select(ZoneState).order_by(ZoneState.scope, ZoneState.zone_id)))
    present = {name: inspect(engine).has_table(name) for name in (TRANSITIONS_TABLE, EVACUATIONS_TABLE)}
    history = {
        name: _optional_rows(engine, name, since=since, limit=limit) if found else []
        for name, found in present.items()
    }
    transitions, evacuations = history[TRANSITIONS_TABLE], history[EVACUATIONS_TABLE]
    zones = []
    for row in rows:
        state: dict[str, Any] = {
            "scope": row.scope,
            "zone_id": row.zone_id,
            "state": row.state,
            "since": _aware_iso(row.since),
            "updated_at": _aware_iso(row.updated_at),
            "detail": dict(row.detail or {}),
        }
        state["timeline"] = _timeline(state, transitions)
        zones.append(state)
    return {
        "zones": zones,
        "transitions": transitions,
        "evacuations": evacuations,
        "history": {name: "present" if found else "absent" for name, found in present.items()},
    }
