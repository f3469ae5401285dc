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

from airflow.sdk import dag

from flows import provision_cluster as steps
from flows.defaults import CLOUD_RETRIES, START_DATE, params_from
from include.provisioning.params import provision_param_specs
from operators.sensors.kubernetes import KubernetesApiServerReadySensor, KubernetesNodesReadySensor

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
    start_date=START_DATE,
    catchup=False,
    max_active_runs=8,
    tags=["yunfleet", "provisioning", "mutating"],
    doc_md=__doc__,
    default_args={"owner": "platform", **CLOUD_RETRIES},
    params=params_from(provision_param_specs()),
    render_template_as_native_obj=True,
)
def provision_cluster() -> None:
    validated = steps.validate(steps.take_lock())
    creds = steps.credentials()
    steps.show_plan(validated["plan"]) >> creds
    sg = steps.security_group(validated)
    creds >> sg
    lb = steps.apiserver_lb(validated, steps.control_plane(validated, sg))
    dns = steps.api_dns(validated, lb)
    wait_api = KubernetesApiServerReadySensor(
        task_id="wait_api_server", cluster="{{ params.cluster_name }}", pool="kubernetes_api", **CLUSTER_WAIT
    )
    workers = steps.worker_pool.partial(validated=validated, sg=sg).expand(
        item=steps.pool_batches(validated["worker_batches"])
    )
    # A pool-less cluster maps no worker task (skipped): expected_nodes runs when nothing failed.
    nodes = steps.expected_nodes()
    wait_nodes = KubernetesNodesReadySensor(
        task_id="wait_nodes",
        cluster="{{ params.cluster_name }}",
        count="{{ ti.xcom_pull(task_ids='validate', key='node_count') }}",
        expected_nodes=nodes,
        pool="kubernetes_api",
        trigger_rule="none_failed_min_one_success",
        **CLUSTER_WAIT,
    )
    dns >> wait_api >> workers
    [wait_api, workers] >> nodes
    done = steps.finish()
    nodes >> wait_nodes >> steps.register(validated) >> steps.verify(validated) >> done
    wait_nodes >> steps.delete_delivery_secrets() >> done


provision_cluster()
