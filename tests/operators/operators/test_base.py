"""Every operator and sensor declares template fields that exist."""

from __future__ import annotations

from typing import Any

import pytest

from operators.dns import DnsReconcileRecordsOperator
from operators.ecs import EcsDeleteInstancesOperator
from operators.kubernetes import KubernetesCordonDrainNodeOperator, KubernetesScaleDeploymentOperator
from operators.sensors.ecs import EcsInstancesRunningSensor
from operators.sensors.kubernetes import KubernetesNodesReadySensor
from operators.slb import SlbEnsureLoadBalancerOperator, SlbSetBackendWeightsOperator
from tests.operators.builders import sg_operator, workers_operator


@pytest.mark.parametrize(
    "operator",
    [
        workers_operator("sg-1"),
        sg_operator(),
        EcsDeleteInstancesOperator(task_id="d", cluster="demo"),
        SlbEnsureLoadBalancerOperator(task_id="s", cluster="demo"),
        SlbSetBackendWeightsOperator(task_id="w", load_balancer_id="lb", weights={}),
        DnsReconcileRecordsOperator(task_id="r", domain="d", records=[], owner="o"),
        KubernetesScaleDeploymentOperator(
            task_id="k", cluster="c", namespace="n", deployment="d", replicas=1
        ),
        KubernetesCordonDrainNodeOperator(task_id="c", cluster="c", node="n"),
        EcsInstancesRunningSensor(task_id="e", instance_ids=["i-1"]),
        KubernetesNodesReadySensor(task_id="n", cluster="c", count=1),
    ],
    ids=lambda op: type(op).__name__,
)
def test_template_fields_exist(operator: Any) -> None:
    assert operator.template_fields
    for name in operator.template_fields:
        assert hasattr(operator, name), name
