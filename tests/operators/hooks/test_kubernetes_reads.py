"""The hook's public list reads (client models and cluster-wide pod metrics) against a simulated cluster.

``reconcile_capacity``'s observe step builds its snapshot from these: Nodes with their taints and
providerID, Pods with their owners and placement, and every pod's CPU usage in one call. They are
retried like every read (429, 5xx) and fail at once on other client errors; reads write no audit row.
"""

from __future__ import annotations

from typing import Any

import pytest

from include.errors import PermanentCloudError
from operators.hooks.kubernetes import FleetKubernetesHook
from tests.fixtures.building_blocks import alibaba_conn_json
from tests.fixtures.fleet_cluster import FleetCluster
from tests.operators.builders import create_web, kube, running_web_pods

PODS = "GET /k8s/demo/api/v1/pods"
POD_METRICS = "GET /k8s/demo/apis/metrics.k8s.io/v1beta1/pods"
FAST = {
    "max_attempts": 8,
    "initial_backoff": 0.02,
    "max_backoff": 0.2,
    "throttle_max_attempts": 20,
    "throttle_max_total_seconds": 10,
    "throttle_initial_backoff": 0.05,
    "throttle_max_backoff": 0.2,
}


def test_node_objects_carry_labels_taints_and_provider_ids(
    fleet_cluster: FleetCluster, audit_store: Any, task_context: Any
) -> None:
    hook = kube(audit_store, task_context)
    before = audit_store.max_id()
    nodes = hook.list_node_objects()
    assert len(nodes) == 4  # one control plane, three workers
    control = [n for n in nodes if "node-role.kubernetes.io/control-plane" in (n.metadata.labels or {})]
    assert len(control) == 1
    assert [(t.key, t.effect) for t in control[0].spec.taints or []] == [
        ("node-role.kubernetes.io/control-plane", "NoSchedule")
    ]
    assert all(n.spec.provider_id.startswith("alicloud://cn-hangzhou.i-") for n in nodes)
    pool = hook.list_node_objects("yunfleet.io/node-pool=general")
    assert sorted(n.metadata.name for n in pool) == sorted(
        n.name for n in hook.list_nodes("yunfleet.io/node-pool=general")
    )
    assert len(pool) == 3 and not any(n.spec.taints for n in pool)
    assert audit_store.max_id() == before  # reads are not audit rows


def test_pod_objects_and_cluster_wide_pod_metrics(
    fleet_cluster: FleetCluster, audit_store: Any, task_context: Any
) -> None:
    hook = kube(audit_store, task_context)
    create_web(hook, replicas=2, cpu="300m")
    running = running_web_pods(hook, 2)
    every = hook.list_pod_objects()
    web = hook.list_pod_objects("default", label_selector="app=web")
    assert {p.metadata.name for p in web} == {p.name for p in running}
    assert {p.metadata.name for p in web} <= {p.metadata.name for p in every}
    assert not {p.metadata.name for p in hook.list_pod_objects("kube-system")} & {p.name for p in running}
    owners = {(o.kind, o.name) for p in web for o in p.metadata.owner_references or [] if o.controller}
    assert len(owners) == 1 and next(iter(owners))[0] in ("Deployment", "ReplicaSet")
    assert all(p.spec.containers[0].resources.requests["cpu"] == "300m" for p in web)
    node = web[0].spec.node_name
    on_node = hook.list_pod_objects(node_name=node)
    assert on_node and {p.spec.node_name for p in on_node} == {node}
    usage = hook.all_pod_metrics()
    keys = {f"default/{p.metadata.name}" for p in web}
    assert keys <= set(usage)
    per_namespace = hook.pod_metrics("default")
    for key in keys:
        assert usage[key]["cpu_millicores"] >= 0
        assert usage[key]["memory_bytes"] == per_namespace[key.split("/", 1)[1]]["memory_bytes"]


def test_pods_by_phase(fleet_cluster: FleetCluster, audit_store: Any, task_context: Any) -> None:
    from kubernetes import client

    hook = kube(audit_store, task_context)
    create_web(hook, replicas=1, cpu="100m")
    (running,) = running_web_pods(hook, 1)
    huge = client.V1Pod(
        metadata=client.V1ObjectMeta(name="too-big", namespace="default"),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="c", image="nginx", resources=client.V1ResourceRequirements(requests={"cpu": "512"})
                )
            ]
        ),
    )
    hook.core_v1_client.create_namespaced_pod("default", huge)
    pending = {p.metadata.name for p in hook.list_pod_objects(phase="Pending")}
    assert "too-big" in pending and running.name not in pending
    on_node = hook.list_pod_objects(node_name=running.node_name, phase="Running")
    assert running.name in {p.metadata.name for p in on_node}
    assert {p.status.phase for p in on_node} == {"Running"}


def test_the_reads_ride_out_throttling_and_server_errors_and_fail_fast_on_refusals(
    fleet_cluster: FleetCluster, cloud_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT", alibaba_conn_json(cloud_env, retry=FAST))
    cloud_env.set_faults(
        [
            {"product": "k8s", "action": PODS, "error": "Throttling", "rate": 0.3},
            {"product": "k8s", "action": POD_METRICS, "error": "ServiceUnavailable", "rate": 0.3},
        ],
        seed=11,
    )
    hook = FleetKubernetesHook("demo")
    mark = cloud_env.calls()["next"]
    for _ in range(8):
        assert hook.list_pod_objects() == []  # a fresh cluster runs no pods yet
        hook.all_pod_metrics()
    calls = [c for c in cloud_env.calls(mark)["calls"] if c["product"] == "k8s"]
    pods = [c["status"] for c in calls if c["action"] == PODS]
    metrics = [c["status"] for c in calls if c["action"] == POD_METRICS]
    assert pods.count(200) == 8 and 429 in pods
    assert metrics.count(200) == 8 and 503 in metrics
    cloud_env.set_faults([{"product": "k8s", "action": PODS, "error": "Forbidden"}])
    mark = cloud_env.calls()["next"]
    with pytest.raises(PermanentCloudError):
        hook.list_pod_objects()
    assert len([c for c in cloud_env.calls(mark)["calls"] if c["action"] == PODS]) == 1
    cloud_env.clear_faults()
