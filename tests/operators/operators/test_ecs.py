"""ECS operators executed with a task context against the sandbox."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from include.errors import ConfigurationError
from operators.ecs import EcsDeleteInstancesOperator
from operators.triggers.ecs import EcsInstancesRunningTrigger
from tests.fixtures.building_blocks import mutating_calls
from tests.fixtures.fleet_cluster import cloud_init
from tests.operators.builders import audit_rows, context, sg_operator, workers_operator


def test_ensure_instances_operator_is_idempotent_across_tries(cloud_env: Any) -> None:
    sg = sg_operator().execute(context("sg"))["security_group_id"]
    first = workers_operator(sg).execute(context("workers"))
    json.dumps(first)
    assert len(first["instance_ids"]) == 2 and first["created_ids"] == first["instance_ids"]
    mark = cloud_env.calls()["next"]
    retry = workers_operator(sg).execute(context("workers", try_number=2))
    assert retry == {"instance_ids": first["instance_ids"], "created_ids": []}
    assert mutating_calls(cloud_env, mark) == []
    run = [r for r in audit_rows() if r.action == "RunInstances"]
    assert len(run) == 1 and (run[0].ticket_id, run[0].actor, run[0].task_id) == ("OPS-77", "bob", "workers")
    deleted = EcsDeleteInstancesOperator(task_id="gone", cluster="demo", poll_interval=0.2).execute(
        context("gone")
    )
    assert sorted(deleted["deleted_ids"]) == sorted(first["instance_ids"])


def test_ensure_instances_operator_defers_to_the_trigger(cloud_env: Any) -> None:
    sg = sg_operator().execute(context("sg"))["security_group_id"]
    op = workers_operator(sg, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context("workers"))
    trigger = deferred.value.trigger
    assert (
        isinstance(trigger, EcsInstancesRunningTrigger) and deferred.value.method_name == "execute_complete"
    )
    result = deferred.value.kwargs["result"]
    assert sorted(trigger.instance_ids) == sorted(result["instance_ids"])
    assert op.execute_complete(context("workers"), {"status": "success"}, result) == result
    with pytest.raises(Exception, match="did not reach Running"):
        op.execute_complete(context("workers"), {"status": "failure", "message": "stopped"}, result)


def test_bad_input_fails_before_any_call(cloud_env: Any) -> None:
    mark = cloud_env.calls()["next"]
    with pytest.raises(ConfigurationError, match="count must be an integer"):
        workers_operator("sg-x", count="many").execute(context())
    with pytest.raises(ConfigurationError, match="role must be one of"):
        workers_operator("sg-x", role="boss").execute(context())
    with pytest.raises(ConfigurationError, match="dry_run must be true or false"):
        workers_operator("sg-x", dry_run="perhaps").execute(context())
    assert cloud_env.calls(mark)["calls"] == []


def test_dry_run_operator_makes_no_mutating_call(cloud_env: Any) -> None:
    sg = sg_operator().execute(context("sg"))["security_group_id"]
    mark = cloud_env.calls()["next"]
    result = workers_operator(sg, dry_run="True").execute(context("workers"))
    assert result == {"instance_ids": [], "created_ids": []}
    assert mutating_calls(cloud_env, mark) == []
    assert audit_rows()[-1].outcome == "dry_run" and audit_rows()[-1].ticket_id == "OPS-77"


def test_secrets_never_reach_logs_xcom_or_audit(
    cloud_env: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    admin_token = "adm1n-t0ken-7f3a9c2e5b1d4f6a8c0e"
    user_data = cloud_init(
        {
            "cluster": "demo",
            "role": "control-plane",
            "node_pool": None,
            "kubernetes_version": "1.31",
            "join_token": "abcdef.0123456789abcdef",
            "admin_token": admin_token,
        }
    )
    caplog.set_level(logging.DEBUG)
    sg = sg_operator().execute(context("sg"))["security_group_id"]
    result = workers_operator(sg, role="control-plane", node_pool=None, count=1, user_data=user_data).execute(
        context("cp")
    )
    out, err = capfd.readouterr()
    haystacks = {
        "logs": caplog.text + out + err,
        "xcom": json.dumps(result),
        "audit": json.dumps([r.request for r in audit_rows()])
        + " ".join(str(r.target) for r in audit_rows()),
    }
    for where, text in haystacks.items():
        for secret in (admin_token, "0123456789abcdef", "sandbox-secret", user_data):
            assert secret not in text, f"{secret[:8]}... leaked into {where}"
    assert audit_rows()[-1].request["UserData"]["bytes"] == len(user_data)
