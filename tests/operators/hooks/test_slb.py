"""SlbHook against the sandbox through the official SLB SDK."""

from __future__ import annotations

from typing import Any

import pytest

from include.errors import ConfigurationError, PermanentCloudError
from operators.hooks.slb import SlbHook
from tests.fixtures.building_blocks import FAST_RETRY, mutating_calls
from tests.operators.builders import VPC, make_hook, security_group, spec


def running_instances(audit_store: Any, task_context: Any, count: int) -> list[str]:
    ecs = make_hook(audit_store, task_context)
    ids = ecs.ensure_instances(spec(security_group(ecs), count)).instance_ids
    ecs.wait_for("instances_running", instance_ids=ids, poll_interval=0.2, max_attempts=150)
    return ids


def slb_hook(audit_store: Any, task_context: Any, **kw: Any) -> SlbHook:
    return SlbHook(audit_sink=audit_store, audit_context=task_context, retry_policy=FAST_RETRY, **kw)


def ensure_lb(hook: SlbHook) -> dict[str, Any]:
    return hook.ensure_load_balancer(
        cluster="demo",
        name="demo-apiserver",
        vswitch_id="vsw-sandbox00000000000h1",
        vpc_id="vpc-sandbox0000000000001",
    )


def test_load_balancer_listener_backends_converge(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    ids = running_instances(audit_store, task_context, 3)
    hook = slb_hook(audit_store, task_context)
    lb = ensure_lb(hook)
    assert lb["created"] and lb["load_balancer_id"] and lb["address"]
    listener = hook.ensure_tcp_listener(
        load_balancer_id=lb["load_balancer_id"], listener_port=6443, backend_port=6443
    )
    assert listener == {"listener_port": 6443, "created": True, "started": True}
    backends = hook.ensure_backends(lb["load_balancer_id"], {i: 100 for i in ids})
    assert sorted(backends["added"]) == sorted(ids)

    mark = cloud_env.calls()["next"]
    assert ensure_lb(hook) == {**lb, "created": False}
    assert hook.ensure_tcp_listener(
        load_balancer_id=lb["load_balancer_id"], listener_port=6443, backend_port=6443
    ) == {
        "listener_port": 6443,
        "created": False,
        "started": False,
    }
    assert hook.ensure_backends(lb["load_balancer_id"], {i: 100 for i in ids}) == {
        "added": [],
        "reweighted": [],
        "removed": [],
    }
    assert mutating_calls(cloud_env, mark) == []
    described = hook.describe_load_balancer(lb["load_balancer_id"])
    assert described.backends == {i: 100 for i in ids} and described.listener_ports == [6443]
    assert set(hook.backend_health(lb["load_balancer_id"], 6443)) == set(ids)


def test_set_backend_weights_changes_only_differences(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    ids = running_instances(audit_store, task_context, 2)
    hook = slb_hook(audit_store, task_context)
    lb_id = ensure_lb(hook)["load_balancer_id"]
    hook.ensure_backends(lb_id, {i: 100 for i in ids})
    before = audit_store.max_id()
    result = hook.set_backend_weights(lb_id, {ids[0]: 0, ids[1]: 100})
    assert result["reweighted"] == [ids[0]]
    assert hook.describe_load_balancer(lb_id).backends == {ids[0]: 0, ids[1]: 100}
    rows = audit_store.list(since_id=before)
    assert [(r.action, r.outcome, r.product) for r in rows] == [("SetBackendServers", "ok", "slb")]
    with pytest.raises(ConfigurationError, match="must be 0-100"):
        hook.set_backend_weights(lb_id, {ids[0]: 101})
    with pytest.raises(ConfigurationError, match="not backends"):
        hook.set_backend_weights(lb_id, {"i-unknown": 10})


def test_remove_others_and_delete(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    ids = running_instances(audit_store, task_context, 3)
    hook = slb_hook(audit_store, task_context)
    lb_id = ensure_lb(hook)["load_balancer_id"]
    hook.ensure_backends(lb_id, {i: 50 for i in ids})
    result = hook.ensure_backends(lb_id, {ids[0]: 50}, remove_others=True)
    assert sorted(result["removed"]) == sorted(ids[1:])
    assert hook.delete_load_balancer(lb_id) is True
    assert hook.delete_load_balancer(lb_id) is False
    assert hook.find_load_balancers(cluster="demo") == []


def test_backend_that_is_not_running_is_a_permanent_error(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = slb_hook(audit_store, task_context)
    lb_id = ensure_lb(hook)["load_balancer_id"]
    with pytest.raises(PermanentCloudError) as info:
        hook.ensure_backends(lb_id, {"i-doesnotexist000001": 100})
    assert info.value.code and info.value.request_id
    assert audit_store.list()[-1].outcome == "error"


def test_ensure_tcp_load_balancer_converges(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    ids = running_instances(audit_store, task_context, 2)
    hook = slb_hook(audit_store, task_context)
    args: dict[str, Any] = {
        "cluster": "demo",
        "name": "yunfleet-demo-apiserver",
        "listener_port": 6443,
        "backend_port": 6443,
        "vswitch_id": "vsw-sandbox00000000000h1",
        "vpc_id": VPC,
    }
    with pytest.raises(ConfigurationError, match="weight"):
        hook.ensure_tcp_load_balancer(backends={ids[0]: 101}, **args)
    assert hook.find_load_balancers(cluster="demo") == []  # refused before any create
    first = hook.ensure_tcp_load_balancer(backends={i: 100 for i in ids}, **args)
    assert first["created"] and first["address"] and first["listener"]["created"]
    assert sorted(first["backends"]["added"]) == sorted(ids)
    mark = cloud_env.calls()["next"]
    again = hook.ensure_tcp_load_balancer(backends={i: 100 for i in ids}, **args)
    assert (again["load_balancer_id"], again["address"]) == (first["load_balancer_id"], first["address"])
    assert not again["created"] and mutating_calls(cloud_env, mark) == []
