"""
### Provision a Kubernetes cluster

Turns a request (the trigger form, or a ticketing system through the REST API) into a running,
registered cluster on Alibaba Cloud. Every step is idempotent ("ensure"), retried with back-off on
transient cloud errors, and audited with the request's `ticket_id`.

1. **take_lock**: rules across params, then the per-cluster lock: a second run for the same
   `cluster_name` fails here, having changed nothing.
2. **validate**: zones, vSwitches, stock (DescribeAvailableResource), vCPU quota, the name; then the
   plan and its Great Expectations gate. A failure here changes nothing.
3. **show_plan**: the plan in the log. With `dry_run` the run stops here (audit rows `dry_run`).
4. **apply**: cluster PKI and bootstrap token (encrypted in the registry), security group,
   control-plane instances with cloud-init + kubeadm user-data, an intranet SLB (TCP 6443),
   `api.<cluster>.<domain>`, the API server wait (deferred), worker pools (one mapped task per
   pool and zone), the nodes-Ready wait (deferred, fails clearly on timeout).
5. **register**: spec, pools (min/desired/max per zone) and endpoints in the registry; emits the
   `yunfleet_clusters` asset event.
6. **finish**: releases the lock, POSTs the signed outcome to `callback_url`, and fails the run
   with a report of what failed and what exists.

Re-running a request that succeeded makes no mutating call. See docs/provisioning.md.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import dag, task

from include.provisioning.params import provision_param_specs
from operators.sensors.kubernetes import KubernetesApiServerReadySensor, KubernetesNodesReadySensor
from yunfleet.dag_common import CLOUD_RETRIES, CLUSTERS, as_param

# The cluster waits run in the triggerer (the sensors import their hook only when they poke), poll
# every 3 s for up to 200 checks, and a wait that fails or times out fails the task without retries.
CLUSTER_WAIT: dict[str, Any] = {
    "deferrable": True,
    "poll_interval": 3.0,
    "max_attempts": 200,
    "fail_without_retry": True,
}


@dag(
    dag_id="provision_cluster",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=8,
    tags=["yunfleet", "provisioning", "mutating"],
    doc_md=__doc__,
    default_args={"owner": "platform", **CLOUD_RETRIES},
    params={name: as_param(spec) for name, spec in provision_param_specs().items()},
    render_template_as_native_obj=True,
)
def provision_cluster() -> None:
    # Each task imports its step module when it runs: parsing this file stays fast.
    @task(retries=0)
    def take_lock(**context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            return steps.take_lock(context)

    @task(pool="alibaba_ecs_api", multiple_outputs=True)
    def validate(lock: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            return steps.validate(context, lock)

    @task.short_circuit(ignore_downstream_trigger_rules=False, retries=0)
    def show_plan(plan: dict[str, Any], **context: Any) -> bool:
        from yunfleet import provisioning_tasks as steps

        return steps.show_plan(context, {"plan": plan})

    @task
    def credentials(**context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            return steps.credentials(context)

    @task(pool="alibaba_ecs_api")
    def security_group(validated: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            return steps.security_group(context, validated)

    @task(pool="alibaba_ecs_api")
    def control_plane(validated: dict[str, Any], sg: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            return steps.control_plane(context, validated, sg)

    @task(pool="alibaba_slb_api")
    def apiserver_lb(validated: dict[str, Any], cp: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            return steps.apiserver_lb(context, validated, cp)

    @task(pool="alibaba_dns_api")
    def api_dns(validated: dict[str, Any], lb: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            return steps.api_dns(context, validated, lb)

    @task(retries=0)
    def pool_batches(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One item per node pool and zone: the worker tasks map over these."""
        return batches

    @task(pool="alibaba_ecs_api", max_active_tis_per_dagrun=4)
    def worker_pool(
        item: dict[str, Any], validated: dict[str, Any], sg: dict[str, Any], **context: Any
    ) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            return steps.worker_batch(context, validated, sg, item)

    @task(outlets=[CLUSTERS])
    def register(validated: dict[str, Any], **context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        with steps.reporting(context):
            result = steps.register(context, validated)
            context["outlet_events"][CLUSTERS].extra = {"cluster": result["cluster"], "event": "provisioned"}
            return result

    @task(trigger_rule="all_done", retries=0)
    def finish(**context: Any) -> dict[str, Any]:
        from yunfleet import provisioning_tasks as steps

        return steps.finish(
            context, "provision_cluster", steps.ALL_TASKS, steps.APPLY_TASKS, "register", "ready"
        )

    lock = take_lock()
    validated = validate(lock)
    gate = show_plan(validated["plan"])
    creds = credentials()
    gate >> creds
    sg = security_group(validated)
    creds >> sg
    cp = control_plane(validated, sg)
    lb = apiserver_lb(validated, cp)
    dns = api_dns(validated, lb)
    wait_api = KubernetesApiServerReadySensor(
        task_id="wait_api_server", cluster="{{ params.cluster_name }}", pool="kubernetes_api", **CLUSTER_WAIT
    )
    workers = worker_pool.partial(validated=validated, sg=sg).expand(
        item=pool_batches(validated["worker_batches"])
    )
    # No XComArg for the count: a pool-less cluster maps no worker task (skipped), and the
    # trigger rule below must then see only wait_api_server and the workers upstream.
    wait_nodes = KubernetesNodesReadySensor(
        task_id="wait_nodes",
        cluster="{{ params.cluster_name }}",
        count="{{ ti.xcom_pull(task_ids='validate', key='node_count') }}",
        pool="kubernetes_api",
        trigger_rule="none_failed_min_one_success",
        **CLUSTER_WAIT,
    )
    registered = register(validated)
    dns >> wait_api >> workers
    [wait_api, workers] >> wait_nodes >> registered >> finish()


provision_cluster()
