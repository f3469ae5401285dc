"""Probe evaluation: the four signals per zone, the per-signal minimum-healthy fraction, unknown zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from include.zones.probes import (
    ApiServerObservation,
    BackendObservation,
    InstanceObservation,
    NodeObservation,
    ZoneProbe,
    backend_healthy,
    evaluate_zones,
    instance_healthy,
)
from include.zones.settings import ZoneHealthSettings

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
H, I, J = "cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"  # noqa: E741 (zone letters)


def instances(zone: str, running: int, stopped: int = 0, pending: int = 0) -> list[InstanceObservation]:
    found = [InstanceObservation(f"i-{zone[-1]}r{n}", zone, "Running") for n in range(running)]
    found += [InstanceObservation(f"i-{zone[-1]}s{n}", zone, "Stopped") for n in range(stopped)]
    found += [InstanceObservation(f"i-{zone[-1]}p{n}", zone, "Pending") for n in range(pending)]
    return found


def nodes(zone: str, ready: int, not_ready: int = 0, cluster: str = "demo") -> list[NodeObservation]:
    return [NodeObservation(cluster, zone, f"{zone[-1]}-ok-{n}", True) for n in range(ready)] + [
        NodeObservation(cluster, zone, f"{zone[-1]}-down-{n}", False) for n in range(not_ready)
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [("Running", True), ("Pending", None), ("Starting", None), ("Stopping", False), ("Stopped", False)],
)
def test_instance_status(status: str, expected: bool | None) -> None:
    assert instance_healthy(status) is expected


@pytest.mark.parametrize(
    ("health", "running", "expected"),
    [
        ("normal", True, True),
        ("abnormal", True, False),
        ("unavailable", True, None),
        ("normal", False, False),  # a stopped listener counts as bad whatever the status says
        ("unavailable", False, False),
    ],
)
def test_backend_health(health: str, running: bool, expected: bool | None) -> None:
    b = BackendObservation("lb-1", "service-lb", "i-1", H, health, 80, running)  # type: ignore[arg-type]
    assert backend_healthy(b) is expected


def test_unknown_backend_status_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown ServerHealthStatus 'odd'"):
        backend_healthy(BackendObservation("lb-1", "service-lb", "i-1", H, "odd"))  # type: ignore[arg-type]


def test_a_healthy_fleet_is_good_in_every_zone() -> None:
    probes = evaluate_zones(
        [H, I, J],
        at=T0,
        instances=[*instances(H, 3), *instances(I, 3), *instances(J, 3)],
        nodes=[*nodes(H, 2), *nodes(I, 2), *nodes(J, 2)],
    )
    assert list(probes) == [H, I, J]
    assert {z: p.verdict for z, p in probes.items()} == {H: "good", I: "good", J: "good"}
    assert probes[H].signals["ecs"].fraction == 1.0 and probes[H].signals["slb"].fraction is None
    assert probes[H].reason == f"{H}: ecs 3/3, nodes 2/2 healthy"
    assert probes[H].at == T0


@pytest.mark.parametrize(
    ("running", "stopped", "pending", "verdict"),
    [
        (2, 2, 0, "good"),  # exactly the minimum (0.5) is good
        (1, 2, 0, "bad"),
        (1, 1, 5, "good"),  # instances on their way are not counted
        (0, 0, 3, "unknown"),  # nothing counted in any signal
    ],
)
def test_min_healthy_fraction_per_signal(running: int, stopped: int, pending: int, verdict: str) -> None:
    probe = evaluate_zones([H], at=T0, instances=instances(H, running, stopped, pending))[H]
    assert probe.verdict == verdict
    assert probe.signals["ecs"].ignored == pending


def test_one_failing_signal_makes_the_probe_bad_even_when_others_are_healthy() -> None:
    """The threshold is per signal: 20 Running instances do not hide 3 NotReady nodes of 4."""
    probe = evaluate_zones([H], at=T0, instances=instances(H, 20), nodes=nodes(H, 1, 3))[H]
    assert probe.verdict == "bad"
    assert probe.signals["nodes"].fraction == 0.25
    assert probe.signals["nodes"].unhealthy == ("demo/h-down-0", "demo/h-down-1", "demo/h-down-2")
    assert "nodes 1/4 healthy" in probe.reason and "< 50% required" in probe.reason
    assert "ecs" not in probe.reason


def test_slb_targets_are_per_listener_and_a_stopped_listener_is_bad() -> None:
    backends = [
        BackendObservation("lb-api", "apiserver-lb", "i-h1", H, "normal", 6443),
        BackendObservation("lb-svc", "service-lb", "i-h1", H, "normal", 80, listener_running=False),
        BackendObservation("lb-svc", "service-lb", "i-h1", H, "normal", 443, listener_running=False),
        BackendObservation("lb-svc", "service-lb", "i-i1", I, "normal", 80),
        BackendObservation("lb-svc", "service-lb", "i-i2", I, "unavailable", 80),
    ]
    probes = evaluate_zones([H, I], at=T0, backends=backends)
    assert (probes[H].signals["slb"].healthy, probes[H].signals["slb"].counted) == (1, 3)
    assert probes[H].signals["slb"].unhealthy == ("lb-svc:443/i-h1", "lb-svc:80/i-h1")
    assert probes[H].verdict == "bad"
    assert (probes[I].signals["slb"].counted, probes[I].signals["slb"].ignored) == (1, 1)
    assert probes[I].verdict == "good"


def test_api_server_members_pool_over_clusters() -> None:
    api = [
        ApiServerObservation("a", H, False, "i-a1"),
        ApiServerObservation("b", H, True, "i-b1"),
        ApiServerObservation("c", H, False),
    ]
    probe = evaluate_zones([H], at=T0, apiservers=api)[H]
    assert probe.verdict == "bad" and probe.signals["apiserver"].unhealthy == ("a/i-a1", "c")


def test_zone_without_targets_is_unknown_not_bad_and_observed_zones_are_added() -> None:
    probes = evaluate_zones([H], at=T0, nodes=nodes(J, 0, 2))
    assert list(probes) == [H, J]
    assert probes[H].verdict == "unknown" and probes[H].reason == f"{H}: no target to probe"
    assert probes[J].verdict == "bad"


def test_only_deciding_signals_decide_and_zone_overrides_apply() -> None:
    only_slb = ZoneHealthSettings(signals=("slb",))
    probe = evaluate_zones([H], at=T0, nodes=nodes(H, 0, 3), settings=only_slb)[H]
    assert probe.verdict == "unknown" and probe.signals["nodes"].counted == 3
    strict = ZoneHealthSettings(zone_min_healthy_fraction={H: 0.9})
    probes = evaluate_zones([H, I], at=T0, nodes=[*nodes(H, 8, 2), *nodes(I, 8, 2)], settings=strict)
    assert (probes[H].verdict, probes[I].verdict) == ("bad", "good")


def test_reason_names_at_most_five_targets_and_says_there_are_more() -> None:
    probe = evaluate_zones([H], at=T0, nodes=nodes(H, 0, 7))[H]
    assert len(probe.signals["nodes"].unhealthy) == 5 and "...)" in probe.reason


def test_probe_round_trips_through_json_and_needs_an_aware_time() -> None:
    probe = evaluate_zones([H], at=T0, instances=instances(H, 1, 1), nodes=nodes(H, 1))[H]
    assert ZoneProbe.from_json(probe.to_json()) == probe
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_zones([H], at=datetime(2026, 12, 1))
