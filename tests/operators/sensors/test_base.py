"""The shared sensor behaviour: waiting knobs, deferral to the trigger, failed events."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from operators.sensors.ecs import EcsInstancesRunningSensor
from operators.sensors.kubernetes import KubernetesApiServerReadySensor, KubernetesNodesReadySensor
from operators.triggers.kubernetes import KubernetesNodesReadyTrigger


def test_waiting_knobs_set_poke_interval_and_timeout() -> None:
    sensor = KubernetesApiServerReadySensor(
        task_id="api", cluster="demo", poll_interval=3.0, max_attempts=200
    )
    assert sensor.poke_interval == 3.0 and sensor.timeout == 600.0
    assert (sensor.poll_interval, sensor.max_attempts) == (3.0, 200)


def test_deferrable_sensor_defers_with_its_trigger() -> None:
    sensor = KubernetesNodesReadySensor(
        task_id="nodes", cluster="demo", count="4", deferrable=True, poll_interval=3.0, max_attempts=200
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, KubernetesNodesReadyTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert trigger.serialize() == (
        "operators.triggers.kubernetes.KubernetesNodesReadyTrigger",
        {
            "cluster": "demo",
            "count": 4,
            "label_selector": None,
            "expected": [],
            "check_zones": True,
            "alibaba_cloud_conn_id": "alibaba_cloud_default",
            "yunfleet_db_conn_id": "yunfleet_db",
            "poll_interval": 3.0,
            "max_attempts": 200,
        },
    )


def test_failed_event_raises_a_retryable_error_by_default() -> None:
    sensor = EcsInstancesRunningSensor(task_id="running", instance_ids=["i-1"])
    assert sensor.execute_complete({}, {"status": "success"}) == ["i-1"]
    with pytest.raises(AirflowException, match="did not reach Running: stopped") as info:
        sensor.execute_complete({}, {"status": "failure", "message": "stopped"})
    assert not isinstance(info.value, AirflowFailException)


def test_fail_without_retry_says_what_and_how_long() -> None:
    sensor = KubernetesNodesReadySensor(
        task_id="nodes", cluster="demo", count=3, poll_interval=3.0, max_attempts=200, fail_without_retry=True
    )
    assert sensor.execute_complete({}, {"status": "success", "result": {"Ready": 3}}) == {"Ready": 3}
    with pytest.raises(AirflowFailException, match=r"3 Ready nodes in demo after about 600s: only 2"):
        sensor.execute_complete({}, {"status": "timeout", "message": "only 2"})
