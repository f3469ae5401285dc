"""An evacuation of one zone as a record, and the rules that start, extend, hand over and end it.

Semantics taken from AWS ARC zonal shift / autoshift (``../shared/notes/anchors-2.md`` 1a):

- One active evacuation per zone.
- Every evacuation expires (``expires_in`` 60 s .. 72 h, default 1 h); asking again extends it.
- A manual evacuation overrides an automatic one: a manual evacuate takes the record over (source,
  ticket, reason, expiry); a manual restore ends any evacuation; an automatic restore does not end a
  manual evacuation before its expiry.
- An expired evacuation is due for restore, unless zone health still has the zone failed or
  recovering: then it is carried on as an automatic one (:func:`on_expiry` says ``extend``).

Steps of a record: ``evacuating`` (weights going to 0) -> ``evacuated`` -> ``restoring:<i>`` (restore
step ``i`` of ``settings.restore_steps`` under way) -> ``restored`` (ended). A re-evacuation during a
restore goes back to ``evacuating``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from include.zones.settings import DEFAULT_SETTINGS, ZoneHealthSettings
from include.zones.weights import SavedWeights, merge_saved_weights, normalize_saved_weights

Source = Literal["auto", "manual"]
RestoreSource = Literal["auto", "manual", "expiry"]
SOURCES = ("auto", "manual")
EVACUATING = "evacuating"
EVACUATED = "evacuated"
RESTORED = "restored"
RESTORING_PREFIX = "restoring:"
#: zone health states in which an expired evacuation is carried on rather than restored
STILL_FAILING_STATES = frozenset({"failed", "recovering"})


def restoring(index: int) -> str:
    """The step name of restore step ``index`` (``restoring:0``...)."""
    if index < 0:
        raise ValueError(f"restore step index must be >= 0, got {index}")
    return f"{RESTORING_PREFIX}{index}"


def restoring_index(step: str) -> int | None:
    """``i`` of ``restoring:<i>``; ``None`` for any other step."""
    if step.startswith(RESTORING_PREFIX):
        return int(step[len(RESTORING_PREFIX) :])
    return None


def valid_step(step: str) -> bool:
    """Whether ``step`` is evacuating, evacuated, restored or ``restoring:<i>`` with ``i >= 0``."""
    if step in (EVACUATING, EVACUATED, RESTORED):
        return True
    rest = step[len(RESTORING_PREFIX) :] if step.startswith(RESTORING_PREFIX) else ""
    return rest.isdigit()


@dataclass(frozen=True)
class Evacuation:
    """One zone's evacuation (the registry's ``zone_evacuations`` row).

    :ivar source: ``auto`` (zone health) or ``manual`` (a person, with ``ticket_id``).
    :ivar started_at: when the zone was first evacuated (kept across extensions and hand-overs).
    :ivar expires_at: when it is due for restore (UTC).
    :ivar step: see the module docstring.
    :ivar saved_weights: ``{lb_id: {server_id: weight}}`` before the evacuation.
    :ivar ended_at: set when it ended (step ``restored``); ``ended_by``: ``auto``, ``expiry`` or
        ``manual`` (``manual:<ticket>`` with a ticket).
    """

    zone_id: str
    source: Source
    reason: str
    started_at: datetime
    expires_at: datetime
    step: str = EVACUATING
    ticket_id: str | None = None
    saved_weights: SavedWeights = field(default_factory=dict)
    updated_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"evacuation source must be auto or manual, got {self.source!r}")
        if not valid_step(self.step):
            raise ValueError(
                f"unknown evacuation step {self.step!r}; expected evacuating, evacuated, "
                "restoring:<i> or restored"
            )

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def expired(self, now: datetime) -> bool:
        """Whether ``now`` is at or past ``expires_at``."""
        return now >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "zone_id": self.zone_id,
            "source": self.source,
            "reason": self.reason,
            "started_at": self.started_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "step": self.step,
            "ticket_id": self.ticket_id,
            "saved_weights": {lb: dict(s) for lb, s in self.saved_weights.items()},
            "updated_at": iso(self.updated_at),
            "ended_at": iso(self.ended_at),
            "ended_by": self.ended_by,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evacuation:
        def time(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            zone_id=data["zone_id"],
            source=data["source"],
            reason=data.get("reason", ""),
            started_at=datetime.fromisoformat(data["started_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
            step=data.get("step", EVACUATING),
            ticket_id=data.get("ticket_id"),
            saved_weights=normalize_saved_weights(data.get("saved_weights")),
            updated_at=time(data.get("updated_at")),
            ended_at=time(data.get("ended_at")),
            ended_by=data.get("ended_by"),
        )


@dataclass(frozen=True)
class EvacuationDecision:
    """What an evacuate request does to the zone's record.

    :ivar action: ``start`` (new record), ``extend`` (same source, later expiry), ``override`` (the
        record changes hands: manual over auto, or auto after an expired or restoring manual one),
        ``keep`` (an auto request under an unexpired manual evacuation: nothing changes).
    :ivar record: the record to store (for ``keep``, the current one).
    :ivar message: one line saying what happened.
    """

    action: Literal["start", "extend", "override", "keep"]
    record: Evacuation
    message: str

    @property
    def changed(self) -> bool:
        return self.action != "keep"


@dataclass(frozen=True)
class RestoreDecision:
    """Whether a restore of the zone may go ahead (``record``: the active evacuation, if any)."""

    allowed: bool
    message: str
    record: Evacuation | None = None


def expiry_seconds(expires_in_s: float | None, settings: ZoneHealthSettings = DEFAULT_SETTINGS) -> float:
    """``expires_in_s`` checked (60 .. ``max_evacuation_expiry_s``), or the default expiry when ``None``."""
    if expires_in_s is None:
        return settings.evacuation_expiry_s
    if isinstance(expires_in_s, bool) or not 60 <= expires_in_s <= settings.max_evacuation_expiry_s:
        raise ValueError(
            f"expires_in must be between 60 and {settings.max_evacuation_expiry_s:.0f} seconds, "
            f"got {expires_in_s!r}"
        )
    return float(expires_in_s)


def _who(source: str, ticket_id: str | None) -> str:
    return f"{source} (ticket {ticket_id})" if ticket_id else source


def decide_evacuate(
    current: Evacuation | None,
    *,
    zone_id: str,
    source: Source,
    reason: str,
    now: datetime,
    ticket_id: str | None = None,
    expires_in_s: float | None = None,
    saved_weights: Mapping[str, Mapping[str, int]] | None = None,
    settings: ZoneHealthSettings = DEFAULT_SETTINGS,
) -> EvacuationDecision:
    """Apply an evacuate request to the zone's current record (``None`` or an ended one: none active).

    - none active: ``start`` (step ``evacuating``, expiry ``now + expires_in``);
    - manual request: ``extend`` a manual record (ticket, reason and expiry set to the request's), or
      ``override`` an automatic one (it becomes manual);
    - automatic request: ``extend`` an automatic record (expiry never moved earlier); ``keep`` an
      unexpired manual one, unless it is restoring or expired: then ``override`` (it becomes automatic).

    A record that was restoring goes back to ``evacuating``. ``saved_weights`` are merged under the
    remembered ones (a remembered weight wins). ``ValueError`` for a bad source or expiry.
    """
    if source not in SOURCES:
        raise ValueError(f"evacuation source must be auto or manual, got {source!r}")
    expires_at = now + timedelta(seconds=expiry_seconds(expires_in_s, settings))
    if current is None or not current.active:
        record = Evacuation(
            zone_id=zone_id,
            source=source,
            reason=reason,
            started_at=now,
            expires_at=expires_at,
            step=EVACUATING,
            ticket_id=ticket_id,
            saved_weights=merge_saved_weights(None, saved_weights),
            updated_at=now,
        )
        return EvacuationDecision(
            "start", record, f"{zone_id} evacuation started by {_who(source, ticket_id)}"
        )
    step = EVACUATING if restoring_index(current.step) is not None else current.step
    weights = merge_saved_weights(current.saved_weights, saved_weights)
    if source == "auto" and current.source == "manual" and step == current.step and not current.expired(now):
        return EvacuationDecision(
            "keep",
            current,
            f"{zone_id} stays under the manual evacuation by {_who('manual', current.ticket_id)} until "
            f"{current.expires_at.isoformat()}",
        )
    if source == current.source:
        later = expires_at if source == "manual" else max(expires_at, current.expires_at)
        record = replace(
            current,
            reason=reason,
            ticket_id=ticket_id if source == "manual" else current.ticket_id,
            expires_at=later,
            step=step,
            saved_weights=weights,
            updated_at=now,
        )
        return EvacuationDecision(
            "extend", record, f"{zone_id} evacuation extended until {later.isoformat()}"
        )
    record = replace(
        current,
        source=source,
        reason=reason,
        ticket_id=ticket_id,
        expires_at=expires_at,
        step=step,
        saved_weights=weights,
        updated_at=now,
    )
    return EvacuationDecision(
        "override",
        record,
        f"{zone_id} evacuation taken over by {_who(source, ticket_id)} "
        f"from {_who(current.source, current.ticket_id)}",
    )


def decide_restore(current: Evacuation | None, *, source: RestoreSource, now: datetime) -> RestoreDecision:
    """May a restore requested by ``source`` end the zone's evacuation?

    ``manual``: always (a person decides). ``auto`` (zone health back to healthy): yes for an automatic
    evacuation or an expired manual one; no for an unexpired manual one. ``expiry``: only once expired.
    Not allowed when no evacuation is active.
    """
    if current is None or not current.active:
        return RestoreDecision(False, "no active evacuation to restore")
    zone = current.zone_id
    if source == "manual":
        return RestoreDecision(True, f"{zone} restore by hand", current)
    expired = current.expired(now)
    if source == "expiry":
        if expired:
            return RestoreDecision(
                True, f"{zone} evacuation expired at {current.expires_at.isoformat()}", current
            )
        return RestoreDecision(
            False, f"{zone} evacuation runs until {current.expires_at.isoformat()}", current
        )
    if source != "auto":
        raise ValueError(f"restore source must be auto, manual or expiry, got {source!r}")
    if current.source == "manual" and not expired:
        return RestoreDecision(
            False,
            f"{zone} is held by the manual evacuation by {_who('manual', current.ticket_id)} until "
            f"{current.expires_at.isoformat()}; an automatic restore waits for its expiry "
            "or a manual restore",
            current,
        )
    return RestoreDecision(True, f"{zone} is healthy again", current)


def on_expiry(
    current: Evacuation | None, *, now: datetime, zone_state: str
) -> Literal["none", "restore", "extend"]:
    """What the expiry sweep does with a zone's evacuation, given its zone health state.

    ``none``: nothing active, not expired yet, or a restore already under way; ``extend``: expired but
    the zone is still failed or recovering (request an automatic evacuation: it is carried on);
    ``restore``: expired and the zone is not failing (start the restore with source ``expiry``).
    """
    if current is None or not current.active or not current.expired(now):
        return "none"
    if restoring_index(current.step) is not None:
        return "none"
    return "extend" if zone_state in STILL_FAILING_STATES else "restore"


def next_restore_step(current: Evacuation, settings: ZoneHealthSettings = DEFAULT_SETTINGS) -> int | None:
    """The restore step to run: 0 from evacuating/evacuated, ``i`` again from ``restoring:<i>`` (a step
    is idempotent, so an interrupted one is re-run), ``None`` once restored."""
    if current.step == RESTORED or not current.active:
        return None
    index = restoring_index(current.step)
    if index is None:
        return 0
    return min(index, len(settings.restore_steps) - 1)
