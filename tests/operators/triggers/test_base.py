"""Every trigger serializes to kwargs it can be rebuilt from."""

from __future__ import annotations

import importlib

import pytest

from operators.triggers.base import YunfleetWaiterTrigger
from operators.triggers.ecs import EcsInstancesRunningTrigger
from operators.triggers.kubernetes import KubernetesApiServerReadyTrigger, KubernetesNodesReadyTrigger

TRIGGERS = [
    EcsInstancesRunningTrigger(
        instance_ids=["i-1", "i-2"],
        alibaba_cloud_conn_id="c1",
        region_id="cn-hangzhou",
        poll_interval=2,
        max_attempts=7,
    ),
    KubernetesApiServerReadyTrigger(cluster="demo", poll_interval=3, max_attempts=9),
    KubernetesNodesReadyTrigger(
        cluster="demo", count=3, label_selector="yunfleet.io/node-pool=general", max_attempts=4
    ),
    YunfleetWaiterTrigger(
        product="slb", waiter_name="backends_healthy", waiter_args={"load_balancer_id": "lb-1"}
    ),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: type(t).__name__)
def test_trigger_serialize_round_trip(trigger: YunfleetWaiterTrigger) -> None:
    path, kwargs = trigger.serialize()
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert cls is type(trigger) and module.startswith("operators.triggers.")
    clone = cls(**kwargs)
    assert clone.serialize() == (path, kwargs)
    assert (clone.waiter_name, clone.waiter_args, clone.hook_params) == (
        trigger.waiter_name,
        trigger.waiter_args,
        trigger.hook_params,
    )
    import json

    json.dumps(kwargs)  # storable as trigger kwargs
