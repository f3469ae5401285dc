"""Waiters as data: acceptors, paths, and the sync and async engines."""

from __future__ import annotations

from typing import Any

import pytest

from include.errors import PermanentCloudError, ThrottlingError, WaiterFailureError, WaiterTimeoutError
from operators.waiters import async_wait, evaluate, load_waiter, wait
from operators.waiters.base import search

RUNNING = load_waiter("ecs", "instances_running")


@pytest.mark.parametrize(
    ("statuses", "state"),
    [
        (["Running", "Running"], "success"),
        (["Running", "Pending"], None),
        (["Starting", "Stopped"], "failure"),
        (["Missing"], None),
        ([], None),
    ],
)
def test_instances_running_acceptors(statuses: list[str], state: str | None) -> None:
    result = {"Instances": [{"InstanceId": f"i-{n}", "Status": s} for n, s in enumerate(statuses)]}
    assert evaluate(RUNNING, result) == state


def test_search_paths() -> None:
    data = {"A": {"B": [{"C": 1}, {"C": 2}, {"D": 3}]}, "E": True}
    assert search("A.B[].C", data) == [1, 2] and search("E", data) is True and search("X.Y", data) is None


def test_sync_wait_retries_then_succeeds_and_counts_attempts() -> None:
    answers = iter([{"Instances": [{"Status": "Pending"}]}, {"Instances": [{"Status": "Running"}]}])
    sleeps: list[float] = []
    outcome = wait(RUNNING, lambda: next(answers), poll_interval=0.5, sleep=sleeps.append)
    assert (outcome.state, outcome.attempts, sleeps) == ("success", 2, [0.5])


def test_sync_wait_transient_errors_do_not_end_the_wait_but_permanent_ones_do() -> None:
    answers: list[Any] = [ThrottlingError("t", code="Throttling"), {"Instances": [{"Status": "Running"}]}]

    def operation() -> Any:
        item = answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert wait(RUNNING, operation, sleep=lambda _: None).attempts == 2

    def broken() -> Any:
        raise PermanentCloudError("denied", code="Forbidden.RAM")

    with pytest.raises(PermanentCloudError):
        wait(RUNNING, broken, sleep=lambda _: None)


def test_sync_wait_failure_and_timeout() -> None:
    with pytest.raises(WaiterFailureError, match="failure state"):
        wait(RUNNING, lambda: {"Instances": [{"Status": "Stopped"}]}, sleep=lambda _: None)
    with pytest.raises(WaiterTimeoutError, match="gave up after 3 attempts"):
        wait(RUNNING, lambda: {"Instances": [{"Status": "Pending"}]}, max_attempts=3, sleep=lambda _: None)


async def test_async_wait_same_semantics() -> None:
    answers = iter([{"Instances": [{"Status": "Pending"}]}, {"Instances": [{"Status": "Running"}]}])

    async def operation() -> Any:
        return next(answers)

    outcome = await async_wait(RUNNING, operation, poll_interval=0.01)
    assert (outcome.state, outcome.attempts) == ("success", 2)

    async def pending() -> Any:
        return {"Instances": [{"Status": "Pending"}]}

    with pytest.raises(WaiterTimeoutError):
        await async_wait(RUNNING, pending, poll_interval=0.001, max_attempts=2)


def test_unknown_waiter_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown ecs waiter 'nope'"):
        load_waiter("ecs", "nope")
