"""Task code of ``provision_cluster`` (``flows/provision_cluster.py``) run outside a scheduler."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from flows import provision_cluster as steps
from flows import provision_reads as reads
from flows import run
from tests.fixtures.flows import flow_context, load_dag

CLUSTER = "delta"
PARAMS = {
    "cluster_name": CLUSTER,
    "ticket_id": "OPS-9",
    "zones": ["cn-hangzhou-h"],
    "control_plane": {"instance_type": "ecs.g7.large", "count": 1},
    "node_pools": [
        {"name": "general", "instance_type": "ecs.g7.large", "min_size": 1, "max_size": 3, "desired_size": 1}
    ],
}


def _take_lock(params: dict[str, Any], conf: dict[str, Any] | None = None) -> dict[str, Any]:
    dag = load_dag("provision_cluster")
    return steps.take_lock.function(**flow_context(dag, "take_lock", params, conf=conf))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"dryrun": True}, "unknown key 'dryrun'; did you mean 'dry_run'?"),
        ({"node_pool": []}, "unknown key 'node_pool'; did you mean 'node_pools'?"),
    ],
)
def test_unknown_conf_key_fails_before_the_lock(
    flow_registry: Any, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(AirflowFailException) as info:
        _take_lock(PARAMS, conf={**PARAMS, **extra})
    assert message in str(info.value)
    assert flow_registry.registry.get_cluster(CLUSTER) is None


def test_dry_run_ends_success_and_leaves_no_registration(flow_registry: Any) -> None:
    params = {**PARAMS, "dry_run": True}
    lock = _take_lock(params)
    dag = load_dag("provision_cluster")
    from include.provisioning.plan import plan_provision
    from include.provisioning.request import ProvisionRequest

    context = flow_context(dag, "show_plan", params, take_lock=lock)
    plan = plan_provision(ProvisionRequest.from_params(context["params"]), generation=lock["generation"])
    assert steps.show_plan.function(plan.to_json(), **context) is False
    rows = flow_registry.audit_store.list(cluster=CLUSTER)
    assert len(rows) == len(plan.resources) and {r.outcome for r in rows} == {"dry_run"}
    finish_ctx = flow_context(dag, "finish", params, take_lock=lock)
    finish_ctx["ti"].xcoms.update(context["ti"].xcoms)
    assert run.finish(finish_ctx, steps.LIFECYCLE)["outcome"] == "success"
    assert flow_registry.registry.get_cluster(CLUSTER) is None  # a first dry run registers nothing


def test_finish_reports_errors_of_every_task_of_the_dag_and_what_exists(flow_registry: Any) -> None:
    lock = _take_lock(PARAMS)
    dag = load_dag("provision_cluster")
    context = flow_context(
        dag,
        "finish",
        PARAMS,
        take_lock=lock,
        security_group={"security_group_id": "sg-1"},
        control_plane={"instance_ids": ["i-1"], "created_ids": ["i-1"]},
        apiserver_lb={"load_balancer_id": "lb-1", "address": "10.0.0.9"},
    )
    # errors are read for every task id of the DAG, including ones no list in flows names
    context["ti"].xcoms[("api_dns", run.ERROR_KEY)] = "ConflictError: api.delta is owned by someone else"
    context["ti"].xcoms[("wait_api_server", run.ERROR_KEY)] = "never started"
    with pytest.raises(AirflowFailException) as info:
        run.finish(context, steps.LIFECYCLE)
    message = str(info.value)
    assert "api_dns: ConflictError" in message and "wait_api_server: never started" in message
    assert "security group sg-1" in message and "SLB lb-1 (10.0.0.9)" in message
    assert "1 control-plane instance(s)" in message
    assert flow_registry.registry.require_cluster(CLUSTER).state == "failed"


def test_failure_before_any_change_restores_the_previous_state(flow_registry: Any) -> None:
    lock = _take_lock(PARAMS)
    dag = load_dag("provision_cluster")
    context = flow_context(dag, "finish", PARAMS, take_lock=lock)
    context["ti"].xcoms[("validate", run.ERROR_KEY)] = "validation failed, nothing was changed: zone sold out"
    with pytest.raises(AirflowFailException, match="zone sold out"):
        run.finish(context, steps.LIFECYCLE)
    assert flow_registry.registry.get_cluster(CLUSTER) is None


def _request(**overrides: Any) -> Any:
    from include.provisioning.request import ProvisionRequest

    dag = load_dag("provision_cluster")
    params = flow_context(dag, "validate", {**PARAMS, **overrides})["params"]
    return ProvisionRequest.from_params(params)


def test_images_resolve_by_family_and_explicit_ids_are_checked(cloud_env: Any) -> None:
    """Through the ECS SDK against the sandbox: the family's newest available image, and clear errors."""
    from operators.hooks.ecs import EcsHook

    pools = [
        {**PARAMS["node_pools"][0], "name": "general"},
        {
            **PARAMS["node_pools"][0],
            "name": "legacy",
            "image_id": "ubuntu_22_04_x64_20G_alibase_20230515.vhd",
        },
        {**PARAMS["node_pools"][0], "name": "ghost", "image_id": "ubuntu_18_04_x64_20G_alibase_20200101.vhd"},
        {
            **PARAMS["node_pools"][0],
            "name": "pinned",
            "image_id": "ubuntu_22_04_x64_20G_alibase_20240130.vhd",
        },
    ]
    images, errors = reads.resolve_images(EcsHook(), _request(node_pools=pools), {})
    newest = "ubuntu_22_04_x64_20G_alibase_20240926.vhd"
    assert images == {
        "control-plane": newest,
        "pool:general": newest,
        "pool:pinned": "ubuntu_22_04_x64_20G_alibase_20240130.vhd",
    }
    assert len(errors) == 2
    legacy = next(e for e in errors if e.startswith("pool:legacy:"))
    assert "Deprecated" in legacy and newest in legacy
    ghost = next(e for e in errors if e.startswith("pool:ghost:"))
    assert "does not exist" in ghost


