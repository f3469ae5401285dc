"""Fault rules keep their meaning on every API they hit: throttling, 5xx, timeouts and client errors."""

from __future__ import annotations

import json
import time

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.client.rest import RESTClientObject

from tests.sandbox.kube.helpers import make_cluster

NODES = "GET /k8s/{}/api/v1/nodes"


def _regions(sandbox):
    return sandbox.ecs_client().describe_regions(ecs_models.DescribeRegionsRequest())


def _kube_error(call) -> tuple[int, dict, dict]:
    with pytest.raises(ApiException) as info:
        call()
    headers = {k.lower(): v for k, v in (info.value.headers or {}).items()}
    return info.value.status, json.loads(info.value.body), headers


def _no_retry_core(cluster) -> k8s.CoreV1Api:
    """A client that shows every answer: urllib3 otherwise retries a 429/503 that carries Retry-After."""
    api = cluster.api_client()
    api.configuration.retries = False
    api.rest_client = RESTClientObject(api.configuration)
    return k8s.CoreV1Api(api)


@pytest.fixture
def cluster(clean_sandbox, tmp_path):
    return make_cluster(clean_sandbox, tmp_path, "semantics", workers=0)


def test_alibaba_throttling_code_is_a_429_with_retry_after_on_kubernetes(clean_sandbox, cluster):
    clean_sandbox.set_faults(
        [{"product": "*", "action": "*", "error": "Throttling.User", "http_status": 400}]
    )
    status, body, headers = _kube_error(_no_retry_core(cluster).list_node)
    assert status == 429
    assert body["kind"] == "Status" and body["reason"] == "TooManyRequests" and body["code"] == 429
    assert body["details"]["retryAfterSeconds"] == 1
    assert headers.get("retry-after") == "1"
    # the same rule on ECS stays Alibaba's throttling answer
    with pytest.raises(ClientException) as info:
        _regions(clean_sandbox)
    assert (info.value.code, info.value.status_code) == ("Throttling.User", 400)
    logged = clean_sandbox.calls()["calls"][-2:]
    assert [(c["product"], c["status"], c["error_code"]) for c in logged] == [
        ("k8s", 429, "TooManyRequests"),
        ("ecs", 400, "Throttling.User"),
    ]


def test_kubernetes_throttling_reason_is_throttling_user_on_the_cloud(clean_sandbox, cluster):
    clean_sandbox.set_faults([{"product": "*", "action": "*", "error": "TooManyRequests"}])
    with pytest.raises(ClientException) as info:
        _regions(clean_sandbox)
    assert (info.value.code, info.value.status_code) == ("Throttling.User", 400)
    status, body, _ = _kube_error(_no_retry_core(cluster).list_node)
    assert (status, body["reason"]) == (429, "TooManyRequests")


@pytest.mark.parametrize(
    ("rule", "k8s_status", "k8s_reason", "ecs_status"),
    [
        ({"error": "ServiceUnavailable"}, 503, "ServiceUnavailable", 503),
        ({"error": "InternalError"}, 500, "InternalError", 500),
        ({"error": "InternalError", "http_status": 502}, 502, "InternalError", 502),
        ({"error": "BackendDown", "http_status": 504}, 504, "Timeout", 504),
    ],
)
def test_server_errors_keep_their_status(clean_sandbox, cluster, rule, k8s_status, k8s_reason, ecs_status):
    clean_sandbox.set_faults([{"product": "*", "action": "*", **rule}])
    status, body, _ = _kube_error(_no_retry_core(cluster).list_node)
    assert (status, body["reason"], body["code"]) == (k8s_status, k8s_reason, k8s_status)
    with pytest.raises(ServerException) as info:
        _regions(clean_sandbox)
    assert (info.value.code, info.value.status_code) == (rule["error"], ecs_status)


def test_client_errors_get_the_kubernetes_reason_of_their_status(clean_sandbox, cluster):
    clean_sandbox.set_faults([{"product": "*", "action": "*", "error": "OperationConflict"}])
    status, body, _ = _kube_error(_no_retry_core(cluster).list_node)
    assert (status, body["reason"]) == (409, "Conflict")
    with pytest.raises(ClientException) as info:
        _regions(clean_sandbox)
    assert (info.value.code, info.value.status_code) == ("OperationConflict", 409)
    clean_sandbox.set_faults([{"product": "k8s", "action": "*", "error": "NotFound"}])
    status, body, _ = _kube_error(_no_retry_core(cluster).list_node)
    assert (status, body["reason"]) == (404, "NotFound")


def test_timeout_on_kubernetes_is_a_504_after_the_hold(clean_sandbox, cluster):
    clean_sandbox.set_faults(
        [
            {
                "product": "k8s",
                "action": NODES.format("semantics"),
                "error": "timeout",
                "delay_ms": 200,
                "count": 1,
            }
        ]
    )
    status, body, _ = _kube_error(_no_retry_core(cluster).list_node)
    assert (status, body["reason"]) == (504, "Timeout")
    assert cluster.core().list_node().items  # the rule fired once


def test_per_minute_quota_on_kubernetes_is_a_429_until_the_next_window(clean_sandbox, cluster):
    rule = {"product": "k8s", "action": NODES.format("semantics"), "per_minute": 1}
    state = clean_sandbox.set_api_quotas([rule], window_seconds=2.5)
    if state["window_ends_in"] < 1.5:
        time.sleep(state["window_ends_in"] + 0.05)
    core = _no_retry_core(cluster)
    assert core.list_node().items
    status, body, headers = _kube_error(core.list_node)
    assert (status, body["reason"]) == (429, "TooManyRequests")
    assert 1 <= int(headers["retry-after"]) <= 3
    assert body["details"]["retryAfterSeconds"] == int(headers["retry-after"])
    assert core.list_namespace().items  # another path has its own count (and no rule)

    # the stock client honours Retry-After: it waits for the next window and succeeds there
    since = clean_sandbox.calls()["next"]
    started = time.monotonic()
    assert cluster.core().list_node().items
    assert time.monotonic() - started >= 0.5
    statuses = [c["status"] for c in clean_sandbox.calls(since)["calls"] if c["action"] == rule["action"]]
    assert statuses[0] == 429 and statuses[-1] == 200
