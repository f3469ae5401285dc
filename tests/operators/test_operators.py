"""Operators and sensors executed with a task context against the sandbox."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from include.errors import ConfigurationError, WaiterTimeoutError
from operators.dns import DnsReconcileRecordsOperator
from operators.ecs import (
    EcsDeleteInstancesOperator,
    EcsEnsureInstancesOperator,
    EcsEnsureSecurityGroupOperator,
)
from operators.hooks.registry import YunfleetRegistryHook
from operators.kubernetes import KubernetesCordonDrainNodeOperator, KubernetesScaleDeploymentOperator
from operators.sensors.ecs import EcsInstancesRunningSensor
from operators.sensors.kubernetes import KubernetesApiServerReadySensor, KubernetesNodesReadySensor
from operators.slb import SlbEnsureLoadBalancerOperator, SlbSetBackendWeightsOperator
from operators.triggers.ecs import EcsInstancesRunningTrigger
from tests.fixtures.building_blocks import SANDBOX_DOMAIN, mutating_calls
from tests.fixtures.fleet_cluster import FleetCluster, cloud_init
from tests.operators.test_kubernetes_hook import create_web, kube, running_web_pods

VPC = "vpc-sandbox0000000000001"


def context(
    task_id: str = "task", try_number: int = 1, map_index: int = -1, ticket: str = "OPS-77"
) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="provision_cluster",
        run_id="manual__ops77",
        task_id=task_id,
        map_index=map_index,
        try_number=try_number,
    )
    dag_run = SimpleNamespace(
        dag_id="provision_cluster",
        run_id="manual__ops77",
        conf={"ticket_id": ticket},
        triggering_user_name="bob",
    )
    return {"ti": ti, "dag_run": dag_run, "params": {"ticket_id": ticket}}


def audit_rows() -> list[Any]:
    return YunfleetRegistryHook().audit_store.list()


def sg_operator(**kw: Any) -> EcsEnsureSecurityGroupOperator:
    return EcsEnsureSecurityGroupOperator(
        task_id="sg",
        cluster="demo",
        vpc_id=VPC,
        rules=[{"ip_protocol": "TCP", "port_range": "6443/6443", "source_cidr_ip": "198.18.0.0/15"}],
        **kw,
    )


def workers_operator(sg: str, **kw: Any) -> EcsEnsureInstancesOperator:
    values: dict[str, Any] = {
        "task_id": "workers",
        "cluster": "demo",
        "node_pool": "general",
        "count": "2",
        "zone_id": "cn-hangzhou-h",
        "vswitch_id": "vsw-sandbox00000000000h1",
        "instance_type": "ecs.g7.large",
        "image_id": "ubuntu_22_04_x64_20G_alibase_20240130.vhd",
        "security_group_id": sg,
        "poll_interval": 0.2,
        "max_attempts": 150,
    }
    values.update(kw)
    return EcsEnsureInstancesOperator(**values)


@pytest.mark.parametrize(
    "operator",
    [
        workers_operator("sg-1"),
        sg_operator(),
        EcsDeleteInstancesOperator(task_id="d", cluster="demo"),
        SlbEnsureLoadBalancerOperator(task_id="s", cluster="demo"),
        SlbSetBackendWeightsOperator(task_id="w", load_balancer_id="lb", weights={}),
        DnsReconcileRecordsOperator(task_id="r", domain="d", records=[], owner="o"),
        KubernetesScaleDeploymentOperator(
            task_id="k", cluster="c", namespace="n", deployment="d", replicas=1
        ),
        KubernetesCordonDrainNodeOperator(task_id="c", cluster="c", node="n"),
        EcsInstancesRunningSensor(task_id="e", instance_ids=["i-1"]),
        KubernetesNodesReadySensor(task_id="n", cluster="c", count=1),
    ],
    ids=lambda op: type(op).__name__,
)
def test_template_fields_exist(operator: Any) -> None:
    assert operator.template_fields
    for name in operator.template_fields:
        assert hasattr(operator, name), name


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


def test_slb_operators(cloud_env: Any) -> None:
    sg = sg_operator().execute(context("sg"))["security_group_id"]
    ids = workers_operator(sg).execute(context("workers"))["instance_ids"]
    lb = SlbEnsureLoadBalancerOperator(
        task_id="lb",
        cluster="demo",
        vswitch_id="vsw-sandbox00000000000h1",
        vpc_id=VPC,
        backends=ids,
    ).execute(context("lb"))
    json.dumps(lb)
    assert lb["created"] and lb["listener"]["created"] and sorted(lb["backends"]["added"]) == sorted(ids)
    weights = SlbSetBackendWeightsOperator(
        task_id="w", load_balancer_id=lb["load_balancer_id"], weights={ids[0]: 0}
    ).execute(context("w"))
    assert weights["reweighted"] == [ids[0]] and weights["weights"][ids[0]] == 0
    # nothing listens on 6443 on plain workers: the health check says so and the wait gives up
    with pytest.raises(WaiterTimeoutError, match="backends_healthy"):
        SlbEnsureLoadBalancerOperator(
            task_id="lb",
            cluster="demo",
            backends=ids,
            wait_for_healthy=True,
            poll_interval=0.05,
            max_attempts=3,
        ).execute(context("lb"))


def test_slb_waits_for_a_healthy_api_server(fleet_cluster: FleetCluster) -> None:
    lb = SlbEnsureLoadBalancerOperator(
        task_id="api_lb",
        cluster="demo",
        vswitch_id="vsw-sandbox00000000000h1",
        vpc_id=VPC,
        backends=fleet_cluster.control_plane_ids,
        wait_for_healthy=True,
        poll_interval=0.2,
        max_attempts=150,
    ).execute(context("api_lb"))
    hook = SlbEnsureLoadBalancerOperator(task_id="x", cluster="demo").hook
    assert hook.backend_health(lb["load_balancer_id"]) == {
        i: "normal" for i in fleet_cluster.control_plane_ids
    }


def test_dns_operator_records_ownership(cloud_env: Any) -> None:
    op = DnsReconcileRecordsOperator(
        task_id="dns",
        domain=SANDBOX_DOMAIN,
        owner="yunfleet/demo",
        cluster="demo",
        records=[{"rr": "api.demo", "type": "A", "values": ["203.0.113.20"]}],
    )
    result = op.execute(context("dns"))
    assert result["api.demo"]["created"] == ["203.0.113.20"]
    owned = YunfleetRegistryHook().registry.list_dns_ownership(cluster="demo")
    assert [(o.rr, o.value, o.owner) for o in owned] == [("api.demo", "203.0.113.20", "yunfleet/demo")]
    assert {r.action for r in audit_rows()} == {"AddDomainRecord"} and all(
        r.cluster == "demo" for r in audit_rows()
    )


def test_sensors_poke(cloud_env: Any) -> None:
    sg = sg_operator().execute(context("sg"))["security_group_id"]
    ids = workers_operator(sg, wait_for_completion=False).execute(context("workers"))["instance_ids"]
    sensor = EcsInstancesRunningSensor(task_id="running", instance_ids=ids)
    import time

    deadline = time.monotonic() + 30
    while not sensor.poke(context()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sensor.poke(context())
    deferrable = EcsInstancesRunningSensor(task_id="running", instance_ids=ids, deferrable=True)
    with pytest.raises(TaskDeferred):
        deferrable.execute(context())


def test_kubernetes_operators(fleet_cluster: FleetCluster, audit_store: Any, task_context: Any) -> None:
    hook = kube(audit_store, task_context)
    create_web(hook, replicas=1)
    assert KubernetesApiServerReadySensor(task_id="api", cluster="demo").poke(context())
    assert KubernetesNodesReadySensor(task_id="nodes", cluster="demo", count=3).poke(context())
    general = "yunfleet.io/node-pool=general"
    assert KubernetesNodesReadySensor(task_id="n", cluster="demo", count=3, label_selector=general).poke(
        context()
    )
    assert not KubernetesNodesReadySensor(task_id="n", cluster="demo", count=4, label_selector=general).poke(
        context()
    )
    scaled = KubernetesScaleDeploymentOperator(
        task_id="scale", cluster="demo", namespace="default", deployment="web", replicas="3"
    ).execute(context("scale"))
    assert scaled["changed"] and scaled["replicas"] == 3
    node = running_web_pods(hook, 3)[0].node_name
    drained = KubernetesCordonDrainNodeOperator(
        task_id="drain", cluster="demo", node=node, drain_timeout=30, poll_interval=0.2
    ).execute(context("drain"))
    assert drained["drained"] and json.dumps(drained)
    rows = [r for r in audit_rows() if r.product == "k8s"]
    assert {r.action for r in rows} >= {"ScaleDeployment", "CordonNode", "EvictPod"}
    assert all(r.ticket_id == "OPS-77" and r.actor == "bob" for r in rows)
