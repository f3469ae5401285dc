"""Structure of provision_cluster and decommission_cluster, and their params as the API server sees them."""

from __future__ import annotations

import itertools
import json
from functools import cache
from typing import Any

import pytest

from include.provisioning.params import decommission_param_specs, provision_param_specs
from yunfleet.devenv.config import REPO_ROOT


@cache
def load(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / f"{dag_id}.py"), safe_mode=False)
    assert bag.import_errors == {}
    return bag.dags[dag_id]


@cache
def serialized_params(dag_id: str) -> Any:
    """The params after the DAG's round trip through serialization (what the REST API validates)."""
    from airflow.serialization.serialized_objects import DagSerialization

    data = DagSerialization.to_dict(load(dag_id))
    return DagSerialization.from_dict(data).params


def good_conf() -> dict[str, Any]:
    return {
        "cluster_name": "demo",
        "ticket_id": "OPS-1",
        "zones": ["cn-hangzhou-h", "cn-hangzhou-i"],
        "node_pools": [
            {
                "name": "general",
                "instance_type": "ecs.g7.large",
                "min_size": 1,
                "max_size": 3,
                "desired_size": 2,
            }
        ],
    }


def validate(dag_id: str, conf: dict[str, Any]) -> dict[str, Any]:
    params = serialized_params(dag_id).deep_merge(conf)
    return dict(params.validate())


def test_params_come_from_the_domain_schema() -> None:
    assert list(load("provision_cluster").params.keys()) == list(provision_param_specs())
    assert list(load("decommission_cluster").params.keys()) == list(decommission_param_specs())


def test_serialized_params_accept_a_good_request() -> None:
    values = validate("provision_cluster", good_conf())
    assert values["dry_run"] is False and values["kubernetes_version"] == "1.31"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"cluster_name": "demo;reboot"}, "Invalid input for param cluster_name"),
        ({"zones": ["cn-hangzhou-q"]}, "Invalid input for param zones"),
        ({"ticket_id": ""}, "Invalid input for param ticket_id"),
    ],
)
def test_serialized_params_refuse_bad_requests(change: dict[str, Any], fragment: str) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError) as info:
        validate("provision_cluster", {**good_conf(), **change})
    assert fragment in str(info.value)


def test_serialized_params_stay_small_enough_to_serialize_fast() -> None:
    """Airflow validates every task's copy of the params against its schema at each serialization."""
    from airflow.serialization.serialized_objects import DagSerialization

    data = DagSerialization.to_dict(load("provision_cluster"))
    schemas = json.dumps(data["dag"]["params"])
    assert len(schemas) < 12_000, f"provision_cluster params serialize to {len(schemas)} bytes"


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ((4, 3, 3), "node_pools[0]: max_size must be at least min_size"),
        ((0, 7, 3), "node_pools[0]: min_size <= desired_size <= max_size"),
        ((2, 1, 5), "node_pools[0]: min_size <= desired_size <= max_size"),
    ],
)
def test_pool_size_order_is_a_cross_field_rule_of_the_conf_check(
    sizes: tuple[int, int, int], expected: str
) -> None:
    """Airflow's per-param schemas cannot compare fields: the conf guard and the first task do."""
    from include.fleet.conf_keys import conf_error

    low, want, high = sizes
    pools = [
        {
            "name": "p",
            "instance_type": "ecs.g7.large",
            "min_size": low,
            "desired_size": want,
            "max_size": high,
        }
    ]
    conf = {**good_conf(), "node_pools": pools}
    dag = load("provision_cluster")
    validate("provision_cluster", conf)  # each param alone is valid
    assert conf_error(conf, dag.params.keys(), dag.dag_id) == f"invalid conf, nothing was changed: {expected}"
    assert conf_error(conf, dag.params.keys(), "decommission_cluster") is None


def test_required_params_have_no_default() -> None:
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="ticket_id"):
        validate("provision_cluster", {"cluster_name": "demo"})


def test_provision_wiring() -> None:
    dag = load("provision_cluster")
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {
        "take_lock",
        "validate",
        "show_plan",
        "credentials",
        "security_group",
        "control_plane",
        "apiserver_lb",
        "api_dns",
        "wait_api_server",
        "pool_batches",
        "worker_pool",
        "expected_nodes",
        "delete_delivery_secrets",
        "wait_nodes",
        "register",
        "verify",
        "finish",
    }
    pools = {tid: t.pool for tid, t in tasks.items()}
    assert pools["validate"] == pools["security_group"] == pools["control_plane"] == "alibaba_ecs_api"
    assert pools["worker_pool"] == "alibaba_ecs_api"
    assert pools["apiserver_lb"] == "alibaba_slb_api" and pools["api_dns"] == "alibaba_dns_api"
    assert pools["wait_api_server"] == pools["wait_nodes"] == "kubernetes_api"
    for tid in ("validate", "security_group", "control_plane", "apiserver_lb", "api_dns", "worker_pool"):
        assert tasks[tid].retries >= 2 and tasks[tid].retry_exponential_backoff, tid
    assert tasks["take_lock"].retries == 0 and tasks["finish"].retries == 0
    assert tasks["finish"].trigger_rule == "all_done"
    assert tasks["wait_nodes"].trigger_rule == "none_failed_min_one_success"
    assert tasks["finish"].upstream_task_ids == {"verify", "delete_delivery_secrets"}
    assert tasks["delete_delivery_secrets"].trigger_rule == "all_done"
    assert tasks["verify"].upstream_task_ids == {"register", "validate"}
    assert getattr(tasks["worker_pool"], "_is_mapped", False) or type(
        tasks["worker_pool"]
    ).__name__.startswith("Mapped")
    assert [a.uri for a in tasks["register"].outlets] == ["x-yunfleet://registry/clusters"]
    # nothing mutating can run before the lock and the validation
    first_mutating = tasks["security_group"]
    assert {"take_lock", "validate", "show_plan", "credentials"} <= first_mutating.get_flat_relative_ids(
        upstream=True
    )


def test_decommission_wiring() -> None:
    dag = load("decommission_cluster")
    order = [
        "take_lock",
        "inventory",
        "show_plan",
        "delete_dns",
        "delete_instances",
        "delete_load_balancers",
        "delete_security_groups",
        "deregister",
        "finish",
    ]
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == set(order)
    for before, after in itertools.pairwise(order[2:]):
        assert before in tasks[after].upstream_task_ids, (before, after)
    assert tasks["finish"].trigger_rule == "all_done"
    assert tasks["delete_instances"].pool == "alibaba_ecs_api" and tasks["delete_instances"].retries >= 2
