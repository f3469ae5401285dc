"""The pod tier: the HPA rule, missing metrics, not-ready pods, stabilisation, rate limits, floors."""

from __future__ import annotations

import pytest

from include.capacity.hpa import hpa_rule, recommend, scale_up_limit
from include.capacity.model import Floor, PodView
from include.capacity.settings import CapacitySettings
from tests.include.capacity.factory import NOW, deployment, pod


def pods(usages: list[int | None], *, not_ready: int = 0, request: int = 1000) -> list[PodView]:
    result = [pod(f"web-7d9f-{i}", "n1", cpu_m=request, usage_m=u) for i, u in enumerate(usages)]
    result += [pod(f"web-7d9f-u{i}", "n1", cpu_m=request, ready=False) for i in range(not_ready)]
    return result


@pytest.mark.parametrize(
    ("usages", "not_ready", "target", "expected"),
    [
        # plain rule: ceil(current x usage/target)
        ([1000] * 4, 0, 50, 8),  # 100% of requests vs 50% -> x2
        ([250] * 4, 0, 50, 2),  # half the target -> half
        ([540] * 4, 0, 50, 4),  # 108% of target: within tolerance 0.1
        ([560] * 4, 0, 50, 5),  # 112%: ceil(1.12 x 4)
        ([460] * 4, 0, 50, 4),  # 92%: within tolerance
        # missing metrics: 0% on scale-up, 100% on scale-down
        ([1000, 1000, None, None], 0, 50, 4),  # up: (2000+0)/4000 = 50% -> no change
        ([1000, 1000, 1000, None], 0, 50, 6),  # up: 3000/4000 = 75% -> ratio 1.5 -> ceil(1.5 x 4)
        (
            [100, 100, None, None],
            0,
            50,
            4,
        ),  # down: (200 + 2 x 1000)/4000 = 55% -> ratio 1.1: within tolerance
        ([100, 100, None], 0, 20, 3),  # down: (200 + 1000)/3000 = 40% -> ratio 2 reverses direction: stays 3
        ([50, 50, 50, None], 0, 20, 4),  # down, ratio .25: (150 + 1000)/4000 = 28.75% -> 1.44 reverses: 4
        # not-ready pods count 0% on scale-up only
        ([1000, 1000], 2, 50, 4),  # up: 2000/4000 = 50% -> no change
        ([1000, 1000, 1000], 1, 50, 6),  # up: 3000/4000 = 75% -> ratio 1.5 x 4
        ([100, 100, 100], 1, 50, 1),  # down: unready left out: ceil(0.2 x 3)
    ],
)
def test_hpa_rule(usages: list[int | None], not_ready: int, target: int, expected: int) -> None:
    d = deployment(replicas=len(usages) + not_ready, target=target)
    desired, why = hpa_rule(d, pods(usages, not_ready=not_ready))
    assert desired == expected, why


def test_no_metrics_leaves_replicas() -> None:
    desired, why = hpa_rule(deployment(replicas=3), pods([None, None, None]))
    assert desired is None and "no ready pod has CPU metrics" in why


def test_terminal_pods_are_ignored() -> None:
    d = deployment(replicas=2, target=50)
    ps = [*pods([1000, 1000]), pod("web-7d9f-old", "n1", usage_m=0, phase="Failed")]
    assert hpa_rule(d, ps)[0] == 4


def test_tolerance_is_a_setting() -> None:
    d = deployment(replicas=4, target=50)
    assert hpa_rule(d, pods([540] * 4), CapacitySettings(hpa_tolerance=0.05))[0] == 5


@pytest.mark.parametrize(("current", "limit"), [(1, 5), (4, 8), (10, 20), (0, 4)])
def test_scale_up_limit_is_max_of_double_or_four(current: int, limit: int) -> None:
    assert scale_up_limit(current) == limit


def test_scale_up_is_rate_limited() -> None:
    rec = recommend(deployment(replicas=2, target=10, max_replicas=50), pods([1000, 1000]), NOW)
    assert rec.raw == 20 and rec.replicas == 6 and "scale-up limited to 6" in rec.reason


def test_scale_up_is_clamped_to_max() -> None:
    rec = recommend(deployment(replicas=4, target=10, max_replicas=6), pods([1000] * 4), NOW)
    assert rec.replicas == 6 and "max-replicas 6" in rec.reason


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ((), 2),  # nothing in the window: straight to the recommendation
        (((NOW - 100, 6),), 4),  # a higher recommendation 100 s ago: held at current (4)
        (((NOW - 100, 3),), 3),  # the highest of the window is 3
        (((NOW - 400, 8),), 2),  # older than 300 s: forgotten
    ],
)
def test_scale_down_is_stabilised(history: tuple[tuple[float, int], ...], expected: int) -> None:
    d = deployment(replicas=4, target=50)
    rec = recommend(d, pods([250] * 4), NOW, history)
    assert rec.raw == 2
    assert rec.replicas == expected
    assert rec.history[-1] == (NOW, 2)
    assert all(NOW - t < 300 for t, _ in rec.history)


def test_scale_down_over_runs_reaches_the_target_after_the_window() -> None:
    d = deployment(replicas=8, target=50)
    history: tuple[tuple[float, int], ...] = ((NOW - 60, 8),)
    first = recommend(d, pods([125] * 8), NOW, history)
    assert first.replicas == 8 and first.raw == 2
    later = recommend(d, pods([125] * 8), NOW + 301, first.history)
    assert later.replicas == 2


def test_min_and_floors() -> None:
    floor = (Floor(0, 1440, 6),)
    rec = recommend(deployment(replicas=4, floors=floor), pods([100] * 4), NOW)
    assert rec.replicas == 6 and "floor 6 active" in rec.reason
    rec = recommend(deployment(replicas=6, floors=floor, target=50), pods([100] * 6), NOW)
    assert rec.replicas == 6
    rec = recommend(deployment(replicas=1, min_replicas=3), pods([0]), NOW)
    assert rec.replicas == 3


def test_floor_outside_its_window_does_not_bind() -> None:
    night = (Floor(60, 120, 9),)  # 01:00-02:00 UTC; NOW is 13:46 UTC
    rec = recommend(deployment(replicas=4, floors=night, target=50), pods([500] * 4), NOW)
    assert rec.replicas == 4 and not rec.changed


def test_above_max_is_brought_down() -> None:
    rec = recommend(deployment(replicas=30, max_replicas=20), pods([500] * 30), NOW)
    assert rec.replicas == 20
