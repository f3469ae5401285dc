"""Capacity state in the registry on SQLite and Postgres: recommendations, unneeded nodes, back-offs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.registry import FleetRegistry

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_recommendations_are_kept_per_deployment_and_read_from_a_window(registry: FleetRegistry) -> None:
    for minute, web, api in ((0, 6, 2), (2, 4, 2), (4, 3, 1)):
        written = registry.record_recommendations(
            "demo", {("shop", "web"): web, ("shop", "api"): api}, at=T0 + timedelta(minutes=minute)
        )
        assert written == 2
    registry.record_recommendations("other", {("shop", "web"): 9}, at=T0)
    window = registry.recommendations("demo", since=T0 + timedelta(minutes=1))
    assert sorted(window) == [("shop", "api"), ("shop", "web")]
    assert [r.replicas for r in window[("shop", "web")]] == [4, 3]
    assert [r.recorded_at for r in window[("shop", "web")]] == [
        T0 + timedelta(minutes=2),
        T0 + timedelta(minutes=4),
    ]
    assert window[("shop", "web")][0].recorded_at.tzinfo is not None
    everything = registry.recommendations("demo", since=T0)
    assert [r.replicas for r in everything[("shop", "web")]] == [6, 4, 3]
    assert registry.prune_recommendations(before=T0 + timedelta(minutes=3), cluster="demo") == 4
    assert [r.replicas for r in registry.recommendations("demo", since=T0)[("shop", "web")]] == [3]
    assert registry.recommendations("other", since=T0)[("shop", "web")][0].replicas == 9
    with pytest.raises(ValueError, match="must be >= 0"):
        registry.record_recommendations("demo", {("shop", "web"): -1})


def test_unneeded_nodes_are_replaced_per_cluster(registry: FleetRegistry) -> None:
    later = T0 + timedelta(minutes=5)
    assert registry.set_unneeded_nodes("demo", {"n1": T0, "n2": T0}) == {"n1": T0, "n2": T0}
    registry.set_unneeded_nodes("other", {"n1": later})
    stored = registry.set_unneeded_nodes("demo", {"n2": T0, "n3": later})
    assert stored == registry.unneeded_nodes("demo") == {"n2": T0, "n3": later}
    assert registry.unneeded_nodes("demo")["n3"].tzinfo is not None
    assert registry.set_unneeded_nodes("demo", {}) == {}
    assert registry.unneeded_nodes("demo") == {}
    assert registry.unneeded_nodes("other") == {"n1": later}
    assert registry.unneeded_nodes("nobody") == {}


def test_backoffs_are_active_until_they_end_and_never_shortened(registry: FleetRegistry) -> None:
    until = T0 + timedelta(minutes=5)
    record = registry.record_backoff(
        "cn-hangzhou-h", "ecs.g7.large", until=until, reason="OperationDenied.NoStock", at=T0
    )
    assert (record.zone_id, record.instance_type, record.until) == ("cn-hangzhou-h", "ecs.g7.large", until)
    registry.record_backoff(
        "cn-hangzhou-i", "ecs.g7.large", until=T0 + timedelta(minutes=1), reason="x" * 900
    )
    active = registry.active_backoffs(now=T0 + timedelta(seconds=30))
    assert [(b.zone_id, b.instance_type) for b in active] == [
        ("cn-hangzhou-h", "ecs.g7.large"),
        ("cn-hangzhou-i", "ecs.g7.large"),
    ]
    assert len(active[1].reason) == 512
    assert [b.zone_id for b in registry.active_backoffs(now=T0 + timedelta(minutes=2))] == ["cn-hangzhou-h"]
    # a shorter back-off recorded later keeps the longer end; a longer one extends it
    registry.record_backoff("cn-hangzhou-h", "ecs.g7.large", until=T0 + timedelta(minutes=2), reason="again")
    assert registry.active_backoffs(now=T0 + timedelta(minutes=4))[0].until == until
    registry.record_backoff(
        "cn-hangzhou-h", "ecs.g7.large", until=T0 + timedelta(minutes=9), reason="Zone.NotOnSale"
    )
    extended = registry.active_backoffs(now=T0 + timedelta(minutes=8))
    assert [(b.until, b.reason) for b in extended] == [(T0 + timedelta(minutes=9), "Zone.NotOnSale")]
    assert registry.active_backoffs(now=T0 + timedelta(minutes=10)) == []
    assert registry.clear_backoffs(expired_before=T0 + timedelta(minutes=3)) == 1
    assert registry.clear_backoffs(expired_before=T0 + timedelta(minutes=10)) == 1
