"""Guard rails: every zone failed at once holds everything; the capacity guard refuses a short drain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from include.zones.guards import PoolCapacity, all_zones_failed, capacity_guard
from include.zones.probes import Verdict, ZoneProbe

H, I, J = "cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"  # noqa: E741 (zone letters)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def probes(**verdicts: Verdict) -> dict[str, ZoneProbe]:
    zones = {"h": H, "i": I, "j": J}
    return {zones[k]: ZoneProbe(zones[k], T0, v, {}, "") for k, v in verdicts.items()}


@pytest.mark.parametrize(
    ("proposed", "verdicts", "hold"),
    [
        ({H: "failed", I: "failed", J: "failed"}, {"h": "bad", "i": "bad", "j": "bad"}, True),
        ({H: "failed", I: "failed", J: "healthy"}, {"h": "bad", "i": "bad", "j": "good"}, False),
        # every zone bad and one would fail while the others are still suspect (staggered onset)
        ({H: "failed", I: "suspect", J: "suspect"}, {"h": "bad", "i": "bad", "j": "bad"}, True),
        # every zone bad, none would fail: a blip, not held (suspect moves no traffic)
        ({H: "suspect", I: "suspect", J: "suspect"}, {"h": "bad", "i": "bad", "j": "bad"}, False),
        # one zone failing while another is good: a real zone failure
        ({H: "failed", I: "suspect", J: "healthy"}, {"h": "bad", "i": "bad", "j": "good"}, False),
        # a zone without targets does not count: the two with targets are failed
        ({H: "failed", I: "failed", J: "healthy"}, {"h": "bad", "i": "bad", "j": "unknown"}, True),
        # a single zone with targets failing is also "every zone"
        ({H: "failed"}, {"h": "bad"}, True),
        # nothing has targets: nothing to hold
        ({H: "healthy"}, {"h": "unknown"}, False),
    ],
)
def test_all_zones_failed(proposed: dict[str, str], verdicts: dict[str, Verdict], hold: bool) -> None:
    decision = all_zones_failed(proposed, probes(**verdicts))
    assert decision.hold is hold
    if hold:
        assert "probes are probably wrong" in decision.message and "DNS keeps answering" in decision.message


def pool(min_size: int, max_size: int, ready: dict[str, int], **kw: object) -> PoolCapacity:
    return PoolCapacity(
        cluster=str(kw.get("cluster", "demo")),
        pool=str(kw.get("name", "workers")),
        zones=tuple(kw.get("zones", (H, I, J))),  # type: ignore[call-overload]
        min_size=min_size,
        max_size=max_size,
        ready=ready,
        nodes=kw.get("nodes"),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("pools", "failed", "allowed"),
    [
        # 2 Ready left in i and j, min 3, max 6 with 3 nodes: can add 3 -> fine
        ([pool(3, 6, {H: 1, I: 1, J: 1})], (), True),
        # pool at its max: 2 left, cannot add, min 3 -> refused
        ([pool(3, 3, {H: 1, I: 1, J: 1})], (), False),
        # exactly the minimum left
        ([pool(2, 3, {H: 1, I: 1, J: 1})], (), True),
        # j already failed: only i is left, 1 Ready + 3 addable (max 6) >= 3
        ([pool(3, 6, {H: 1, I: 1, J: 1})], (J,), True),
        # j failed and the pool cannot grow: 1 < 3
        ([pool(3, 3, {H: 1, I: 1, J: 1})], (J,), False),
        # NotReady nodes count against max: 3 nodes + 2 on their way, max 5 -> nothing addable
        ([pool(3, 5, {H: 1, I: 1, J: 0}, nodes={H: 1, I: 2, J: 2})], (), False),
        # a pool only in the evacuated zone can go nowhere
        ([pool(1, 10, {H: 2}, zones=(H,))], (), False),
        # a pool not in the zone is not affected; min 0 never blocks
        ([pool(3, 3, {I: 1, J: 1}, zones=(I, J)), pool(0, 3, {H: 3}, zones=(H,), name="batch")], (), True),
    ],
)
def test_capacity_guard(pools: list[PoolCapacity], failed: tuple[str, ...], allowed: bool) -> None:
    decision = capacity_guard(H, pools, failed_zones=failed)
    assert decision.allowed is allowed
    assert bool(decision.shortfalls) is not allowed


def test_refusal_says_why_per_pool() -> None:
    decision = capacity_guard(
        H,
        [
            pool(3, 3, {H: 1, I: 1, J: 1}),
            pool(4, 6, {H: 4, I: 0, J: 0}, cluster="shop", name="web", nodes={H: 4, I: 0, J: 0}),
            pool(1, 2, {H: 1, I: 1}, cluster="ok", zones=(H, I)),
            pool(1, 2, {H: 1}, cluster="solo", name="db", zones=(H,)),
        ],
    )
    assert not decision.allowed
    assert decision.message == (
        f"refusing to evacuate {H}: pool demo/workers needs 3 nodes (min_size) but the zones left "
        f"({I}, {J}) have 2 Ready and it can add 0 more (max_size); pool shop/web needs 4 nodes "
        f"(min_size) but the zones left ({I}, {J}) have 0 Ready and it can add 2 more (max_size); "
        "pool solo/db needs 1 nodes (min_size) but it has no other usable zone"
    )
    assert [(s.cluster, s.pool, s.remaining_ready, s.can_add) for s in decision.shortfalls] == [
        ("demo", "workers", 2, 0),
        ("shop", "web", 0, 2),
        ("solo", "db", 0, 0),
    ]


def test_allowed_message_counts_the_pools_checked() -> None:
    decision = capacity_guard(H, [pool(1, 6, {H: 1, I: 1, J: 1})])
    assert decision.allowed and decision.message.endswith("(1 pool(s) in the zone)")
