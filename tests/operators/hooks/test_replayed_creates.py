"""Creates answered from a ClientToken replay whose resources were released: checked, never trusted.

The sandbox, like an idempotent API may, answers a ClientToken it has seen with the first result even
after those resources were deleted. Each hook reads back what it was answered and creates again under
a new token (``#gen<n>``) instead of reporting resources that do not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from include.errors import PermanentCloudError
from operators.hooks.slb import SlbHook
from operators.utils.replays import MAX_REPLAY_GENERATIONS, REPLAY_GONE_CODE
from tests.fixtures.building_blocks import FAST_RETRY
from tests.operators.builders import VPC, make_hook, security_group, spec


def _fast(hook: Any) -> Any:
    hook.replay_check_interval = 0.05
    return hook


def _live_ids(sandbox: Any) -> set[str]:
    return {i["instance_id"] for i in sandbox.state()["ecs"]["instances"]}


def _run_calls(sandbox: Any, since: int, action: str) -> list[dict[str, Any]]:
    return [c for c in sandbox.calls(since)["calls"] if c["action"] == action and c["status"] == 200]


def test_a_cleared_run_after_release_creates_new_instances(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = _fast(make_hook(audit_store, task_context))
    sg = security_group(hook)
    first = hook.ensure_instances(spec(sg, 2))
    hook.delete_instances(first.instance_ids)
    assert _live_ids(cloud_env) == set()
    mark = cloud_env.calls()["next"]

    again = hook.ensure_instances(spec(sg, 2))  # same task identity, so the same first token
    assert len(again.created_ids) == 2 and set(again.created_ids).isdisjoint(first.instance_ids)
    assert _live_ids(cloud_env) == set(again.instance_ids)
    runs = _run_calls(cloud_env, mark, "RunInstances")
    assert len(runs) == 2 and runs[0]["params"]["ClientToken"] != runs[1]["params"]["ClientToken"]
    assert [r.action for r in audit_store.list()].count("RunInstances") == 3


def test_a_partly_released_replay_keeps_the_live_instance(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = _fast(make_hook(audit_store, task_context))
    sg = security_group(hook)
    first = hook.run_instances_checked(spec(sg, 2), 2, "test-intent")
    hook.delete_instances(first[:1])
    again = hook.run_instances_checked(spec(sg, 2), 2, "test-intent")
    assert first[1] in again and first[0] not in again and len(again) == 2
    assert _live_ids(cloud_env) == set(again)


def test_every_generation_gone_is_a_clear_error(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = _fast(make_hook(audit_store, task_context))
    sg = security_group(hook)
    for _ in range(MAX_REPLAY_GENERATIONS + 1):  # use up the first token and every new one
        hook.delete_instances(hook.run_instances_checked(spec(sg, 1), 1, "used-up"))
    with pytest.raises(PermanentCloudError) as info:
        hook.run_instances_checked(spec(sg, 1), 1, "used-up")
    assert info.value.code == REPLAY_GONE_CODE
    assert "no longer exist" in str(info.value) and "demo/general/cn-hangzhou-h" in str(info.value)
    assert _live_ids(cloud_env) == set()


def test_a_replayed_security_group_that_was_deleted_is_created_again(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = _fast(make_hook(audit_store, task_context))
    first = security_group(hook)
    assert hook.delete_security_group(first)
    second = security_group(hook)
    assert second != first
    assert hook.security_group_rules(second)  # the rules went onto the group that exists
    assert [g["security_group_id"] for g in cloud_env.state()["ecs"]["security_groups"]] == [second]


def test_a_replayed_load_balancer_that_was_deleted_is_created_again(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    slb = _fast(SlbHook(audit_sink=audit_store, audit_context=task_context, retry_policy=FAST_RETRY))
    args = {"cluster": "demo", "name": "api-demo", "address_type": "internet", "vpc_id": VPC}
    first = slb.ensure_load_balancer(**args)
    assert slb.delete_load_balancer(first["load_balancer_id"])
    second = slb.ensure_load_balancer(**args)
    assert second["created"] and second["load_balancer_id"] != first["load_balancer_id"]
    assert slb.describe_load_balancer(second["load_balancer_id"]).name == "api-demo"


def test_a_cleared_run_whose_security_group_was_recreated_gets_instances_under_a_new_token(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    """Same task identity, other parameters (a new group id): IdempotentParameterMismatch is not the end."""
    hook = _fast(make_hook(audit_store, task_context))
    first_sg = security_group(hook)
    first = hook.ensure_instances(spec(first_sg, 1))
    hook.delete_instances(first.instance_ids)
    assert hook.delete_security_group(first_sg)
    second_sg = security_group(hook)
    mark = cloud_env.calls()["next"]

    again = hook.ensure_instances(spec(second_sg, 1))
    assert len(again.created_ids) == 1 and again.created_ids != first.instance_ids
    live = cloud_env.state()["ecs"]["instances"]
    assert [(i["instance_id"], i["security_group_ids"]) for i in live] == [
        (again.created_ids[0], [second_sg])
    ]
    calls = [c for c in cloud_env.calls(mark)["calls"] if c["action"] == "RunInstances"]
    assert [c["error_code"] for c in calls] == ["IdempotentParameterMismatch", None]
    assert calls[0]["params"]["ClientToken"] != calls[1]["params"]["ClientToken"]
