"""The per-zone health state machine: healthy -> suspect -> failed -> recovering -> healthy, with hysteresis.

Rules, one probe verdict at a time (``settings``: :class:`include.zones.settings.ZoneHealthSettings`):

============  =======================================================  ==============================
state         bad probe                                                good probe
============  =======================================================  ==============================
healthy       suspect (failed at once if ``fail_after`` is 1)          healthy
suspect       failed after ``fail_after`` consecutive bad, else stays  healthy (a blip, nothing moved)
failed        failed                                                   recovering
recovering    failed (the zone is still evacuated: no new evacuation)  healthy after ``recover_after``
                                                                       good in a row spanning at least
                                                                       ``stable_window_s``, else stays
============  =======================================================  ==============================

An ``unknown`` probe (no target in the zone) changes nothing, and so does a probe taken less than
half a ``probe_interval_s`` after the last one counted: the watcher and the scheduled run both probe,
and two probes seconds apart must not count as two of the ``fail_after`` (or ``recover_after``) in a
row. Entering ``failed`` from healthy or
suspect starts an evacuation; entering ``healthy`` from failed or recovering starts the restore; no
other transition moves traffic. So one bad probe never moves traffic, and a zone flapping faster than
``stable_window_s`` is evacuated at most once and restored once, after it stops flapping.

:func:`step_zones` advances every zone of one probe round and applies the all-zones guard
(:func:`include.zones.guards.all_zones_failed`): if every zone with targets looks bad and the round
would leave one failed, nothing changes and the result carries an alert.

The state is stored in the registry's ``zone_states`` rows (state column + ``detail["machine"]``);
the state names are those :mod:`include.services.health` reads (``failed`` takes a zone out of DNS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from include.zones.guards import all_zones_failed
from include.zones.probes import Verdict, ZoneProbe
from include.zones.settings import DEFAULT_SETTINGS, ZoneHealthSettings

StateName = Literal["healthy", "suspect", "failed", "recovering"]
MACHINE_STATES: tuple[StateName, ...] = ("healthy", "suspect", "failed", "recovering")
#: states whose zone is (or stays) evacuated
EVACUATED_STATES = frozenset({"failed", "recovering"})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ZoneMachineState:
    """One zone's machine state; serialisable with :meth:`to_detail` / :meth:`from_detail`.

    :ivar consecutive_bad: bad probes in a row (0 after a good one).
    :ivar consecutive_good: good probes in a row (0 after a bad one).
    :ivar good_since: time of the first probe of the current good streak (``None`` in a bad streak).
    :ivar changed_at: when ``state`` was entered (``None``: never changed since first seen).
    :ivar reason: the reason of the latest counted probe.
    :ivar probed_at: the time of the latest counted probe (``None``: none yet).
    """

    state: StateName = "healthy"
    consecutive_bad: int = 0
    consecutive_good: int = 0
    good_since: datetime | None = None
    changed_at: datetime | None = None
    reason: str = ""
    probed_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.state not in MACHINE_STATES:
            raise ValueError(
                f"unknown zone machine state {self.state!r}; expected one of {list(MACHINE_STATES)}"
            )

    def to_detail(self) -> dict[str, Any]:
        """A JSON-safe dict (times as ISO 8601 strings)."""
        return {
            "state": self.state,
            "consecutive_bad": self.consecutive_bad,
            "consecutive_good": self.consecutive_good,
            "good_since": _iso(self.good_since),
            "changed_at": _iso(self.changed_at),
            "reason": self.reason,
            "probed_at": _iso(self.probed_at),
        }

    @classmethod
    def from_detail(cls, data: Mapping[str, Any]) -> ZoneMachineState:
        """The inverse of :meth:`to_detail`; missing keys take their defaults."""
        return cls(
            state=data.get("state", "healthy"),
            consecutive_bad=int(data.get("consecutive_bad", 0)),
            consecutive_good=int(data.get("consecutive_good", 0)),
            good_since=_time(data.get("good_since")),
            changed_at=_time(data.get("changed_at")),
            reason=str(data.get("reason", "")),
            probed_at=_time(data.get("probed_at")),
        )


@dataclass(frozen=True)
class Transition:
    """A zone moving from one state to another at ``at``, for ``reason`` (the probe's)."""

    zone_id: str
    from_state: str
    to_state: str
    at: datetime
    reason: str

    @property
    def starts_evacuation(self) -> bool:
        """Entering failed from healthy or suspect (recovering -> failed does not: still evacuated)."""
        return self.to_state == "failed" and self.from_state in ("healthy", "suspect")

    @property
    def starts_restore(self) -> bool:
        """Entering healthy from failed or recovering."""
        return self.to_state == "healthy" and self.from_state in EVACUATED_STATES

    def to_json(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transition:
        return cls(
            data["zone_id"],
            data["from_state"],
            data["to_state"],
            datetime.fromisoformat(data["at"]),
            data["reason"],
        )


@dataclass(frozen=True)
class MachineStep:
    """The state after one probe, and the transition it made (``None`` if the state stayed)."""

    state: ZoneMachineState
    transition: Transition | None


def advance(
    zone_id: str,
    state: ZoneMachineState,
    verdict: Verdict,
    *,
    at: datetime,
    reason: str = "",
    settings: ZoneHealthSettings = DEFAULT_SETTINGS,
) -> MachineStep:
    """Apply one probe verdict (``good`` | ``bad`` | ``unknown``) taken at ``at`` (timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("the probe time must be timezone-aware (UTC)")
    if verdict == "unknown":
        return MachineStep(state, None)
    if state.probed_at is not None and (at - state.probed_at).total_seconds() < settings.probe_interval_s / 2:
        return MachineStep(state, None)  # a second prober's probe of the same moment: not counted
    current = state.state
    new: StateName
    if verdict == "bad":
        bad, good, good_since = state.consecutive_bad + 1, 0, None
        if current in ("healthy", "suspect"):
            new = "failed" if bad >= settings.fail_after else "suspect"
        else:  # failed, recovering
            new = "failed"
    elif verdict == "good":
        bad, good = 0, state.consecutive_good + 1
        good_since = state.good_since if state.consecutive_good and state.good_since else at
        if current in ("healthy", "suspect"):
            new = "healthy"
        else:
            stable = (at - good_since).total_seconds() >= settings.stable_window_s
            new = "healthy" if good >= settings.recover_after and stable else "recovering"
    else:
        raise ValueError(f"unknown probe verdict {verdict!r}; expected good, bad or unknown")
    changed = new != current
    after = ZoneMachineState(
        state=new,
        consecutive_bad=bad,
        consecutive_good=good,
        good_since=good_since,
        changed_at=at if changed else state.changed_at,
        reason=reason or state.reason,
        probed_at=at,
    )
    transition = Transition(zone_id, current, new, at, reason) if changed else None
    return MachineStep(after, transition)


@dataclass(frozen=True)
class FleetStep:
    """One probe round over every zone.

    :ivar states: ``{zone_id: state}`` to store (unchanged ones included).
    :ivar transitions: the changes, by zone id.
    :ivar alert: set when the all-zones guard held every zone (nothing changed); say it, change nothing.
    """

    states: dict[str, ZoneMachineState]
    transitions: tuple[Transition, ...]
    alert: str | None = None

    @property
    def to_evacuate(self) -> tuple[str, ...]:
        """Zones whose transition starts an evacuation."""
        return tuple(t.zone_id for t in self.transitions if t.starts_evacuation)

    @property
    def to_restore(self) -> tuple[str, ...]:
        """Zones whose transition starts a restore."""
        return tuple(t.zone_id for t in self.transitions if t.starts_restore)


def step_zones(
    states: Mapping[str, ZoneMachineState],
    probes: Mapping[str, ZoneProbe],
    *,
    settings: ZoneHealthSettings = DEFAULT_SETTINGS,
) -> FleetStep:
    """Advance every probed zone by its probe (zones never seen start healthy); zones without a probe
    keep their state. If every zone with targets looks bad and the round would leave one of them
    failed (:func:`include.zones.guards.all_zones_failed`), nothing changes: ``states`` come back as
    they were, no transition, and ``alert`` says why."""
    before = {z: states.get(z, ZoneMachineState()) for z in sorted({*states, *probes})}
    after = dict(before)
    transitions = []
    for zone_id, probe in sorted(probes.items()):
        step = advance(
            zone_id, before[zone_id], probe.verdict, at=probe.at, reason=probe.reason, settings=settings
        )
        after[zone_id] = step.state
        if step.transition is not None:
            transitions.append(step.transition)
    guard = all_zones_failed({z: s.state for z, s in after.items()}, probes)
    if guard.hold:
        return FleetStep(before, (), guard.message)
    return FleetStep(after, tuple(transitions))