def test_an_unknown_image_family_in_the_connection_is_a_clear_error(cloud_env: Any) -> None:
    from operators.hooks.ecs import EcsHook

    images, errors = reads.resolve_images(EcsHook(), _request(), {"image_family": "acs:ubuntu_99_04_x64"})
    assert images == {}
    assert len(errors) == 2 and all("acs:ubuntu_99_04_x64" in e for e in errors)


def test_finish_of_a_cleared_run_ignores_what_earlier_tries_left(flow_registry: Any) -> None:
    """A cleared run keeps the XComs of tasks that did not run again: finish goes by current states."""
    lock = _take_lock(PARAMS)
    dag = load_dag("provision_cluster")
    context = flow_context(
        dag,
        "finish",
        PARAMS,
        take_lock=lock,
        security_group={"security_group_id": "sg-2"},
        control_plane={"instance_ids": ["i-old"], "created_ids": ["i-old"]},  # from the first try
        apiserver_lb={"load_balancer_id": "lb-old", "address": "10.0.0.9"},  # from the first try
        verify={"checked": True},  # from the first try
    )
    context["ti"].xcoms[("control_plane", run.ERROR_KEY)] = "IdempotencyMismatchError: token reused"
    context["ti"].states = {
        "take_lock": "success",
        "validate": "success",
        "security_group": "success",
        "control_plane": "failed",
        "apiserver_lb": "upstream_failed",
        "verify": "upstream_failed",
        "register": "upstream_failed",
    }
    with pytest.raises(AirflowFailException) as info:
        run.finish(context, steps.LIFECYCLE)
    message = str(info.value)
    assert "control_plane: IdempotencyMismatchError" in message
    assert "security group sg-2" in message
    assert "lb-old" not in message and "i-old" not in message
    assert flow_registry.registry.require_cluster(CLUSTER).state == "failed"
