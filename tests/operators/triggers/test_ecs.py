"""EcsInstancesRunningTrigger runs its waiter against the sandbox."""

from __future__ import annotations

from typing import Any

from operators.triggers.ecs import EcsInstancesRunningTrigger
from tests.operators.builders import make_hook, security_group, spec


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
