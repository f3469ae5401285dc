"""The Kubernetes API inside the sandbox: call log, injected faults, persistence across restarts, reset."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from tests.sandbox.kube.helpers import deployment_body, make_cluster, wait_until


def test_calls_are_logged_and_faults_injected(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "faulty", workers=1)
    core = cluster.core()
    since = clean_sandbox.calls()["next"]
    core.list_namespaced_pod("default", label_selector="app=x")
    calls = [c for c in clean_sandbox.calls(since)["calls"] if c["product"] == "k8s"]
    assert calls[-1]["action"] == "GET /k8s/faulty/api/v1/namespaces/default/pods"
    assert calls[-1]["status"] == 200 and calls[-1]["params"]["labelSelector"] == "app=x"
    assert cluster.creds.admin_key_pem not in json.dumps(calls)

    clean_sandbox.set_faults(
        [{"product": "k8s", "action": "GET /k8s/faulty/api/v1/nodes", "error": "InternalError", "count": 1}]
    )
    with pytest.raises(ApiException) as info:
        core.list_node()
    assert info.value.status == 500 and json.loads(info.value.body)["reason"] == "InternalError"
    assert core.list_node().items  # the rule fired once
    logged = [c for c in clean_sandbox.calls(since)["calls"] if c["product"] == "k8s"]
    assert any(c["status"] == 500 and c["error_code"] == "InternalError" for c in logged)

    clean_sandbox.set_faults(
        [{"product": "k8s", "action": "*", "error": "TooManyRequests", "http_status": 429, "count": 1}]
    )
    since = clean_sandbox.calls()["next"]
    assert core.list_namespace().items  # the 429 carries Retry-After, which the client honours once
    assert [c["status"] for c in clean_sandbox.calls(since)["calls"]] == [429, 200]


def test_cluster_state_survives_a_restart_and_reset_forgets_it(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "durable", workers=1)
    apps = cluster.apps()
    created = apps.create_namespaced_deployment("default", deployment_body("keep", 1, cpu="100m"))
    wait_until(
        lambda: apps.read_namespaced_deployment("keep", "default").status.ready_replicas == 1,
        what="ready replica",
    )
    state = clean_sandbox.state()
    text = json.dumps(state)
    assert (
        cluster.control_plane.token.secret not in text and cluster.control_plane.certificate_key not in text
    )
    assert cluster.creds.ca_key_pem not in text and cluster.creds.admin_key_pem not in text

    clean_sandbox.restart()
    cluster.wait_api()
    kept = cluster.apps().read_namespaced_deployment("keep", "default")
    assert kept.metadata.uid == created.metadata.uid
    assert len(cluster.core().list_node().items) == 2
    assert cluster.kubectl("get", "deployment", "keep").returncode == 0

    clean_sandbox.reset()
    with pytest.raises(ApiException) as info:
        cluster.core().list_node()
    assert info.value.status == 404
