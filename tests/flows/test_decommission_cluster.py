"""Task code of ``decommission_cluster`` (``flows/decommission_cluster.py``) run outside a scheduler."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from flows import decommission_cluster as steps
from flows import run
from include.provisioning.decommission import ObservedResource, plan_decommission
from tests.fixtures.flows import flow_context, load_dag

CLUSTER = "gamma"
PARAMS = {"cluster_name": CLUSTER, "confirm_cluster_name": CLUSTER, "ticket_id": "OPS-7"}
TAGS = {"yunfleet:cluster": CLUSTER, "yunfleet:role": "worker"}


def _inventory() -> dict[str, Any]:
    observed = [
        ObservedResource("instance", "i-w1", "gamma-worker", TAGS),
        ObservedResource("instance", "i-cp", "gamma-cp", {**TAGS, "yunfleet:role": "control-plane"}),
        ObservedResource("load_balancer", "lb-1", "gamma-apiserver", {"yunfleet:cluster": CLUSTER}),
        ObservedResource("security_group", "sg-1", "gamma-nodes", {"yunfleet:cluster": CLUSTER}),
        ObservedResource("dns_record", "api.gamma", "api.gamma.fleet.example.com", owned=True),
    ]
    plan = plan_decommission(CLUSTER, observed, registered=True)
    return {"plan": plan.to_json(), "domain": "fleet.example.com", "dns_owners": {}, "security_group": ""}


def _ready_cluster(flow_registry: Any) -> None:
    """A provisioned cluster, as its provisioning run's ``finish`` leaves it: state ``ready``."""
    flow_registry.registry.upsert_cluster(
        CLUSTER,
        region_id="cn-hangzhou",
        domain="fleet.example.com",
        spec={},
        state="ready",
        ticket_id="OPS-1",
    )


def _take_lock(flow_registry: Any, params: dict[str, Any]) -> dict[str, Any]:
    dag = load_dag("decommission_cluster")
    return steps.take_lock.function(**flow_context(dag, "take_lock", params))


def test_dry_run_shows_the_plan_records_it_and_ends_success(flow_registry: Any) -> None:
    _ready_cluster(flow_registry)
    params = {**PARAMS, "dry_run": True}
    lock = _take_lock(flow_registry, params)
    dag = load_dag("decommission_cluster")
    inv = _inventory()
    context = flow_context(dag, "show_plan", params, take_lock=lock, inventory=inv)
    assert steps.show_plan.function(inv, **context) is False
    assert context["ti"].xcoms[("show_plan", run.DRY_RUN_KEY)] is True
    rows = flow_registry.audit_store.list(cluster=CLUSTER)
    assert len(rows) == len(inv["plan"]["actions"]) > 0
    assert {r.outcome for r in rows} == {"dry_run"}
    # finish sees the dry-run mark and no apply result: success, and the cluster is ready again
    finish_ctx = flow_context(dag, "finish", params, take_lock=lock, inventory=inv)
    finish_ctx["ti"].xcoms.update(context["ti"].xcoms)
    result = run.finish(finish_ctx, steps.LIFECYCLE)
    assert result == {"outcome": "success", "message": "dry run: plan shown, nothing changed"}
    assert flow_registry.registry.require_cluster(CLUSTER).state == "ready"


def test_failed_delete_is_reported_with_what_is_left(flow_registry: Any) -> None:
    _ready_cluster(flow_registry)
    lock = _take_lock(flow_registry, PARAMS)
    dag = load_dag("decommission_cluster")
    inv = _inventory()
    context = flow_context(
        dag,
        "finish",
        PARAMS,
        take_lock=lock,
        inventory=inv,
        delete_dns={"deleted": ["rec-1"]},
        delete_load_balancers={"deleted": ["lb-1"]},
    )
    context["ti"].xcoms[("delete_instances", run.ERROR_KEY)] = "CloudError: IncorrectInstanceStatus"
    with pytest.raises(AirflowFailException) as info:
        run.finish(context, steps.LIFECYCLE)
    message = str(info.value)
    assert "delete_instances: CloudError: IncorrectInstanceStatus" in message
    assert "ecs i-w1" in message and "ecs i-cp" in message and "ecs sg-1" in message
    assert "lb-1" not in message.split("exists now:")[1]
    assert flow_registry.registry.require_cluster(CLUSTER).state == "failed"


def test_confirmation_must_repeat_the_name(flow_registry: Any) -> None:
    with pytest.raises(AirflowFailException, match="does not match"):
        _take_lock(flow_registry, {**PARAMS, "confirm_cluster_name": "gama"})
    assert flow_registry.registry.get_cluster(CLUSTER) is None


def test_unknown_conf_key_is_refused_before_the_lock(flow_registry: Any) -> None:
    dag = load_dag("decommission_cluster")
    conf = {**PARAMS, "dryrun": True}
    with pytest.raises(AirflowFailException, match="unknown key 'dryrun'; did you mean 'dry_run'"):
        steps.take_lock.function(**flow_context(dag, "take_lock", PARAMS, conf=conf))
    assert flow_registry.registry.get_cluster(CLUSTER) is None
