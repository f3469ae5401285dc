"""
### Decommission a Kubernetes cluster

Removes everything Yunfleet created for `cluster_name`, in reverse order: the DNS records it owns,
its instances (workers, then the control plane), its load balancers (after the control plane, whose
cloud controller would recreate a Service's SLB), its security group, and its registry entry. Only
resources tagged `yunfleet:cluster=<cluster_name>` (and DNS names the registry records as the
cluster's) are touched. `confirm_cluster_name` must repeat the name.

Safe to re-run after a partial failure: each step finds what is left and deletes only that. With
`dry_run` the run lists what it would delete (audit rows `dry_run`) and deletes nothing.
"""

from __future__ import annotations

from airflow.sdk import dag

from flows import decommission_cluster as steps
from flows.defaults import CLOUD_RETRIES, START_DATE, params_from
from include.provisioning.params import decommission_param_specs


@dag(
    dag_id="decommission_cluster",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=8,
    tags=["yunfleet", "provisioning", "mutating"],
    doc_md=__doc__,
    default_args={"owner": "platform", **CLOUD_RETRIES},
    params=params_from(decommission_param_specs()),
)
def decommission_cluster() -> None:
    inv = steps.inventory(steps.take_lock())
    dns = steps.delete_dns(inv)
    steps.show_plan(inv) >> dns
    lbs = steps.delete_load_balancers(inv)
    instances = steps.delete_instances(inv)
    groups = steps.delete_security_groups(inv)
    dns >> instances >> lbs >> groups >> steps.deregister() >> steps.finish()


decommission_cluster()
