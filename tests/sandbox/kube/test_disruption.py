"""Evictions honour PodDisruptionBudgets (429), and kubectl drain waits for capacity to satisfy them."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from kubernetes.client.exceptions import ApiException

from tests.sandbox.kube.helpers import PROXY_VARIABLES, deployment_body, make_cluster, wait_until


def _pdb(name: str, min_available: int) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": name}}},
    }


def _ready(apps, name: str, count: int) -> None:
    wait_until(
        lambda: apps.read_namespaced_deployment(name, "default").status.ready_replicas == count,
        what=f"{count} ready replicas of {name}",
    )


def test_eviction_is_refused_with_429_when_the_budget_is_spent(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "evict", workers=1)
    apps, core, policy = cluster.apps(), cluster.core(), cluster.policy()
    apps.create_namespaced_deployment("default", deployment_body("web", 2, cpu="100m"))
    policy.create_namespaced_pod_disruption_budget("default", _pdb("web", 2))
    _ready(apps, "web", 2)
    budget = wait_until(
        lambda: (
            (b := policy.read_namespaced_pod_disruption_budget("web", "default")).status.current_healthy == 2
            and b
        ),
        what="budget status",
    )
    assert budget.status.desired_healthy == 2 and budget.status.disruptions_allowed == 0
    assert budget.status.expected_pods == 2

    pod = core.list_namespaced_pod("default", label_selector="app=web").items[0].metadata.name
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": "default"},
    }
    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod_eviction(pod, "default", eviction)
    assert info.value.status == 429
    body = json.loads(info.value.body)
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"][0] == {
        "reason": "DisruptionBudget",
        "message": "The disruption budget web needs 2 healthy pods and has 2 currently",
    }

    policy.patch_namespaced_pod_disruption_budget("web", "default", {"spec": {"minAvailable": 1}})
    wait_until(
        lambda: (
            policy.read_namespaced_pod_disruption_budget("web", "default").status.disruptions_allowed == 1
        ),
        what="one disruption allowed",
    )
    core.create_namespaced_pod_eviction(pod, "default", eviction)
    assert pod not in [p.metadata.name for p in core.list_namespaced_pod("default").items]


@pytest.mark.kubectl
def test_drain_blocks_on_the_budget_until_a_new_worker_makes_room(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "drain", workers=1)
    apps, policy = cluster.apps(), cluster.policy()
    apps.create_namespaced_deployment("default", deployment_body("web", 2, cpu="100m"))
    policy.create_namespaced_pod_disruption_budget("default", _pdb("web", 1))
    _ready(apps, "web", 2)
    node = cluster.workers[0]

    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env["HOME"] = str(tmp_path)
    drain = subprocess.Popen(
        [
            "kubectl",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--cache-dir",
            str(tmp_path / "kcache"),
            "drain",
            node,
            "--ignore-daemonsets",
            "--timeout=90s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # the first eviction is allowed; its replacement has nowhere to go, so the second is refused
        time.sleep(7)
        assert drain.poll() is None, drain.communicate()
        pending = cluster.kubectl(
            "get", "pods", "--field-selector", "status.phase=Pending", "-o", "name"
        ).stdout
        assert pending.strip().startswith("pod/web-")

        cluster.add_workers(1, zone="cn-hangzhou-h")
        stdout, stderr = drain.communicate(timeout=60)
    finally:
        if drain.poll() is None:
            drain.kill()
            drain.communicate()
    assert drain.returncode == 0, stderr
    assert "Cannot evict pod as it would violate the pod's disruption budget." in stdout + stderr, stdout
    assert f"node/{node} drained" in stdout
    _ready(apps, "web", 2)
    placed = {
        p.spec.node_name
        for p in cluster.core().list_namespaced_pod("default", label_selector="app=web").items
    }
    assert placed == {cluster.workers[1]}
