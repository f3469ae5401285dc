"""Waiters as data (sync and async engines), trigger serialization and async runs."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from include.errors import PermanentCloudError, ThrottlingError, WaiterFailureError, WaiterTimeoutError
from operators.triggers.base import YunfleetWaiterTrigger
from operators.triggers.ecs import EcsInstancesRunningTrigger
from operators.triggers.kubernetes import KubernetesApiServerReadyTrigger, KubernetesNodesReadyTrigger
from operators.waiters import async_wait, evaluate, load_waiter, wait
from operators.waiters.base import search
from tests.operators.test_ecs_hook import make_hook, security_group, spec

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


TRIGGERS = [
    EcsInstancesRunningTrigger(
        instance_ids=["i-1", "i-2"],
        alibaba_cloud_conn_id="c1",
        region_id="cn-hangzhou",
        poll_interval=2,
        max_attempts=7,
    ),
    KubernetesApiServerReadyTrigger(cluster="demo", poll_interval=3, max_attempts=9),
    KubernetesNodesReadyTrigger(
        cluster="demo", count=3, label_selector="yunfleet.io/node-pool=general", max_attempts=4
    ),
    YunfleetWaiterTrigger(
        product="slb", waiter_name="backends_healthy", waiter_args={"load_balancer_id": "lb-1"}
    ),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: type(t).__name__)
def test_trigger_serialize_round_trip(trigger: YunfleetWaiterTrigger) -> None:
    path, kwargs = trigger.serialize()
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert cls is type(trigger) and module.startswith("operators.triggers.")
    clone = cls(**kwargs)
    assert clone.serialize() == (path, kwargs)
    assert (clone.waiter_name, clone.waiter_args, clone.hook_params) == (
        trigger.waiter_name,
        trigger.waiter_args,
        trigger.hook_params,
    )
    import json

    json.dumps(kwargs)  # storable as trigger kwargs


async def test_ecs_trigger_runs_against_the_sandbox(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = make_hook(audit_store, task_context)
    ids = hook.ensure_instances(spec(security_group(hook), 2)).instance_ids
    trigger = EcsInstancesRunningTrigger(instance_ids=ids, poll_interval=0.2, max_attempts=150)
    event = await trigger.run().__anext__()
    assert event.payload["status"] == "success"
    assert {i["Status"] for i in event.payload["result"]["Instances"]} == {"Running"}


async def test_ecs_trigger_reports_failure_as_an_event(cloud_env: Any) -> None:
    trigger = EcsInstancesRunningTrigger(
        instance_ids=["i-doesnotexist0001"], poll_interval=0.01, max_attempts=3
    )
    event = await trigger.run().__anext__()
    assert event.payload["status"] == "timeout" and "gave up after 3 attempts" in event.payload["message"]
