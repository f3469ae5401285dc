"""
### Decommission a Kubernetes cluster

Removes everything Yunfleet created for `cluster_name`, in reverse order: the DNS records it owns,
its load balancers, its instances (workers, then the control plane), its security group, and its
registry entry. Only resources tagged `yunfleet:cluster=<cluster_name>` (and DNS names the registry
records as the cluster's) are touched. `confirm_cluster_name` must repeat the name.

Safe to re-run after a partial failure: each step finds what is left and deletes only that. With
`dry_run` the run lists what it would delete (audit rows `dry_run`) and deletes nothing.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import dag, task

from include.provisioning.params import decommission_param_specs
from yunfleet.dag_common import CLOUD_RETRIES, CLUSTERS, as_param


@dag(
    dag_id="decommission_cluster",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=8,
    tags=["yunfleet", "provisioning", "mutating"],
    doc_md=__doc__,
    default_args={"owner": "platform", **CLOUD_RETRIES},
    params={name: as_param(spec) for name, spec in decommission_param_specs().items()},
)
def decommission_cluster() -> None:
    # Each task imports its step module when it runs: parsing this file stays fast.

    @task(retries=0)
    def take_lock(**context: Any) -> dict[str, Any]:
        from yunfleet import decommission_tasks as steps
        from yunfleet.provisioning_tasks import reporting

        with reporting(context):
            return steps.take_lock(context)

    @task(pool="alibaba_ecs_api")
    def inventory(lock: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import decommission_tasks as steps
        from yunfleet.provisioning_tasks import reporting

        with reporting(context):
            return steps.inventory(context, lock)

    @task.short_circuit(ignore_downstream_trigger_rules=False, retries=0)
    def show_plan(inv: dict[str, Any], **context: Any) -> bool:
        from yunfleet import decommission_tasks as steps

        return steps.show_plan(context, inv)

    @task(pool="alibaba_dns_api")
    def delete_dns(inv: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import decommission_tasks as steps
        from yunfleet.provisioning_tasks import reporting

        with reporting(context):
            return steps.delete_dns(context, inv)

    @task(pool="alibaba_slb_api")
    def delete_load_balancers(inv: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import decommission_tasks as steps
        from yunfleet.provisioning_tasks import reporting

        with reporting(context):
            return steps.delete_load_balancers(context, inv)

    @task(pool="alibaba_ecs_api")
    def delete_instances(inv: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import decommission_tasks as steps
        from yunfleet.provisioning_tasks import reporting

        with reporting(context):
            return steps.delete_instances(context, inv)

    @task(pool="alibaba_ecs_api")
    def delete_security_groups(inv: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import decommission_tasks as steps
        from yunfleet.provisioning_tasks import reporting

        with reporting(context):
            return steps.delete_security_groups(context, inv)

    @task(outlets=[CLUSTERS])
    def deregister(**context: Any) -> dict[str, Any]:
        from yunfleet import decommission_tasks as steps

        result = steps.deregister(context)
        context["outlet_events"][CLUSTERS].extra = {"cluster": result["cluster"], "event": "decommissioned"}
        return result

    @task(trigger_rule="all_done", retries=0)
    def finish(**context: Any) -> dict[str, Any]:
        from yunfleet import decommission_tasks as steps
        from yunfleet import provisioning_tasks

        return provisioning_tasks.finish(
            context, "decommission_cluster", steps.ALL_TASKS, steps.APPLY_TASKS, "deregister", None
        )

    inv = inventory(take_lock())
    gate = show_plan(inv)
    dns = delete_dns(inv)
    gate >> dns
    lbs = delete_load_balancers(inv)
    instances = delete_instances(inv)
    groups = delete_security_groups(inv)
    dns >> lbs >> instances >> groups >> deregister() >> finish()


decommission_cluster()
