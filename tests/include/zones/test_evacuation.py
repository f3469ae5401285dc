"""Evacuation records: one per zone, expiry and extension, manual over automatic, restore steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.zones.evacuation import (
    Evacuation,
    decide_evacuate,
    decide_restore,
    next_restore_step,
    on_expiry,
    restoring,
    restoring_index,
)

Z = "cn-hangzhou-h"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def record(
    source: str = "auto", step: str = "evacuated", expires_in: timedelta = HOUR, **kw: object
) -> Evacuation:
    return Evacuation(
        zone_id=Z,
        source=source,  # type: ignore[arg-type]
        reason="outage",
        started_at=T0,
        expires_at=T0 + expires_in,
        step=step,
        ticket_id=kw.get("ticket_id"),  # type: ignore[arg-type]
        saved_weights=kw.get("saved_weights", {"lb": {"i-1": 100}}),  # type: ignore[arg-type]
        ended_at=kw.get("ended_at"),  # type: ignore[arg-type]
    )


def test_a_new_evacuation_starts_with_the_default_expiry() -> None:
    d = decide_evacuate(
        None, zone_id=Z, source="auto", reason="3 bad probes", now=T0, saved_weights={"lb": {"a": 7}}
    )
    assert d.action == "start" and d.changed
    assert (d.record.step, d.record.started_at, d.record.expires_at) == ("evacuating", T0, T0 + HOUR)
    assert d.record.saved_weights == {"lb": {"a": 7}} and d.record.active
    ended = record(ended_at=T0)
    assert (
        decide_evacuate(ended, zone_id=Z, source="manual", reason="x", now=T0, ticket_id="OPS-1").action
        == "start"
    )


@pytest.mark.parametrize("expires_in", [59, 72 * 3600 + 1, True])
def test_expiry_must_be_between_a_minute_and_72_hours(expires_in: float) -> None:
    with pytest.raises(ValueError, match="expires_in must be between 60 and 259200 seconds"):
        decide_evacuate(None, zone_id=Z, source="manual", reason="x", now=T0, expires_in_s=expires_in)


# (current source, current step, current expired?, request source) -> (action, source after, step after)
@pytest.mark.parametrize(
    ("current", "step", "expired", "asked", "action", "source", "new_step"),
    [
        ("auto", "evacuated", False, "auto", "extend", "auto", "evacuated"),
        ("auto", "evacuated", False, "manual", "override", "manual", "evacuated"),
        ("manual", "evacuated", False, "manual", "extend", "manual", "evacuated"),
        ("manual", "evacuated", False, "auto", "keep", "manual", "evacuated"),
        ("manual", "evacuated", True, "auto", "override", "auto", "evacuated"),
        ("manual", "restoring:1", False, "auto", "override", "auto", "evacuating"),
        ("auto", "restoring:0", False, "auto", "extend", "auto", "evacuating"),
        ("manual", "restoring:2", False, "manual", "extend", "manual", "evacuating"),
    ],
)
def test_evacuate_precedence(
    current: str, step: str, expired: bool, asked: str, action: str, source: str, new_step: str
) -> None:
    now = T0 + (2 * HOUR if expired else timedelta(minutes=10))
    d = decide_evacuate(
        record(current, step),
        zone_id=Z,
        source=asked,  # type: ignore[arg-type]
        reason="again",
        now=now,
        ticket_id="OPS-2" if asked == "manual" else None,
    )
    assert (d.action, d.record.source, d.record.step) == (action, source, new_step)
    assert d.record.started_at == T0  # the zone has been evacuated since then
    assert d.record.saved_weights == {"lb": {"i-1": 100}}


def test_extending_updates_expires_at() -> None:
    manual = record("manual", ticket_id="OPS-1")
    shorter = decide_evacuate(
        manual,
        zone_id=Z,
        source="manual",
        reason="r",
        now=T0 + timedelta(minutes=30),
        ticket_id="OPS-3",
        expires_in_s=600,
    )
    assert shorter.record.expires_at == T0 + timedelta(minutes=40) and shorter.record.ticket_id == "OPS-3"
    # an automatic extension never moves the expiry earlier
    auto = record("auto", expires_in=3 * HOUR)
    kept = decide_evacuate(auto, zone_id=Z, source="auto", reason="r", now=T0 + HOUR)
    assert kept.record.expires_at == T0 + 3 * HOUR
    later = decide_evacuate(auto, zone_id=Z, source="auto", reason="r", now=T0 + 2.5 * HOUR)
    assert later.record.expires_at == T0 + 3.5 * HOUR


def test_a_manual_override_carries_its_ticket_and_an_auto_keep_says_who_holds() -> None:
    d = decide_evacuate(record("auto"), zone_id=Z, source="manual", reason="drill", now=T0, ticket_id="OPS-9")
    assert (d.record.ticket_id, d.record.reason) == ("OPS-9", "drill")
    assert "taken over by manual (ticket OPS-9) from auto" in d.message
    keep = decide_evacuate(record("manual", ticket_id="OPS-9"), zone_id=Z, source="auto", reason="x", now=T0)
    assert keep.record == record("manual", ticket_id="OPS-9") and not keep.changed
    assert "manual (ticket OPS-9)" in keep.message


def test_saved_weights_merge_under_the_remembered_ones() -> None:
    d = decide_evacuate(
        record(), zone_id=Z, source="auto", reason="r", now=T0, saved_weights={"lb": {"i-1": 0, "i-2": 40}}
    )
    assert d.record.saved_weights == {"lb": {"i-1": 100, "i-2": 40}}


@pytest.mark.parametrize(
    ("current", "expired", "asked", "allowed"),
    [
        ("auto", False, "auto", True),
        ("auto", False, "manual", True),  # a manual restore ends an automatic evacuation
        ("manual", False, "manual", True),
        ("manual", False, "auto", False),  # an auto restore never ends a manual evacuation early
        ("manual", True, "auto", True),
        ("auto", False, "expiry", False),
        ("auto", True, "expiry", True),
        ("manual", True, "expiry", True),
    ],
)
def test_restore_precedence(current: str, expired: bool, asked: str, allowed: bool) -> None:
    now = T0 + (2 * HOUR if expired else timedelta(minutes=5))
    d = decide_restore(record(current, ticket_id="OPS-1"), source=asked, now=now)  # type: ignore[arg-type]
    assert d.allowed is allowed
    if asked == "auto" and not allowed:
        assert "held by the manual evacuation by manual (ticket OPS-1)" in d.message


def test_nothing_to_restore_without_an_active_evacuation() -> None:
    assert not decide_restore(None, source="manual", now=T0).allowed
    assert (
        decide_restore(record(ended_at=T0), source="manual", now=T0).message
        == "no active evacuation to restore"
    )


@pytest.mark.parametrize(
    ("step", "elapsed", "zone_state", "expected"),
    [
        ("evacuated", timedelta(minutes=59), "healthy", "none"),
        ("evacuated", HOUR, "healthy", "restore"),
        ("evacuated", HOUR, "suspect", "restore"),
        ("evacuated", 2 * HOUR, "failed", "extend"),
        ("evacuating", 2 * HOUR, "recovering", "extend"),
        ("restoring:1", 2 * HOUR, "healthy", "none"),  # a restore is already under way
    ],
)
def test_expired_evacuations_are_due_for_restore_unless_the_zone_still_fails(
    step: str, elapsed: timedelta, zone_state: str, expected: str
) -> None:
    assert on_expiry(record("manual", step), now=T0 + elapsed, zone_state=zone_state) == expected
    assert on_expiry(None, now=T0, zone_state="failed") == "none"


def test_steps_and_the_next_restore_step() -> None:
    assert restoring(2) == "restoring:2" and restoring_index("restoring:2") == 2
    assert restoring_index("evacuated") is None
    assert [next_restore_step(record(step=s)) for s in ("evacuating", "evacuated", "restoring:1")] == [
        0,
        0,
        1,
    ]
    assert next_restore_step(record(step="restored", ended_at=T0)) is None
    with pytest.raises(ValueError, match="unknown evacuation step 'restoring:x'"):
        record(step="restoring:x")
    with pytest.raises(ValueError, match="source must be auto or manual"):
        record(source="robot")
    with pytest.raises(ValueError, match=">= 0"):
        restoring(-1)


def test_record_round_trips_through_json() -> None:
    r = record("manual", "restoring:0", ticket_id="OPS-1")
    assert Evacuation.from_json(r.to_json()) == r
