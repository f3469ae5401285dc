"""Builders shared by the building-block tests: hooks, specs and operators against the sandbox."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from kubernetes import client

from include.fleet.contract import TAG_CLUSTER
from operators.ecs import EcsEnsureInstancesOperator, EcsEnsureSecurityGroupOperator
from operators.hooks.ecs import EcsHook, InstanceSpec, SecurityRule
from operators.hooks.kubernetes import FleetKubernetesHook
from operators.hooks.registry import YunfleetRegistryHook
from tests.fixtures.building_blocks import FAST_RETRY

VPC = "vpc-sandbox0000000000001"
VSWITCH_H = "vsw-sandbox00000000000h1"
IMAGE = "ubuntu_22_04_x64_20G_alibase_20240130.vhd"


def make_hook(audit_store: Any, task_context: Any, **kwargs: Any) -> EcsHook:
    return EcsHook(audit_sink=audit_store, audit_context=task_context, retry_policy=FAST_RETRY, **kwargs)


def security_group(hook: EcsHook, cluster: str = "demo") -> str:
    result = hook.ensure_security_group(
        cluster=cluster,
        name=f"{cluster}-sg",
        vpc_id=VPC,
        rules=[SecurityRule("TCP", "6443/6443", source_cidr_ip="198.18.0.0/15")],
    )
    return str(result["security_group_id"])


def spec(sg: str, count: int, **overrides: Any) -> InstanceSpec:
    values: dict[str, Any] = {
        "cluster": "demo",
        "role": "worker",
        "node_pool": "general",
        "count": count,
        "zone_id": "cn-hangzhou-h",
        "vswitch_id": VSWITCH_H,
        "instance_type": "ecs.g7.large",
        "image_id": IMAGE,
        "security_group_id": sg,
    }
    values.update(overrides)
    return InstanceSpec(**values)


def live_instances(sandbox: Any, cluster: str = "demo") -> list[dict[str, Any]]:
    ecs = sandbox.state()["ecs"]["instances"]
    items = ecs.values() if isinstance(ecs, dict) else ecs
    return [i for i in items if i.get("tags", {}).get(TAG_CLUSTER) == cluster]


def kube(audit_store: Any, task_context: Any, **kw: Any) -> FleetKubernetesHook:
    return FleetKubernetesHook("demo", audit_sink=audit_store, audit_context=task_context, **kw)


def create_web(
    hook: FleetKubernetesHook, replicas: int = 3, cpu: str = "250m", pdb_min: int | None = None
) -> None:
    labels = {"app": "web"}
    container = client.V1Container(
        name="web",
        image="nginx",
        resources=client.V1ResourceRequirements(requests={"cpu": cpu, "memory": "128Mi"}),
    )
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web", namespace="default"),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(containers=[container])
            ),
        ),
    )
    hook.apps_v1_client.create_namespaced_deployment("default", deployment)
    if pdb_min is not None:
        pdb = client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name="web", namespace="default"),
            spec=client.V1PodDisruptionBudgetSpec(
                min_available=pdb_min, selector=client.V1LabelSelector(match_labels=labels)
            ),
        )
        client.PolicyV1Api(hook.api_client).create_namespaced_pod_disruption_budget("default", pdb)


def running_web_pods(hook: FleetKubernetesHook, count: int) -> list[Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = [p for p in hook.list_pods("default", label_selector="app=web") if p.phase == "Running"]
        if len(pods) >= count:
            return pods
        time.sleep(0.2)
    raise AssertionError(f"web pods not running: {hook.list_pods('default')}")


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
