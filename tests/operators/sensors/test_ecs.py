"""EcsInstancesRunningSensor pokes against the sandbox and defers when asked."""

from __future__ import annotations

import time
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from operators.sensors.ecs import EcsInstancesRunningSensor
from tests.operators.builders import context, sg_operator, workers_operator


def test_sensors_poke(cloud_env: Any) -> None:
    sg = sg_operator().execute(context("sg"))["security_group_id"]
    ids = workers_operator(sg, wait_for_completion=False).execute(context("workers"))["instance_ids"]
    sensor = EcsInstancesRunningSensor(task_id="running", instance_ids=ids)
    deadline = time.monotonic() + 30
    while not sensor.poke(context()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sensor.poke(context())
    deferrable = EcsInstancesRunningSensor(task_id="running", instance_ids=ids, deferrable=True)
    with pytest.raises(TaskDeferred):
        deferrable.execute(context())
