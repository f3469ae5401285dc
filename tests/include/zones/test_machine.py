"""The zone state machine: every transition, hysteresis, flapping, and the all-zones hold in a round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.zones.machine import (
    FleetStep,
    Transition,
    ZoneMachineState,
    advance,
    step_zones,
)
from include.zones.probes import Verdict, ZoneProbe
from include.zones.settings import ZoneHealthSettings

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
Z = "cn-hangzhou-h"
S = ZoneHealthSettings()  # fail_after 3, recover_after 5 over 60 s


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(verdicts: str, *, every: float = 5.0, settings: ZoneHealthSettings = S) -> list[ZoneMachineState]:
    """States after each verdict of ``verdicts`` (g = good, b = bad, u = unknown), one every ``every`` s."""
    names: dict[str, Verdict] = {"g": "good", "b": "bad", "u": "unknown"}
    state, seen = ZoneMachineState(), []
    for i, v in enumerate(verdicts):
        state = advance(Z, state, names[v], at=at(i * every), reason=f"probe {i}", settings=settings).state
        seen.append(state)
    return seen


@pytest.mark.parametrize(
    ("before", "verdict", "after", "transition"),
    [
        (ZoneMachineState("healthy"), "good", "healthy", None),
        (ZoneMachineState("healthy"), "bad", "suspect", ("healthy", "suspect")),
        (ZoneMachineState("suspect", consecutive_bad=1), "bad", "suspect", None),
        (ZoneMachineState("suspect", consecutive_bad=2), "bad", "failed", ("suspect", "failed")),
        (ZoneMachineState("suspect", consecutive_bad=2), "good", "healthy", ("suspect", "healthy")),
        (ZoneMachineState("failed", consecutive_bad=3), "bad", "failed", None),
        (ZoneMachineState("failed", consecutive_bad=3), "good", "recovering", ("failed", "recovering")),
        (
            ZoneMachineState("recovering", consecutive_good=1, good_since=at(-5)),
            "good",
            "recovering",
            None,
        ),
        (
            ZoneMachineState("recovering", consecutive_good=4, good_since=at(-60)),
            "good",
            "healthy",
            ("recovering", "healthy"),
        ),
        (  # enough probes but not over the stable window yet
            ZoneMachineState("recovering", consecutive_good=12, good_since=at(-55)),
            "good",
            "recovering",
            None,
        ),
        (  # over the window but not enough probes (a slow schedule)
            ZoneMachineState("recovering", consecutive_good=2, good_since=at(-120)),
            "good",
            "recovering",
            None,
        ),
        (
            ZoneMachineState("recovering", consecutive_good=4, good_since=at(-20)),
            "bad",
            "failed",
            ("recovering", "failed"),
        ),
        (ZoneMachineState("suspect", consecutive_bad=2), "unknown", "suspect", None),
        (ZoneMachineState("failed", consecutive_bad=3), "unknown", "failed", None),
    ],
)
def test_every_transition(
    before: ZoneMachineState, verdict: Verdict, after: str, transition: tuple[str, str] | None
) -> None:
    step = advance(Z, before, verdict, at=at(0), reason="why", settings=S)
    assert step.state.state == after
    if transition is None:
        assert step.transition is None
    else:
        assert step.transition is not None
        assert (step.transition.from_state, step.transition.to_state) == transition
        assert (step.transition.zone_id, step.transition.at, step.transition.reason) == (Z, at(0), "why")
        assert step.state.changed_at == at(0)


@pytest.mark.parametrize(
    ("from_state", "to_state", "evacuate", "restore"),
    [
        ("healthy", "suspect", False, False),
        ("suspect", "failed", True, False),
        ("healthy", "failed", True, False),
        ("failed", "recovering", False, False),
        ("recovering", "failed", False, False),  # still evacuated: no new evacuation
        ("recovering", "healthy", False, True),
        ("failed", "healthy", False, True),
        ("suspect", "healthy", False, False),  # nothing had moved
    ],
)
def test_which_transitions_move_traffic(
    from_state: str, to_state: str, evacuate: bool, restore: bool
) -> None:
    t = Transition(Z, from_state, to_state, T0, "")
    assert (t.starts_evacuation, t.starts_restore) == (evacuate, restore)
    assert Transition.from_json(t.to_json()) == t


def test_counters_and_good_since() -> None:
    states = run("bbbggb")
    assert [s.state for s in states] == ["suspect", "suspect", "failed", "recovering", "recovering", "failed"]
    assert [s.consecutive_bad for s in states] == [1, 2, 3, 0, 0, 1]
    assert [s.consecutive_good for s in states] == [0, 0, 0, 1, 2, 0]
    assert states[3].good_since == states[4].good_since == at(15)
    assert states[5].good_since is None
    assert states[2].changed_at == at(10) and states[4].changed_at == at(15)
    assert states[5].reason == "probe 5"


def test_one_bad_probe_never_fails_a_zone() -> None:
    states = run("gbgbgbbgbbg")
    assert all(s.state in ("healthy", "suspect") for s in states)


def test_recovery_needs_the_stable_window_with_5_s_probes() -> None:
    # failed at 10 s; good from 15 s: healthy at the first good probe at least 60 s after 15 s (75 s)
    states = run("bbb" + "g" * 14)
    healthy_at = next(i for i, s in enumerate(states) if s.state == "healthy")
    assert healthy_at * 5 == 75
    assert all(s.state == "recovering" for s in states[3:healthy_at])


def test_recovery_with_the_60_s_schedule_needs_recover_after_probes() -> None:
    states = run("bbb" + "g" * 6, every=60)
    assert [s.state for s in states[3:]] == ["recovering"] * 4 + ["healthy", "healthy"]


def test_fail_after_one_and_no_window_skip_the_middle_states() -> None:
    quick = ZoneHealthSettings(fail_after=1, recover_after=1, stable_window_s=0)
    step = advance(Z, ZoneMachineState(), "bad", at=T0, settings=quick)
    assert step.transition is not None and step.transition.starts_evacuation
    back = advance(Z, step.state, "good", at=at(5), settings=quick)
    assert back.state.state == "healthy" and back.transition is not None and back.transition.starts_restore


def square_wave(down_s: float, up_s: float, phase_s: float, until_s: float) -> list[tuple[float, bool]]:
    """Probe times every 5 s up to ``until_s`` and whether the zone is down (outage first, at ``phase_s``)."""
    period = down_s + up_s
    return [(t, ((t + phase_s) % period) < down_s) for t in range(0, int(until_s), 5)]


@pytest.mark.parametrize(
    ("down_s", "up_s"),
    [(10, 10), (5, 5), (15, 10), (20, 10), (30, 10), (10, 30), (40, 50), (55, 5)],
)
@pytest.mark.parametrize("phase_s", [0, 5, 10])
def test_a_flapping_zone_is_evacuated_at_most_once_and_restored_once(
    down_s: float, up_s: float, phase_s: float
) -> None:
    """Five minutes of flapping with 5 s probes, then five stable minutes."""
    flapping = square_wave(down_s, up_s, phase_s, 300)
    stable = [(300 + t, False) for t in range(0, 300, 5)]
    state, transitions = ZoneMachineState(), []
    for t, down in flapping + stable:
        step = advance(Z, state, "bad" if down else "good", at=at(t), settings=S)
        state = step.state
        if step.transition is not None:
            transitions.append(step.transition)
    evacuations = [t for t in transitions if t.starts_evacuation]
    restores = [t for t in transitions if t.starts_restore]
    assert len(evacuations) <= 1
    assert len(restores) == len(evacuations)
    if restores:
        assert restores[0].at >= at(300)  # never while it still flaps
    assert state.state == "healthy"
    # a wave whose outages last 3 probes or more fails the zone; shorter ones never do
    assert len(evacuations) == (1 if down_s >= 15 else 0)


def probe(zone: str, verdict: Verdict, seconds: float = 0) -> ZoneProbe:
    return ZoneProbe(zone, at(seconds), verdict, {}, f"{zone} {verdict}")


ZONES = ("cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j")


def test_step_zones_advances_each_zone_and_lists_the_actions() -> None:
    states = {ZONES[0]: ZoneMachineState("suspect", consecutive_bad=2), ZONES[1]: ZoneMachineState()}
    result = step_zones(
        states, {ZONES[0]: probe(ZONES[0], "bad"), ZONES[2]: probe(ZONES[2], "good")}, settings=S
    )
    assert result.alert is None
    assert {z: s.state for z, s in result.states.items()} == {
        ZONES[0]: "failed",
        ZONES[1]: "healthy",  # not probed: kept
        ZONES[2]: "healthy",  # first seen: starts healthy
    }
    assert result.to_evacuate == (ZONES[0],) and result.to_restore == ()
    assert [t.zone_id for t in result.transitions] == [ZONES[0]]


def test_all_zones_failing_at_once_changes_nothing_and_alerts() -> None:
    before = {z: ZoneMachineState("suspect", consecutive_bad=2) for z in ZONES[:2]}
    before[ZONES[2]] = ZoneMachineState("failed", consecutive_bad=9)
    result = step_zones(before, {z: probe(z, "bad") for z in ZONES}, settings=S)
    assert result == FleetStep(before, (), result.alert)
    assert result.alert is not None and "probes are probably wrong" in result.alert
    assert result.to_evacuate == ()


def test_outages_starting_a_probe_apart_move_nothing() -> None:
    """Zone h goes down one probe before i and j: h must not be evacuated while every zone looks bad."""
    states: dict[str, ZoneMachineState] = {}
    rounds = [{ZONES[0]: "bad", ZONES[1]: "good", ZONES[2]: "good"}] + [dict.fromkeys(ZONES, "bad")] * 10
    alerts = []
    for i, verdicts in enumerate(rounds):
        result = step_zones(
            states,
            {z: probe(z, v, 5 * i) for z, v in verdicts.items()},
            settings=S,  # type: ignore[arg-type]
        )
        assert result.to_evacuate == ()
        states, alerts = result.states, [*alerts, result.alert]
    assert {s.state for s in states.values()} == {"suspect"}
    assert alerts[:2] == [None, None] and all(a is not None for a in alerts[2:])
    # when i and j come back, h goes on counting from where it was held and fails on its own
    result = step_zones(
        states,
        {
            ZONES[0]: probe(ZONES[0], "bad", 60),
            ZONES[1]: probe(ZONES[1], "good", 60),
            ZONES[2]: probe(ZONES[2], "good", 60),
        },
        settings=S,
    )
    assert result.alert is None and result.to_evacuate == (ZONES[0],)


def test_a_single_round_where_every_zone_looks_bad_only_makes_them_suspect() -> None:
    result = step_zones({}, {z: probe(z, "bad") for z in ZONES}, settings=S)
    assert result.alert is None and {s.state for s in result.states.values()} == {"suspect"}


def test_zones_without_targets_do_not_count_for_the_hold() -> None:
    before = {ZONES[0]: ZoneMachineState("suspect", consecutive_bad=2)}
    probes = {ZONES[0]: probe(ZONES[0], "bad"), ZONES[1]: probe(ZONES[1], "unknown")}
    assert step_zones(before, probes, settings=S).alert is not None
    probes[ZONES[2]] = probe(ZONES[2], "good")
    result = step_zones(before, probes, settings=S)
    assert result.alert is None and result.to_evacuate == (ZONES[0],)


def test_state_round_trips_through_the_registry_detail() -> None:
    state = run("bbbgg")[-1]
    assert ZoneMachineState.from_detail(state.to_detail()) == state
    assert ZoneMachineState.from_detail({}) == ZoneMachineState()
    with pytest.raises(ValueError, match="unknown zone machine state 'degraded'"):
        ZoneMachineState("degraded")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        advance(Z, state, "good", at=datetime(2026, 12, 1))


@pytest.mark.parametrize(
    ("probes", "failed_at"),
    [
        ([0, 5, 10], 10),  # the watcher alone
        ([0, 1, 5, 6, 10], 10),  # the scheduled run a second after each watcher probe: not counted
        ([0, 2.4, 5, 7.4, 10], 10),  # just under half an interval after: not counted
        ([0, 2.5, 5, 7.5, 10], 5),  # half an interval apart: each counts
        ([0, 5, 4, 10], 10),  # a probe older than the last one counted changes nothing
    ],
)
def test_probes_closer_than_half_an_interval_count_once(probes: list[float], failed_at: float) -> None:
    state, fails = ZoneMachineState(), []
    for t in probes:
        step = advance(Z, state, "bad", at=at(t), reason=f"probe at {t}", settings=S)
        state = step.state
        if step.transition is not None and step.transition.to_state == "failed":
            fails.append(t)
    assert fails == [failed_at]
    assert state.probed_at == at(10)  # the last probe, 10 s, counted in every case


def test_the_last_counted_probe_survives_the_registry() -> None:
    state = advance(Z, ZoneMachineState(), "bad", at=at(3), settings=S).state
    assert ZoneMachineState.from_detail(state.to_detail()) == state
    assert ZoneMachineState.from_detail({"state": "suspect"}).probed_at is None
