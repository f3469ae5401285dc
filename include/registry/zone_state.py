"""What zone health and failover remember: each zone's machine state, its transitions, its evacuation.

- Machine state: the ``zone_states`` row of the zone (scope ``""`` is fleet-wide); the ``state`` column
  is the machine's state (read by :mod:`include.services.health` and capacity reconciliation), the
  counters are in ``detail["machine"]`` and the latest probe, if given, in ``detail["probe"]``.
- Transitions: ``zone_transitions``, one row per state change, for the Fleet view's timeline.
- Evacuations: ``zone_evacuations``, one row per zone (the active evacuation, or the last ended one);
  starting, extending, handing over and ending follow :mod:`include.zones.evacuation`, decided inside
  the transaction that writes the row.

Mixed into :class:`include.registry.store.FleetRegistry`; every method opens its own transaction.
Times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from include.registry.models import ZoneEvacuation, ZoneState, ZoneTransition, utcnow
from include.zones.evacuation import (
    RESTORED,
    Evacuation,
    EvacuationDecision,
    RestoreDecision,
    RestoreSource,
    Source,
    decide_evacuate,
    decide_restore,
)
from include.zones.machine import MACHINE_STATES, StateName, Transition, ZoneMachineState
from include.zones.settings import DEFAULT_SETTINGS, ZoneHealthSettings
from include.zones.weights import merge_saved_weights, normalize_saved_weights

if TYPE_CHECKING:  # pragma: no cover
    from include.registry.store import ZoneStateRecord

#: characters of a reason kept (the columns' width)
REASON_LIMIT = 512


def _aware(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def machine_from_row(
    state: str, detail: Mapping[str, Any], since: datetime | None = None
) -> ZoneMachineState:
    """The machine state of a ``zone_states`` row: ``detail["machine"]`` when it agrees with the
    ``state`` column; otherwise the column's state with fresh counters (a row written by hand or by
    an older version). A state the machine does not know (``degraded``, ``sold_out``) reads as healthy."""
    data = detail.get("machine")
    if isinstance(data, Mapping) and data.get("state") == state:
        return ZoneMachineState.from_detail(data)
    name: StateName = state if state in MACHINE_STATES else "healthy"
    return ZoneMachineState(state=name, changed_at=since, reason=str(detail.get("reason", "")))


def _evacuation(row: ZoneEvacuation) -> Evacuation:
    return Evacuation(
        zone_id=row.zone_id,
        source=cast(Source, row.source),
        reason=row.reason,
        started_at=row.started_at,
        expires_at=row.expires_at,
        step=row.step,
        ticket_id=row.ticket_id,
        saved_weights=normalize_saved_weights(row.saved_weights),
        updated_at=row.updated_at,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
    )


def _write(row: ZoneEvacuation, record: Evacuation) -> None:
    row.source, row.ticket_id, row.reason = record.source, record.ticket_id, record.reason[:REASON_LIMIT]
    row.step, row.started_at, row.expires_at = record.step, record.started_at, record.expires_at
    row.saved_weights = {lb: dict(servers) for lb, servers in record.saved_weights.items()}
    row.updated_at = record.updated_at or utcnow()
    row.ended_at, row.ended_by = record.ended_at, record.ended_by


class ZoneFailoverStateMixin:
    """Zone health and failover state on the registry; needs ``session()`` and ``set_zone_state()``
    from the class it is mixed into."""

    def session(self) -> AbstractContextManager[Session]:  # pragma: no cover - provided by FleetRegistry
        raise NotImplementedError

    def set_zone_state(
        self, zone_id: str, state: str, *, scope: str = "", detail: dict[str, Any] | None = None
    ) -> ZoneStateRecord:  # pragma: no cover - provided by FleetRegistry
        raise NotImplementedError

    # machine state --------------------------------------------------------------------------

    def zone_machine(self, zone_id: str, *, scope: str = "") -> ZoneMachineState:
        """The zone's machine state; a zone never stored is healthy (``ZoneMachineState()``)."""
        with self.session() as session:
            row = session.get(ZoneState, (scope, zone_id))
            if row is None:
                return ZoneMachineState()
            return machine_from_row(row.state, row.detail or {}, row.since)

    def zone_machines(self, *, scope: str = "") -> dict[str, ZoneMachineState]:
        """``{zone_id: machine state}`` of every zone stored in ``scope``."""
        with self.session() as session:
            rows = session.scalars(
                select(ZoneState).where(ZoneState.scope == scope).order_by(ZoneState.zone_id)
            )
            return {r.zone_id: machine_from_row(r.state, r.detail or {}, r.since) for r in rows}

    def put_zone_machine(
        self,
        zone_id: str,
        state: ZoneMachineState,
        *,
        scope: str = "",
        probe: Mapping[str, Any] | None = None,
    ) -> ZoneStateRecord:
        """Store the zone's machine state (``zone_states`` row; ``since`` moves only on a change).

        ``probe``: the latest probe as JSON (``ZoneProbe.to_json()``), kept in ``detail["probe"]``.
        """
        detail: dict[str, Any] = {"machine": state.to_detail(), "reason": state.reason}
        if probe is not None:
            detail["probe"] = dict(probe)
        return self.set_zone_state(zone_id, state.state, scope=scope, detail=detail)

    # transitions ----------------------------------------------------------------------------

    def record_transition(self, transition: Transition, *, scope: str = "") -> None:
        """Append one state change to the zone's timeline (reason cut to 512 characters)."""
        with self.session() as session:
            session.add(
                ZoneTransition(
                    scope=scope,
                    zone_id=transition.zone_id,
                    from_state=transition.from_state,
                    to_state=transition.to_state,
                    at=_aware(transition.at),
                    reason=transition.reason[:REASON_LIMIT],
                )
            )

    def transitions(
        self,
        *,
        since: datetime | None = None,
        zone_id: str | None = None,
        scope: str = "",
        limit: int | None = None,
    ) -> list[Transition]:
        """Transitions at or after ``since`` (all when ``None``), of one zone or all, oldest first;
        with ``limit``, the newest ``limit`` of them (still oldest first)."""
        query = select(ZoneTransition).where(ZoneTransition.scope == scope)
        if since is not None:
            query = query.where(ZoneTransition.at >= _aware(since))
        if zone_id is not None:
            query = query.where(ZoneTransition.zone_id == zone_id)
        query = query.order_by(ZoneTransition.at.desc(), ZoneTransition.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.session() as session:
            rows = list(session.scalars(query))
        return [Transition(r.zone_id, r.from_state, r.to_state, r.at, r.reason) for r in reversed(rows)]

    def prune_transitions(self, *, before: datetime) -> int:
        """Drop transitions older than ``before`` (every scope); returns how many."""
        with self.session() as session:
            result = session.execute(delete(ZoneTransition).where(ZoneTransition.at < _aware(before)))
            return int(result.rowcount)  # type: ignore[attr-defined]

    # evacuations ----------------------------------------------------------------------------

    def active_evacuation(self, zone_id: str) -> Evacuation | None:
        """The zone's active evacuation, ``None`` if there is none (or only an ended one)."""
        with self.session() as session:
            row = session.get(ZoneEvacuation, zone_id)
            return _evacuation(row) if row is not None and row.ended_at is None else None

    def evacuations(self, *, active_only: bool = False) -> list[Evacuation]:
        """Every zone's evacuation row by zone id: active ones, and the last ended one of other zones."""
        query = select(ZoneEvacuation).order_by(ZoneEvacuation.zone_id)
        if active_only:
            query = query.where(ZoneEvacuation.ended_at.is_(None))
        with self.session() as session:
            return [_evacuation(r) for r in session.scalars(query)]

    def start_or_extend_evacuation(
        self,
        zone_id: str,
        *,
        source: Source,
        reason: str,
        ticket_id: str | None = None,
        expires_in_s: float | None = None,
        saved_weights: Mapping[str, Mapping[str, int]] | None = None,
        now: datetime | None = None,
        settings: ZoneHealthSettings = DEFAULT_SETTINGS,
    ) -> EvacuationDecision:
        """Apply an evacuate request (:func:`include.zones.evacuation.decide_evacuate`) and store the
        result: start, extend, override, or keep (nothing written). The row is locked while deciding
        (``SELECT ... FOR UPDATE`` on Postgres). ``ValueError`` for a bad source or expiry."""
        when = _aware(now) if now else utcnow()
        with self.session() as session:
            row = session.get(ZoneEvacuation, zone_id, with_for_update=True)
            current = _evacuation(row) if row is not None else None
            decision = decide_evacuate(
                current,
                zone_id=zone_id,
                source=source,
                reason=reason,
                now=when,
                ticket_id=ticket_id,
                expires_in_s=expires_in_s,
                saved_weights=saved_weights,
                settings=settings,
            )
            if decision.changed:
                if row is None:
                    row = ZoneEvacuation(zone_id=zone_id)
                    session.add(row)
                _write(row, decision.record)
            return decision

    def update_evacuation_step(
        self,
        zone_id: str,
        step: str,
        *,
        saved_weights: Mapping[str, Mapping[str, int]] | None = None,
        now: datetime | None = None,
    ) -> Evacuation:
        """Set the active evacuation's step (``evacuating``, ``evacuated``, ``restoring:<i>``), merging
        ``saved_weights`` under the remembered ones. ``KeyError`` when the zone has no active
        evacuation; ``ValueError`` for an unknown step or ``restored`` (use :meth:`end_evacuation`)."""
        if step == RESTORED:
            raise ValueError("an evacuation ends with end_evacuation(), not with the step 'restored'")
        when = _aware(now) if now else utcnow()
        with self.session() as session:
            row = session.get(ZoneEvacuation, zone_id, with_for_update=True)
            if row is None or row.ended_at is not None:
                raise KeyError(f"zone {zone_id!r} has no active evacuation")
            current = _evacuation(row)
            record = replace(
                current,
                step=step,
                saved_weights=merge_saved_weights(current.saved_weights, saved_weights),
                updated_at=when,
            )
            _write(row, record)
            return record

    def end_evacuation(
        self,
        zone_id: str,
        *,
        source: RestoreSource,
        ticket_id: str | None = None,
        now: datetime | None = None,
    ) -> RestoreDecision:
        """End the zone's active evacuation (step ``restored``) if
        :func:`include.zones.evacuation.decide_restore` allows ``source`` to; the decision says why
        not otherwise, and its ``record`` is the ended evacuation. ``ended_by`` is the source, with
        ``:<ticket>`` when a ticket is given."""
        when = _aware(now) if now else utcnow()
        with self.session() as session:
            row = session.get(ZoneEvacuation, zone_id, with_for_update=True)
            current = _evacuation(row) if row is not None else None
            decision = decide_restore(current, source=source, now=when)
            if not decision.allowed or row is None or current is None:
                return decision
            by = f"{source}:{ticket_id}" if ticket_id else source
            ended = replace(current, step=RESTORED, updated_at=when, ended_at=when, ended_by=by)
            _write(row, ended)
            return RestoreDecision(True, decision.message, ended)
