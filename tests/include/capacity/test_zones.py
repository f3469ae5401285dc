"""Zone tier: balance (skew <= 1), fallbacks in the same run, back-off, ClientTokens."""

from __future__ import annotations

import pytest

from include.capacity.model import Backoff, Offering
from include.capacity.settings import CapacitySettings
from include.capacity.zones import (
    assign_zones,
    backoff_for,
    client_token,
    fallback_offerings,
    skew,
    zone_counts,
)
from tests.include.capacity.factory import NOW, H, I, J, node, pool, snapshot

ALL = frozenset({H, I, J})


@pytest.mark.parametrize(
    ("counts", "new", "expected"),
    [
        ({H: 0, I: 0, J: 0}, 5, {H: 2, I: 2, J: 1}),
        ({H: 3, I: 0, J: 1}, 4, {H: 3, I: 3, J: 2}),
        ({H: 2, I: 2, J: 2}, 1, {H: 3, I: 2, J: 2}),
        ({H: 5, I: 0, J: 0}, 3, {H: 5, I: 2, J: 1}),  # moves towards balance when it cannot reach it
    ],
)
def test_new_nodes_go_to_the_emptiest_zone(
    counts: dict[str, int], new: int, expected: dict[str, int]
) -> None:
    zones = assign_zones([ALL] * new, counts, (H, I, J))
    after = dict(counts)
    for z in zones:
        assert z is not None
        after[z] += 1
    assert after == expected


def test_pinned_nodes_are_placed_first_and_the_rest_rebalances() -> None:
    zones = assign_zones([ALL, ALL, frozenset({H}), frozenset({H}), ALL], {H: 0, I: 0, J: 0}, (H, I, J))
    assert zones[2] == zones[3] == H
    after = {z: zones.count(z) for z in (H, I, J)}
    assert after == {H: 2, I: 2, J: 1} and skew(after, (H, I, J)) == 1


def test_no_candidate_gets_no_zone() -> None:
    assert assign_zones([frozenset()], {H: 0}, (H,)) == [None]


def test_zone_counts_include_upcoming_and_skip_other_pools() -> None:
    snap = snapshot(
        (node("a", H), node("b", I), node("c", I, "other"), node("u", J, managed=False)),
        upcoming=(node("i-new", J, ready=False),),
    )
    assert zone_counts(pool(), snap) == {H: 1, I: 1, J: 1}


def test_fallback_next_zone_by_balance_then_next_type() -> None:
    p = pool(types=("ecs.g7.xlarge", "ecs.g7.2xlarge"))
    snap = snapshot((node("a", I), node("b", I)), pools=(p,))
    got = fallback_offerings(p, H, "ecs.g7.xlarge", snap)
    assert got == (
        Offering(J, "ecs.g7.xlarge"),
        Offering(I, "ecs.g7.xlarge"),
        Offering(H, "ecs.g7.2xlarge"),
        Offering(J, "ecs.g7.2xlarge"),
        Offering(I, "ecs.g7.2xlarge"),
    )


def test_fallback_skips_failed_backed_off_excluded_and_disallowed() -> None:
    p = pool(types=("ecs.g7.xlarge", "ecs.g7.2xlarge"))
    snap = snapshot(
        pools=(p,),
        failed_zones=frozenset({J}),
        backoffs=(Backoff(Offering(I, "ecs.g7.xlarge"), NOW + 10, "OperationDenied.NoStock"),),
    )
    got = fallback_offerings(p, H, "ecs.g7.xlarge", snap, excluded=[Offering(H, "ecs.g7.2xlarge")])
    assert got == (Offering(I, "ecs.g7.2xlarge"),)
    pinned = fallback_offerings(
        p, H, "ecs.g7.xlarge", snapshot(pools=(p,)), allowed=frozenset({Offering(H, "ecs.g7.2xlarge")})
    )
    assert pinned == (Offering(H, "ecs.g7.2xlarge"),)


def test_fallback_never_offers_a_smaller_type() -> None:
    p = pool(types=("ecs.g7.2xlarge", "ecs.g7.xlarge"), zones=(H,))
    assert fallback_offerings(p, H, "ecs.g7.2xlarge", snapshot(pools=(p,))) == ()


def test_backoff_doubles_up_to_the_cap() -> None:
    o = Offering(H, "ecs.g7.xlarge")
    s = CapacitySettings(backoff_s=300, max_backoff_s=1000)
    first = backoff_for(o, NOW, s)
    assert (first.until, first.failures, first.reason) == (NOW + 300, 1, "OperationDenied.NoStock")
    second = backoff_for(o, NOW, s, previous=first, reason="Zone.NotOnSale")
    assert (second.until, second.failures, second.reason) == (NOW + 600, 2, "Zone.NotOnSale")
    third = backoff_for(o, NOW, s, previous=second)
    assert third.until == NOW + 1000


def test_client_token_changes_with_every_parameter() -> None:
    base = ("demo", "workers", H, "ecs.g7.xlarge", 0, 7)
    token = client_token(*base)
    assert token == client_token(*base) and token.startswith("yf-") and len(token) <= 64
    variants = [
        ("demo", "workers", I, "ecs.g7.xlarge", 0, 7),
        ("demo", "workers", H, "ecs.g7.2xlarge", 0, 7),
        ("demo", "workers", H, "ecs.g7.xlarge", 1, 7),
        ("demo", "workers", H, "ecs.g7.xlarge", 0, 8),
        ("demo", "batch", H, "ecs.g7.xlarge", 0, 7),
    ]
    tokens = {client_token(*v) for v in variants} | {client_token(*base, count=3)}
    assert token not in tokens and len(tokens) == len(variants) + 1
