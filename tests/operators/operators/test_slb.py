"""SLB operators executed with a task context against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest

from include.errors import WaiterTimeoutError
from operators.slb import SlbEnsureLoadBalancerOperator, SlbSetBackendWeightsOperator
from tests.fixtures.fleet_cluster import FleetCluster
from tests.operators.builders import VPC, context, sg_operator, workers_operator


def test_slb_operators(cloud_env: Any) -> None:
    sg = sg_operator().execute(context("sg"))["security_group_id"]
    ids = workers_operator(sg).execute(context("workers"))["instance_ids"]
    lb = SlbEnsureLoadBalancerOperator(
        task_id="lb",
        cluster="demo",
        vswitch_id="vsw-sandbox00000000000h1",
        vpc_id=VPC,
        backends=ids,
    ).execute(context("lb"))
    json.dumps(lb)
    assert lb["created"] and lb["listener"]["created"] and sorted(lb["backends"]["added"]) == sorted(ids)
    weights = SlbSetBackendWeightsOperator(
        task_id="w", load_balancer_id=lb["load_balancer_id"], weights={ids[0]: 0}
    ).execute(context("w"))
    assert weights["reweighted"] == [ids[0]] and weights["weights"][ids[0]] == 0
    # nothing listens on 6443 on plain workers: the health check says so and the wait gives up
    with pytest.raises(WaiterTimeoutError, match="backends_healthy"):
        SlbEnsureLoadBalancerOperator(
            task_id="lb",
            cluster="demo",
            backends=ids,
            wait_for_healthy=True,
            poll_interval=0.05,
            max_attempts=3,
        ).execute(context("lb"))


def test_slb_waits_for_a_healthy_api_server(fleet_cluster: FleetCluster) -> None:
    lb = SlbEnsureLoadBalancerOperator(
        task_id="api_lb",
        cluster="demo",
        vswitch_id="vsw-sandbox00000000000h1",
        vpc_id=VPC,
        backends=fleet_cluster.control_plane_ids,
        wait_for_healthy=True,
        poll_interval=0.2,
        max_attempts=150,
    ).execute(context("api_lb"))
    hook = SlbEnsureLoadBalancerOperator(task_id="x", cluster="demo").hook
    assert hook.backend_health(lb["load_balancer_id"]) == {
        i: "normal" for i in fleet_cluster.control_plane_ids
    }
