"""EcsHook against the sandbox through the official ECS SDK."""

from __future__ import annotations

from typing import Any

import pytest

from include.errors import IdempotencyMismatchError, PermanentCloudError
from operators.hooks.ecs import SecurityRule
from tests.fixtures.building_blocks import mutating_calls
from tests.operators.builders import VPC, live_instances, make_hook, security_group, spec


def test_ensure_instances_creates_the_shortfall_once(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    first = hook.ensure_instances(spec(sg, 3))
    assert len(first.created_ids) == 3 and sorted(first.instance_ids) == sorted(first.created_ids)
    mark = cloud_env.calls()["next"]
    again = hook.ensure_instances(spec(sg, 3))
    assert again.created_ids == [] and again.instance_ids == first.instance_ids
    assert mutating_calls(cloud_env, mark) == []
    grown = hook.ensure_instances(spec(sg, 5))
    assert len(grown.created_ids) == 2 and set(first.instance_ids) <= set(grown.instance_ids)
    assert len(live_instances(cloud_env)) == 5
    listed = hook.list_cluster_instances("demo", node_pool="general")
    assert sorted(i.instance_id for i in listed) == grown.instance_ids
    assert all(i.tags["yunfleet:role"] == "worker" and i.zone_id == "cn-hangzhou-h" for i in listed)


def test_audit_rows_for_each_mutating_call(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    hook.ensure_instances(spec(sg, 2, user_data="I2Nsb3VkLWNvbmZpZwo="))
    rows = audit_store.list()
    assert [r.action for r in rows] == ["CreateSecurityGroup", "AuthorizeSecurityGroup", "RunInstances"]
    run = rows[-1]
    assert run.outcome == "ok" and run.ticket_id == "OPS-1234" and run.actor == "alice"
    assert run.dag_id == "provision_cluster" and run.task_id == "ensure" and run.try_number == 1
    assert run.cluster == "demo" and run.product == "ecs" and run.cloud_request_id
    assert run.request["UserData"]["sha256"] and "I2Nsb3Vk" not in str(run.request)
    assert run.request["ClientToken"].startswith("yf-")


def test_describe_batches_100_ids_per_call(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    made = hook.ensure_instances(spec(sg, 3)).instance_ids
    ids = made + [f"i-doesnotexist{n:05d}" for n in range(200)]
    mark = cloud_env.calls()["next"]
    statuses = hook.get_instance_statuses(ids)
    assert set(statuses) == set(made)
    describes = [c for c in cloud_env.calls(mark)["calls"] if c["action"] == "DescribeInstances"]
    assert len(describes) == 3


def test_delete_instances_is_idempotent(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    ids = hook.ensure_instances(spec(sg, 2)).instance_ids
    assert sorted(hook.delete_instances(ids, cluster="demo")) == sorted(ids)
    hook.wait_for("instances_deleted", instance_ids=ids, poll_interval=0.2, max_attempts=100)
    mark = cloud_env.calls()["next"]
    assert hook.delete_instances(ids, cluster="demo") == []
    assert mutating_calls(cloud_env, mark) == []


def test_instances_reach_running_through_the_waiter(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = make_hook(audit_store, task_context)
    ids = hook.ensure_instances(spec(security_group(hook), 2)).instance_ids
    result = hook.wait_for("instances_running", instance_ids=ids, poll_interval=0.2, max_attempts=150)
    assert {i["Status"] for i in result["Instances"]} == {"Running"}


def test_security_group_converges_without_calls(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = make_hook(audit_store, task_context)
    rules = [
        SecurityRule("TCP", "6443/6443", source_cidr_ip="198.18.0.0/15"),
        SecurityRule("TCP", "10250/10250", source_cidr_ip="198.18.0.0/15"),
    ]
    first = hook.ensure_security_group(cluster="demo", name="demo-sg", vpc_id=VPC, rules=rules)
    assert first["created"] and first["rules_added"] == 2
    mark = cloud_env.calls()["next"]
    again = hook.ensure_security_group(cluster="demo", name="demo-sg", vpc_id=VPC, rules=rules)
    assert again == {"security_group_id": first["security_group_id"], "created": False, "rules_added": 0}
    assert mutating_calls(cloud_env, mark) == []


def test_idempotent_parameter_mismatch_fails_at_once(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    hook.run_instances(spec(sg, 1), 1, client_token="yf-fixed-token")
    mark = cloud_env.calls()["next"]
    with pytest.raises(IdempotencyMismatchError, match="ClientToken was already used") as info:
        hook.run_instances(spec(sg, 1, instance_type="ecs.c7.large"), 1, client_token="yf-fixed-token")
    assert info.value.code == "IdempotentParameterMismatch" and info.value.request_id
    assert len([c for c in cloud_env.calls(mark)["calls"] if c["action"] == "RunInstances"]) == 1
    assert audit_store.list()[-1].outcome == "error"
    assert audit_store.list()[-1].error_code == "IdempotentParameterMismatch"


def test_permanent_error_names_the_problem(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    mark = cloud_env.calls()["next"]
    with pytest.raises(PermanentCloudError, match=r"InvalidImageId\.NotFound"):
        hook.ensure_instances(spec(sg, 1, image_id="no-such-image"))
    assert len([c for c in cloud_env.calls(mark)["calls"] if c["action"] == "RunInstances"]) == 1


def test_sold_out_zone_is_permanent_with_hint(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    cloud_env.set_zone("cn-hangzhou-h", stock={"ecs.g7.large": 0})
    with pytest.raises(PermanentCloudError, match="pick another zone"):
        hook.ensure_instances(spec(sg, 1))
    assert hook.available_stock("cn-hangzhou-h", "ecs.g7.large") in ("WithoutStock", "ClosedWithoutStock")


def test_dry_run_makes_no_mutating_call(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    real = make_hook(audit_store, task_context)
    sg = security_group(real)
    mark = cloud_env.calls()["next"]
    before = audit_store.max_id()
    dry = make_hook(audit_store, task_context, dry_run=True)
    result = dry.ensure_instances(spec(sg, 130))
    assert result.created_ids == []
    assert mutating_calls(cloud_env, mark) == []
    rows = audit_store.list(since_id=before)
    assert [(r.action, r.outcome) for r in rows] == [("RunInstances", "dry_run")] * 2
    assert [r.request["Amount"] for r in rows] == [100, 30]


def test_large_pool_is_created_in_batches_and_listed_in_pages(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    cloud_env.set_zone("cn-hangzhou-h", stock={"ecs.c7.large": 300})
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    mark = cloud_env.calls()["next"]
    result = hook.ensure_instances(spec(sg, 105, instance_type="ecs.c7.large"))
    runs = [c for c in cloud_env.calls(mark)["calls"] if c["action"] == "RunInstances"]
    assert sorted(int(c["params"]["Amount"]) for c in runs) == [5, 100]
    assert len(result.created_ids) == 105 and len(set(result.created_ids)) == 105
    mark = cloud_env.calls()["next"]
    listed = hook.list_cluster_instances("demo", node_pool="general")
    pages = [c for c in cloud_env.calls(mark)["calls"] if c["action"] == "DescribeInstances"]
    assert len(listed) == 105 and len(pages) == 2
    assert [str(p["params"]["PageNumber"]) for p in pages] == ["1", "2"]


def test_delete_security_group_operator(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    from operators.ecs import EcsDeleteSecurityGroupOperator

    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    op = EcsDeleteSecurityGroupOperator(
        task_id="sg_gone", cluster="demo", vpc_id=VPC, yunfleet_db_conn_id="yunfleet_db"
    )
    assert op.execute({}) == {"deleted": [sg]}
    assert hook.find_security_group("demo", "demo-sg", VPC) is None
    assert op.execute({}) == {"deleted": []}
    assert hook.delete_security_group(sg) is False


def test_delete_instances_and_wait_one_call_per_batch(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    workers = hook.ensure_instances(spec(sg, 2)).instance_ids
    control_plane = hook.ensure_instances(spec(sg, 1, role="control-plane", node_pool=None)).instance_ids
    mark = cloud_env.calls()["next"]
    deleted = hook.delete_instances_and_wait(
        [workers, [*control_plane, "i-gone000000000001"]], cluster="demo", poll_interval=0.1, max_attempts=300
    )
    assert sorted(deleted) == sorted(workers + control_plane)
    assert [c["action"] for c in mutating_calls(cloud_env, mark)] == ["DeleteInstances", "DeleteInstances"]
    assert hook.get_instance_statuses(deleted) == {}
