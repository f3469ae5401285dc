"""FleetKubernetesHook against a simulated cluster through the kubernetes client."""

from __future__ import annotations

from typing import Any

import pytest

from operators.hooks.kubernetes import DrainTimeoutError, FleetKubernetesHook
from tests.fixtures.fleet_cluster import FleetCluster
from tests.operators.builders import create_web, kube, running_web_pods


def test_connects_by_name_from_the_registry(
    fleet_cluster: FleetCluster, audit_store: Any, task_context: Any
) -> None:
    hook = kube(audit_store, task_context)
    assert hook.server.endswith("/k8s/demo") and hook.api_server_ready()
    ok, message = hook.test_connection()
    assert ok and "demo" in message
    nodes = hook.list_nodes("yunfleet.io/node-pool=general")
    assert len(nodes) == 3 and all(n.ready and n.node_pool == "general" for n in nodes)
    assert {n.zone for n in nodes} == {"cn-hangzhou-h", "cn-hangzhou-i"}
    assert all(n.allocatable_cpu_millicores > 0 and n.provider_id.startswith("alicloud://") for n in nodes)
    wrong = FleetKubernetesHook("demo", token="not-the-token", audit_sink=audit_store)
    ok, message = wrong.test_connection()
    assert not ok and "not-the-token" not in message


def test_pods_with_requests_scale_and_metrics(
    fleet_cluster: FleetCluster, audit_store: Any, task_context: Any
) -> None:
    hook = kube(audit_store, task_context)
    create_web(hook, replicas=2, cpu="300m")
    pods = running_web_pods(hook, 2)
    assert all(p.cpu_request_millicores == 300 and p.memory_request_bytes == 128 * 2**20 for p in pods)
    before = audit_store.max_id()
    assert hook.scale_deployment("default", "web", 4)["changed"] is True
    assert hook.scale_deployment("default", "web", 4)["changed"] is False
    assert hook.get_deployment("default", "web").spec.replicas == 4
    rows = audit_store.list(since_id=before)
    assert [(r.product, r.action, r.target, r.outcome, r.ticket_id) for r in rows] == [
        ("k8s", "ScaleDeployment", "default/web", "ok", "OPS-1234")
    ]
    running_web_pods(hook, 4)
    metrics = hook.node_metrics()
    assert set(metrics) >= {n.name for n in hook.list_nodes()} - set() and all(
        m["cpu_millicores"] >= 0 for m in metrics.values()
    )
    pod_metrics = hook.pod_metrics("default")
    assert {p.name for p in running_web_pods(hook, 4)} <= set(pod_metrics)


def test_cordon_and_drain(fleet_cluster: FleetCluster, audit_store: Any, task_context: Any) -> None:
    hook = kube(audit_store, task_context)
    create_web(hook, replicas=3)
    pods = running_web_pods(hook, 3)
    node = pods[0].node_name
    result = hook.drain(node, timeout=30, poll_interval=0.2)
    assert result["drained"] and result["cordoned"] and result["evicted"]
    assert hook.list_pods(node_name=node, label_selector="app=web") == [] or all(
        p.phase in ("Succeeded", "Failed") for p in hook.list_pods(node_name=node, label_selector="app=web")
    )
    assert next(n for n in hook.list_nodes() if n.name == node).unschedulable
    actions = [r.action for r in audit_store.list(cluster="demo", product="k8s")]
    assert actions[0] == "CordonNode" and "EvictPod" in actions
    assert hook.uncordon(node) is True and hook.uncordon(node) is False


def test_drain_blocked_by_pdb_gives_up_and_uncordons(
    fleet_cluster: FleetCluster, audit_store: Any, task_context: Any
) -> None:
    hook = kube(audit_store, task_context)
    create_web(hook, replicas=2, pdb_min=2)
    pods = running_web_pods(hook, 2)
    node = pods[0].node_name
    with pytest.raises(DrainTimeoutError, match="disruption budgets"):
        hook.drain(node, timeout=1.5, poll_interval=0.3)
    assert not next(n for n in hook.list_nodes() if n.name == node).unschedulable
    assert len(running_web_pods(hook, 2)) == 2


def test_dry_run_changes_nothing(fleet_cluster: FleetCluster, audit_store: Any, task_context: Any) -> None:
    real = kube(audit_store, task_context)
    create_web(real, replicas=1)
    dry = kube(audit_store, task_context, dry_run=True)
    before = audit_store.max_id()
    dry.scale_deployment("default", "web", 5)
    node = real.list_nodes()[0].name
    dry.cordon(node)
    assert real.get_deployment("default", "web").spec.replicas == 1
    assert not next(n for n in real.list_nodes() if n.name == node).unschedulable
    assert {r.outcome for r in audit_store.list(since_id=before)} == {"dry_run"}


async def test_kubernetes_triggers_run_against_the_cluster(fleet_cluster: FleetCluster) -> None:
    from operators.triggers.kubernetes import KubernetesApiServerReadyTrigger, KubernetesNodesReadyTrigger

    ready = (
        await KubernetesApiServerReadyTrigger(cluster="demo", poll_interval=0.1, max_attempts=50)
        .run()
        .__anext__()
    )
    assert ready.payload["status"] == "success" and ready.payload["result"] == {"Ready": True}
    nodes = KubernetesNodesReadyTrigger(
        cluster="demo",
        count=3,
        label_selector="yunfleet.io/node-pool=general",
        poll_interval=0.1,
        max_attempts=50,
    )
    event = await nodes.run().__anext__()
    assert event.payload["status"] == "success" and event.payload["result"]["ReadyCount"] == 3
    too_many = KubernetesNodesReadyTrigger(cluster="demo", count=9, poll_interval=0.01, max_attempts=3)
    assert (await too_many.run().__anext__()).payload["status"] == "timeout"
