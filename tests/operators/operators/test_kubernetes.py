"""Kubernetes operators (and the cluster sensors' pokes) against a simulated cluster."""

from __future__ import annotations

import json
from typing import Any

from operators.kubernetes import KubernetesCordonDrainNodeOperator, KubernetesScaleDeploymentOperator
from operators.sensors.kubernetes import KubernetesApiServerReadySensor, KubernetesNodesReadySensor
from tests.fixtures.fleet_cluster import FleetCluster
from tests.operators.builders import audit_rows, context, create_web, kube, running_web_pods


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
