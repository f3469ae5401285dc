"""Zone health and failover state in the registry on SQLite and Postgres: machine states, transitions,
evacuations (one per zone, expiry, manual over automatic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.registry import FleetRegistry
from include.services.health import cluster_health
from include.zones.machine import Transition, ZoneMachineState, advance

H, I = "cn-hangzhou-h", "cn-hangzhou-i"  # noqa: E741 (zone letters)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_machine_state_round_trips_through_zone_states(registry: FleetRegistry) -> None:
    assert registry.zone_machine(H) == ZoneMachineState()  # never stored: healthy
    state = ZoneMachineState()
    for i, verdict in enumerate(("bad", "bad", "bad", "good")):
        state = advance(H, state, verdict, at=T0 + timedelta(seconds=5 * i), reason=f"probe {i}").state
    record = registry.put_zone_machine(H, state, probe={"verdict": "good"})
    assert (record.state, record.detail["probe"], record.detail["reason"]) == (
        "recovering",
        {"verdict": "good"},
        "probe 3",
    )
    assert registry.zone_machine(H) == state
    assert registry.zone_machine(H).good_since == T0 + timedelta(seconds=15)
    registry.put_zone_machine(I, ZoneMachineState("suspect", consecutive_bad=1), scope="demo")
    assert registry.zone_machines() == {H: state}
    assert registry.zone_machines(scope="demo") == {I: ZoneMachineState("suspect", consecutive_bad=1)}


def test_a_failed_machine_state_is_what_the_service_registry_reads(registry: FleetRegistry) -> None:
    registry.put_zone_machine(H, ZoneMachineState("failed", consecutive_bad=3))
    registry.put_zone_machine(I, ZoneMachineState("suspect", consecutive_bad=1))
    states = {z.zone_id: z.state for z in registry.list_zone_states()}
    assert states == {H: "failed", I: "suspect"}
    assert not cluster_health("c1", [H], states, {}).serving
    assert cluster_health("c1", [I], states, {}).serving  # suspect still serves


def test_a_row_written_by_hand_reads_as_its_state_with_fresh_counters(registry: FleetRegistry) -> None:
    registry.set_zone_state(H, "failed", detail={"reason": "marked by hand"})
    machine = registry.zone_machine(H)
    assert (machine.state, machine.consecutive_bad, machine.reason) == ("failed", 0, "marked by hand")
    registry.set_zone_state(I, "degraded")
    assert registry.zone_machine(I).state == "healthy"


def test_transitions_are_a_timeline(registry: FleetRegistry) -> None:
    for i, (zone, a, b) in enumerate(
        [
            (H, "healthy", "suspect"),
            (H, "suspect", "failed"),
            (I, "healthy", "suspect"),
            (H, "failed", "recovering"),
        ]
    ):
        registry.record_transition(Transition(zone, a, b, T0 + timedelta(minutes=i), f"step {i}"))
    registry.record_transition(Transition(H, "healthy", "failed", T0, "x" * 900), scope="demo")
    assert [(t.from_state, t.to_state) for t in registry.transitions(zone_id=H)] == [
        ("healthy", "suspect"),
        ("suspect", "failed"),
        ("failed", "recovering"),
    ]
    since = registry.transitions(since=T0 + timedelta(minutes=1))
    assert [t.reason for t in since] == ["step 1", "step 2", "step 3"]
    assert since[0].at == T0 + timedelta(minutes=1) and since[0].at.tzinfo is not None
    assert [t.reason for t in registry.transitions(limit=2)] == ["step 2", "step 3"]
    assert len(registry.transitions(scope="demo")[0].reason) == 512
    assert registry.prune_transitions(before=T0 + timedelta(minutes=2)) == 3
    assert [t.reason for t in registry.transitions()] == ["step 2", "step 3"]


def test_evacuation_lifecycle_with_steps_and_weights(registry: FleetRegistry) -> None:
    assert registry.active_evacuation(H) is None
    started = registry.start_or_extend_evacuation(
        H, source="auto", reason="3 bad probes", now=T0, saved_weights={"lb-1": {"i-a": 100}}
    )
    assert started.action == "start"
    stored = registry.active_evacuation(H)
    assert stored is not None and stored == started.record
    assert (stored.step, stored.expires_at, stored.saved_weights) == (
        "evacuating",
        T0 + HOUR,
        {"lb-1": {"i-a": 100}},
    )
    # a re-run after a lost response brings 0 for a weight already remembered: the real weight stays
    evacuated = registry.update_evacuation_step(H, "evacuated", saved_weights={"lb-1": {"i-a": 0, "i-b": 30}})
    assert evacuated.saved_weights == {"lb-1": {"i-a": 100, "i-b": 30}}
    assert registry.update_evacuation_step(H, "restoring:0").step == "restoring:0"
    with pytest.raises(ValueError, match="unknown evacuation step"):
        registry.update_evacuation_step(H, "sideways")
    with pytest.raises(ValueError, match="end_evacuation"):
        registry.update_evacuation_step(H, "restored")
    ended = registry.end_evacuation(H, source="auto", now=T0 + timedelta(minutes=10))
    assert ended.allowed and ended.record is not None
    assert (ended.record.step, ended.record.ended_by) == ("restored", "auto")
    assert registry.active_evacuation(H) is None
    assert [e.step for e in registry.evacuations()] == ["restored"]
    assert registry.evacuations(active_only=True) == []
    with pytest.raises(KeyError, match="no active evacuation"):
        registry.update_evacuation_step(H, "evacuated")
    assert not registry.end_evacuation(H, source="manual").allowed
    # the next evacuation of the zone starts afresh
    again = registry.start_or_extend_evacuation(H, source="auto", reason="again", now=T0 + 2 * HOUR)
    assert again.action == "start" and again.record.saved_weights == {}


def test_manual_evacuation_overrides_and_an_auto_restore_waits_for_its_expiry(
    registry: FleetRegistry,
) -> None:
    registry.start_or_extend_evacuation(H, source="auto", reason="probes", now=T0)
    manual = registry.start_or_extend_evacuation(
        H,
        source="manual",
        reason="drill",
        ticket_id="OPS-7",
        expires_in_s=7200,
        now=T0 + timedelta(minutes=5),
    )
    assert manual.action == "override"
    assert (manual.record.source, manual.record.ticket_id) == ("manual", "OPS-7")
    assert manual.record.expires_at == T0 + timedelta(minutes=125) and manual.record.started_at == T0
    kept = registry.start_or_extend_evacuation(
        H, source="auto", reason="probes", now=T0 + timedelta(minutes=6)
    )
    assert kept.action == "keep"
    assert registry.active_evacuation(H) == manual.record  # nothing written
    refused = registry.end_evacuation(H, source="auto", now=T0 + timedelta(minutes=30))
    assert not refused.allowed and "OPS-7" in refused.message
    assert registry.active_evacuation(H) is not None
    extended = registry.start_or_extend_evacuation(
        H, source="manual", reason="longer", ticket_id="OPS-8", expires_in_s=3 * 3600, now=T0 + HOUR
    )
    assert extended.action == "extend" and extended.record.expires_at == T0 + 4 * HOUR
    assert registry.active_evacuation(H).expires_at == T0 + 4 * HOUR  # type: ignore[union-attr]
    assert not registry.end_evacuation(H, source="expiry", now=T0 + 3 * HOUR).allowed
    by_hand = registry.end_evacuation(H, source="manual", ticket_id="OPS-9", now=T0 + 3 * HOUR)
    assert by_hand.allowed and by_hand.record is not None and by_hand.record.ended_by == "manual:OPS-9"
    assert registry.evacuations()[0].ended_at == T0 + 3 * HOUR


def test_one_evacuation_per_zone(registry: FleetRegistry) -> None:
    registry.start_or_extend_evacuation(H, source="auto", reason="a", now=T0)
    registry.start_or_extend_evacuation(H, source="auto", reason="b", now=T0 + timedelta(minutes=1))
    registry.start_or_extend_evacuation(I, source="manual", reason="c", ticket_id="OPS-1", now=T0)
    assert [(e.zone_id, e.reason) for e in registry.evacuations(active_only=True)] == [(H, "b"), (I, "c")]
    with pytest.raises(ValueError, match="expires_in must be between"):
        registry.start_or_extend_evacuation(H, source="manual", reason="x", expires_in_s=5)
