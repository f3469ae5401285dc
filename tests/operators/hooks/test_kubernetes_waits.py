"""Kubernetes calls under sandbox faults on product k8s, and waits for nodes that say what is missing.

Every Kubernetes call (hook, sensor poke, trigger) retries 429, 5xx and timeouts within its budget,
honouring Retry-After, and fails at once on other 4xx. A nodes-Ready wait that cannot finish names the
missing node (pool, zone, instance, last Ready condition), and stops early when the node's zone is
reported unavailable by ECS.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from include.errors import CloudError, PermanentCloudError
from operators.hooks.ecs import EcsHook
from operators.hooks.kubernetes import FleetKubernetesHook
from operators.sensors.kubernetes import KubernetesNodesReadySensor
from operators.triggers.kubernetes import KubernetesNodesReadyTrigger
from tests.fixtures.building_blocks import alibaba_conn_json
from tests.fixtures.fleet_cluster import FleetCluster

NODES = "GET /k8s/demo/api/v1/nodes"
POOL = "yunfleet.io/node-pool=general"
FAST = {
    "max_attempts": 6,
    "initial_backoff": 0.02,
    "max_backoff": 0.2,
    "throttle_max_attempts": 20,
    "throttle_max_total_seconds": 10,
    "throttle_initial_backoff": 0.05,
    "throttle_max_backoff": 1.5,
}


@pytest.fixture
def cluster(fleet_cluster: FleetCluster, cloud_env: Any, monkeypatch: pytest.MonkeyPatch) -> FleetCluster:
    """The fleet cluster, with the connection's retry settings made fast for tests."""
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT", alibaba_conn_json(cloud_env, retry=FAST))
    return fleet_cluster


def _k8s_calls(sandbox: Any, since: int, action: str = NODES) -> list[dict[str, Any]]:
    return [c for c in sandbox.calls(since)["calls"] if c["product"] == "k8s" and c["action"] == action]


# -- retries -----------------------------------------------------------------------------------


def test_reads_ride_out_throttling_and_server_errors(cluster: FleetCluster, cloud_env: Any) -> None:
    cloud_env.set_faults(
        [
            {"product": "*", "action": NODES, "error": "Throttling.User", "rate": 0.3},
            {"product": "k8s", "action": NODES, "error": "ServiceUnavailable", "rate": 0.2},
        ],
        seed=5,
    )
    hook = FleetKubernetesHook("demo")
    mark = cloud_env.calls()["next"]
    for _ in range(10):
        assert len(hook.list_nodes(POOL)) == 3
    statuses = [c["status"] for c in _k8s_calls(cloud_env, mark)]
    assert statuses.count(200) == 10 and 429 in statuses and 503 in statuses


def test_retry_after_is_honoured(cluster: FleetCluster, cloud_env: Any) -> None:
    cloud_env.set_faults([{"product": "k8s", "action": NODES, "error": "Throttling", "count": 1}])
    mark = cloud_env.calls()["next"]
    FleetKubernetesHook("demo").list_nodes(POOL)
    calls = _k8s_calls(cloud_env, mark)
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[1]["time"] - calls[0]["time"] >= 0.9  # Retry-After: 1, not the 0.05 s back-off


def test_a_timeout_is_retried(cluster: FleetCluster, cloud_env: Any) -> None:
    cloud_env.set_faults(
        [{"product": "k8s", "action": NODES, "error": "timeout", "delay_ms": 3000, "count": 1}]
    )
    hook = FleetKubernetesHook("demo", request_timeout=(2.0, 0.5))
    assert len(hook.list_nodes(POOL)) == 3


@pytest.mark.parametrize("reason", ["Forbidden", "BadRequest", "Invalid"])
def test_other_client_errors_fail_at_once(cluster: FleetCluster, cloud_env: Any, reason: str) -> None:
    cloud_env.set_faults([{"product": "k8s", "action": NODES, "error": reason}])
    mark = cloud_env.calls()["next"]
    with pytest.raises(PermanentCloudError):
        FleetKubernetesHook("demo").list_nodes(POOL)
    assert len(_k8s_calls(cloud_env, mark)) == 1


def test_api_server_wait_fails_fast_on_refused_credentials(cluster: FleetCluster, cloud_env: Any) -> None:
    readyz = "GET /k8s/demo/readyz"
    cloud_env.set_faults([{"product": "k8s", "action": readyz, "error": "ServiceUnavailable"}])
    assert FleetKubernetesHook("demo").api_server_ready() is False
    cloud_env.set_faults([{"product": "k8s", "action": readyz, "error": "Forbidden"}])
    with pytest.raises(PermanentCloudError):
        FleetKubernetesHook("demo").api_server_ready()


