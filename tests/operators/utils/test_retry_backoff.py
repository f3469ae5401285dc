"""The two back-offs of RetryPolicy, table-tested on a simulated clock (no real waiting)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tenacity

from include.errors import (
    CloudTimeoutError,
    ConfigurationError,
    PermanentCloudError,
    ThrottlingError,
    TransientCloudError,
)
from operators.utils.retry import RetryPolicy


class Clock:
    """A simulated monotonic clock that tenacity reads and sleeps on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(tenacity.time, "monotonic", fake.monotonic)
    yield fake


def run(policy: RetryPolicy, clock: Clock, answer: Callable[[float, int], Any]) -> tuple[Any, list[float]]:
    """Call under ``policy``; ``answer(elapsed, attempt)`` returns a value or raises. Returns the
    outcome (value or exception) and the elapsed time of every attempt."""
    start = clock.now
    attempts: list[float] = []

    def call() -> Any:
        attempts.append(clock.now - start)
        return answer(clock.now - start, len(attempts))

    retrying = policy.retrying()
    retrying.sleep = clock.sleep
    try:
        return retrying(call), attempts
    except Exception as exc:  # the outcome is what the test looks at
        return exc, attempts


def always(error: Exception) -> Callable[[float, int], Any]:
    """An answer that fails every attempt with ``error``."""

    def answer(elapsed: float, attempt: int) -> Any:
        raise error

    return answer


def throttled(message: str = "slow down", retry_after: float | None = None) -> ThrottlingError:
    return ThrottlingError(message, code="Throttling.User", http_status=400, retry_after=retry_after)


@pytest.mark.parametrize("seed", range(5))
def test_a_throttled_call_keeps_trying_into_the_next_minute_and_stops_at_65s(clock: Clock, seed: int) -> None:
    random.seed(seed)
    outcome, attempts = run(RetryPolicy(), clock, always(throttled()))
    assert isinstance(outcome, ThrottlingError)
    assert attempts[-1] == pytest.approx(65.0)  # the last attempt is at the end of the budget
    assert 6 <= len(attempts) <= 20
    waits = [b - a for a, b in itertools.pairwise(attempts)]
    assert max(waits) <= 30.0 and waits[0] >= 0.5  # equal jitter: at least half of 1 s


@pytest.mark.parametrize(
    ("window_ends_at", "first_call_at"),
    [(60.0, 0.0), (60.0, 59.0), (60.0, 30.5), (30.0, 29.9)],
)
def test_a_closed_quota_window_is_ridden_out(
    clock: Clock, window_ends_at: float, first_call_at: float
) -> None:
    """Throttled from ``first_call_at`` until the window reopens at ``window_ends_at`` (seconds)."""
    clock.now += first_call_at

    def quota(elapsed: float, attempt: int) -> str:
        if first_call_at + elapsed < window_ends_at:
            raise throttled()
        return "answered"

    outcome, attempts = run(RetryPolicy(), clock, quota)
    assert outcome == "answered"
    assert first_call_at + attempts[-1] >= window_ends_at


@pytest.mark.parametrize(
    ("error", "attempts_made", "longest_wait"),
    [
        (TransientCloudError("busy", code="ServiceUnavailable", http_status=503), 8, 20.0),
        (CloudTimeoutError("timed out", code="Timeout"), 8, 20.0),
        (TransientCloudError("busy", code="InternalError", http_status=500), 8, 20.0),
    ],
)
def test_server_errors_and_timeouts_keep_the_short_back_off(
    clock: Clock, error: Exception, attempts_made: int, longest_wait: float
) -> None:
    outcome, attempts = run(RetryPolicy(), clock, always(error))
    assert outcome is error and len(attempts) == attempts_made
    waits = [b - a for a, b in itertools.pairwise(attempts)]
    assert all(0 <= w <= longest_wait for w in waits)
    assert attempts[-1] < 8 * 20.0  # far below the throttling budget per wait


def test_throttling_does_not_use_up_the_server_error_attempts(clock: Clock) -> None:
    """Six throttled answers, then five 503s, then success: each class counts its own attempts."""
    answers = [throttled()] * 6 + [TransientCloudError("busy", code="ServiceUnavailable")] * 5 + ["ok"]

    def scripted(elapsed: float, attempt: int) -> str:
        answer = answers[attempt - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    outcome, attempts = run(RetryPolicy(max_attempts=6), clock, scripted)
    assert outcome == "ok" and len(attempts) == 12


def test_permanent_errors_are_not_retried(clock: Clock) -> None:
    error = PermanentCloudError("no", code="InvalidParameter", http_status=400)
    outcome, attempts = run(RetryPolicy(), clock, always(error))
    assert outcome is error and attempts == [0.0]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (throttled(retry_after=7.0), 7.0),  # a retry-after on throttling is honoured
        (throttled(retry_after=45.0), 30.0),  # capped by throttle_max_backoff
        (TransientCloudError("busy", code="ServiceUnavailable", retry_after=3.0), 3.0),
        (TransientCloudError("busy", code="ServiceUnavailable", retry_after=99.0), 20.0),  # max_backoff
    ],
)
def test_retry_after_replaces_the_computed_wait(error: Exception, expected: float) -> None:
    assert RetryPolicy().backoff(error, attempt=1) == expected


def test_no_wait_runs_past_the_budget(clock: Clock) -> None:
    """A retry-after longer than what is left of the budget is cut to the budget's end."""
    policy = RetryPolicy(throttle_max_total_seconds=10.0, throttle_max_backoff=60.0)
    outcome, attempts = run(policy, clock, always(throttled(retry_after=8.0)))
    assert isinstance(outcome, ThrottlingError)
    assert attempts == [0.0, 8.0, 10.0]


@pytest.mark.parametrize(
    ("settings", "field", "value"),
    [
        ({"throttle_max_total_seconds": 5}, "throttle_max_total_seconds", 5.0),
        ({"throttle_max_attempts": "7"}, "throttle_max_attempts", 7),
        ({"initial_backoff": 0.05, "max_attempts": 3}, "max_attempts", 3),
    ],
)
def test_settings_from_a_connection_extra(settings: dict[str, Any], field: str, value: Any) -> None:
    policy = RetryPolicy.from_settings(settings)
    assert getattr(policy, field) == value
    untouched = RetryPolicy.from_settings(settings, RetryPolicy(max_total_seconds=60.0))
    assert untouched.max_total_seconds == 60.0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"throttle_wait": 5}, "unknown retry setting"),
        ({"max_attempts": 2.5}, "max_attempts must be an integer"),
        ({"throttle_max_backoff": "soon"}, "throttle_max_backoff must be a number"),
        ({"throttle_max_total_seconds": 0}, "throttle_max_total_seconds must be positive"),
        ({"max_attempts": True}, "max_attempts must be an integer"),
    ],
)
def test_bad_settings_are_refused_with_their_name(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RetryPolicy.from_settings(settings)