def test_a_sensor_poke_waits_on_through_server_errors_and_fails_on_refusals(
    cluster: FleetCluster, cloud_env: Any
) -> None:
    sensor = KubernetesNodesReadySensor(task_id="nodes", cluster="demo", count=3, label_selector=POOL)
    cloud_env.set_faults([{"product": "k8s", "action": NODES, "error": "ServiceUnavailable"}])
    assert sensor.poke({}) is False  # the hook's retries ran out: not Ready yet, the wait goes on
    cloud_env.set_faults([{"product": "k8s", "action": NODES, "error": "Forbidden"}])
    with pytest.raises(CloudError):
        KubernetesNodesReadySensor(task_id="n2", cluster="demo", count=3, label_selector=POOL).poke({})
    cloud_env.clear_faults()
    assert sensor.poke({}) is True


async def test_the_trigger_rides_out_throttling(cluster: FleetCluster, cloud_env: Any) -> None:
    cloud_env.set_faults(
        [{"product": "k8s", "action": NODES, "error": "Throttling.User", "rate": 0.5}], seed=3
    )
    trigger = KubernetesNodesReadyTrigger(
        cluster="demo", count=3, label_selector=POOL, poll_interval=0.1, max_attempts=20
    )
    event = await trigger.run().__anext__()
    assert event.payload["status"] == "success" and event.payload["result"]["ReadyCount"] == 3
    assert 429 in [c["status"] for c in _k8s_calls(cloud_env, 0)]


# -- waits that cannot finish -------------------------------------------------------------------


def _expected(cluster: FleetCluster) -> list[dict[str, Any]]:
    instances = EcsHook().describe_instances(instance_ids=cluster.worker_ids)
    return [{"instance_id": i.instance_id, "pool": "general", "zone": i.zone_id} for i in instances]


def _wait_lost(hook: FleetKubernetesHook, instance_id: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if any(
            n.name == instance_id or instance_id in (n.provider_id or "")
            for n in hook.list_nodes(POOL)
            if not n.ready
        ):
            return
        time.sleep(0.2)
    raise AssertionError(f"the node of {instance_id} did not turn NotReady")


async def test_an_unavailable_zone_ends_the_wait_early_and_names_the_missing_node(
    cluster: FleetCluster, cloud_env: Any
) -> None:
    expected = _expected(cluster)
    lost = next(e for e in expected if e["zone"] == "cn-hangzhou-i")
    cloud_env.set_zone("cn-hangzhou-i", outage=True)
    hook = FleetKubernetesHook("demo")
    _wait_lost(hook, lost["instance_id"])

    result = hook.nodes_ready_for_waiter(3, POOL, expected)
    assert result["Blocked"] and not result["Enough"] and result["ReadyCount"] == 2
    summary = result["Summary"]
    for phrase in (
        lost["instance_id"],
        "pool general",
        "zone cn-hangzhou-i",
        "Ready=Unknown",
        "NodeStatusUnknown",
    ):
        assert phrase in summary
    assert "zone cn-hangzhou-i is unavailable" in summary

    started = time.monotonic()
    trigger = KubernetesNodesReadyTrigger(
        cluster="demo", count=3, label_selector=POOL, expected=expected, poll_interval=0.5, max_attempts=600
    )
    event = await trigger.run().__anext__()
    assert event.payload["status"] == "failure" and time.monotonic() - started < 30  # not 300 s
    assert lost["instance_id"] in event.payload["message"] and "unavailable" in event.payload["message"]

    sensor = KubernetesNodesReadySensor(
        task_id="wait_nodes",
        cluster="demo",
        count=3,
        label_selector=POOL,
        expected_nodes=expected,
        fail_without_retry=True,
    )
    with pytest.raises(AirflowFailException, match=lost["instance_id"]):
        sensor.poke({})


async def test_a_wait_that_times_out_says_what_is_missing(cluster: FleetCluster, cloud_env: Any) -> None:
    expected = [
        *_expected(cluster),
        {"instance_id": "i-neverjoined", "pool": "general", "zone": "cn-hangzhou-h"},
    ]
    trigger = KubernetesNodesReadyTrigger(
        cluster="demo", count=4, label_selector=POOL, expected=expected, poll_interval=0.05, max_attempts=3
    )
    event = await trigger.run().__anext__()
    assert event.payload["status"] == "timeout"
    message = event.payload["message"]
    assert "3 of 4 nodes Ready" in message and "instance i-neverjoined: no Node registered" in message

    sensor = KubernetesNodesReadySensor(
        task_id="wait_nodes",
        cluster="demo",
        count=4,
        label_selector=POOL,
        expected_nodes=expected,
        poll_interval=0.1,
        max_attempts=3,
    )
    with pytest.raises(AirflowSensorTimeout, match="i-neverjoined: no Node registered"):
        sensor.execute({})
