"""Tasks of the ``decommission_cluster`` DAG: task X is the function X below.

Only resources tagged ``yunfleet:cluster=<cluster>`` and DNS names whose ownership record says they
are the cluster's are touched; the pure plan (``include.provisioning.decommission``) refuses the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk import task

from flows import hooks, run
from flows.defaults import CLUSTERS
from include.fleet.contract import TAG_CLUSTER, api_record_owner, api_record_rr
from include.provisioning.naming import security_group_name

log = logging.getLogger(__name__)

#: the steps that delete; ``finish`` marks the cluster ``failed`` when one ran and the run did not complete
APPLY_TASKS = ("delete_dns", "delete_load_balancers", "delete_instances", "delete_security_groups")


def cluster_of(context: Mapping[str, Any]) -> str:
    return str(run.params_of(context)["cluster_name"])


def _actions(inv: Mapping[str, Any], product: str, action: str) -> list[Any]:
    from include.provisioning.decommission import DecommissionPlan

    plan = DecommissionPlan.from_json(inv["plan"])
    return [a for a in plan.actions if a.product == product and a.action == action]


@task(retries=0)
@run.entry
def take_lock(**context: Any) -> dict[str, Any]:
    """The confirmation must repeat the name; then the per-cluster lock, before any cloud call."""
    params = run.params_of(context)
    cluster, confirm = params["cluster_name"], params.get("confirm_cluster_name")
    if confirm != cluster:
        run.fail(
            f"confirm_cluster_name {confirm!r} does not match cluster_name {cluster!r}; nothing was changed"
        )
    record = hooks.registry().registry.get_cluster(cluster)
    region = record.region_id if record else str(hooks.cloud_extra().get("region_id") or "")
    return run.lock_cluster(context, cluster, region, params["ticket_id"], "decommissioning", None)


@task(pool="alibaba_ecs_api")
@run.reported
def inventory(lock: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Find everything tagged for (or owned by) the cluster and plan its deletion."""
    from include.provisioning.decommission import ObservedResource, plan_decommission

    cluster = cluster_of(context)
    ecs, slb, dns = hooks.ecs(cluster), hooks.slb(cluster), hooks.dns(cluster)
    registry = hooks.registry().registry
    record = registry.get_cluster(cluster)
    domain = (record.domain if record else "") or str(hooks.cloud_extra().get("dns_domain") or "")
    observed: list[ObservedResource] = []
    for instance in ecs.list_cluster_instances(cluster):
        observed.append(ObservedResource("instance", instance.instance_id, instance.name, instance.tags))
    for lb in slb.find_load_balancers(cluster=cluster):
        tags = getattr(lb, "tags", None) or {TAG_CLUSTER: cluster}
        observed.append(ObservedResource("load_balancer", lb.load_balancer_id, lb.name, tags))
    for group in ecs.list_security_groups(cluster):
        observed.append(ObservedResource("security_group", group.security_group_id, group.name, group.tags))
    owners: dict[str, str] = {row.rr: row.owner for row in registry.list_dns_ownership(cluster=cluster)}
    api_rr = api_record_rr(cluster)
    if domain and api_rr not in owners and dns.owner_of(domain, api_rr) == api_record_owner(cluster):
        owners[api_rr] = api_record_owner(cluster)
    for rr in sorted(owners):
        observed.append(ObservedResource("dns_record", rr, f"{rr}.{domain}", owned=True))
    plan = plan_decommission(cluster, observed, registered=record is not None)
    if plan.refused:
        log.warning("not ours, left alone: %s", ", ".join(plan.refused))
    return {
        "plan": plan.to_json(),
        "domain": domain,
        "dns_owners": owners,
        "security_group": security_group_name(cluster),
    }


@task.short_circuit(ignore_downstream_trigger_rules=False, retries=0)
def show_plan(inv: dict[str, Any], **context: Any) -> bool:
    """What would be deleted, in the log; a dry run records it as ``dry_run`` audit rows and stops here."""
    from include.provisioning.decommission import DecommissionPlan

    plan = DecommissionPlan.from_json(inv["plan"])
    actions = [run.PlannedAction(a.product, a.action, ",".join(a.targets), a.to_json()) for a in plan.actions]
    return run.show_plan(context, plan.cluster, plan.summary() or ["nothing left to delete"], actions)


@task(pool="alibaba_dns_api")
@run.reported
def delete_dns(inv: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The DNS records the cluster owns (and their TXT ownership records); released in the registry.

    First its exported Services' names (``register_services``): global names stop answering with it
    before its load balancers go.
    """
    from flows.register_services import withdraw_cluster

    cluster = cluster_of(context)
    dns = hooks.dns(cluster)
    registry = hooks.registry().registry
    deleted: list[str] = withdraw_cluster(cluster, inv["domain"]) if inv["domain"] else []
    for action in _actions(inv, "alidns", "DeleteDomainRecord"):
        rr = action.targets[0]
        summary = dns.delete_records(domain=inv["domain"], rr=rr, owner=inv["dns_owners"][rr])
        deleted.extend(summary.get("deleted", []))
        for row in registry.list_dns_ownership(cluster=cluster):
            if row.rr == rr:
                registry.release_dns(
                    domain=row.domain, rr=row.rr, record_type=row.record_type, value=row.value
                )
    return {"deleted": deleted}


@task(pool="alibaba_slb_api")
@run.reported
def delete_load_balancers(inv: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The cluster's load balancers (API server SLB and Service SLBs tagged for it), after its instances:
    the planned ones, and any Service SLB its cloud controller created after the inventory."""
    cluster = cluster_of(context)
    slb = hooks.slb(cluster)
    planned = [a.targets[0] for a in _actions(inv, "slb", "DeleteLoadBalancer")]
    late = [lb.load_balancer_id for lb in slb.find_load_balancers(cluster=cluster)]
    planned += [lb_id for lb_id in late if lb_id not in planned]
    deleted = [lb_id for lb_id in planned if slb.delete_load_balancer(lb_id, cluster=cluster)]
    return {"deleted": deleted}


@task(pool="alibaba_ecs_api")
@run.reported
def delete_instances(inv: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Workers first, then the control plane; waits until every instance is gone; then any delivery
    secret left in KMS (a node that never booted never read it)."""
    cluster = cluster_of(context)
    ecs = hooks.ecs(cluster)
    batches = [action.targets for action in _actions(inv, "ecs", "DeleteInstances")]
    deleted = ecs.delete_instances_and_wait(batches, cluster=cluster, wait=False)
    targets = [i for batch in batches for i in batch]
    if targets:  # also the ones a previous try released: the security group goes only after all of them
        ecs.wait_for("instances_deleted", instance_ids=targets, poll_interval=2.0, max_attempts=150)
    # a node that never booted leaves its KMS delivery secret behind
    secrets = hooks.kms(cluster).delete_cluster_secrets(cluster)
    return {"deleted": deleted, "secrets_deleted": secrets}


@task(pool="alibaba_ecs_api")
@run.reported
def delete_security_groups(inv: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The cluster's security group (after its instances are gone, or ECS refuses)."""
    from include.errors import ResourceNotFoundError

    cluster = cluster_of(context)
    ecs = hooks.ecs(cluster)
    deleted = []
    for action in _actions(inv, "ecs", "DeleteSecurityGroup"):
        try:
            ecs.delete_security_group(action.targets[0], cluster=cluster)
        except ResourceNotFoundError:
            continue
        deleted.append(action.targets[0])
    return {"deleted": deleted}


@task(outlets=[CLUSTERS])
@run.reported
def deregister(**context: Any) -> dict[str, Any]:
    """Nothing of the cluster is left in the cloud; the lock release in ``finish`` removes its row."""
    cluster = cluster_of(context)
    context["outlet_events"][CLUSTERS].extra = {"cluster": cluster, "event": "decommissioned"}
    return {"cluster": cluster}


#: which task carries out each kind of planned action
ACTION_TASKS = {
    ("alidns", "DeleteDomainRecord"): "delete_dns",
    ("slb", "DeleteLoadBalancer"): "delete_load_balancers",
    ("ecs", "DeleteInstances"): "delete_instances",
    ("ecs", "DeleteSecurityGroup"): "delete_security_groups",
}


def what_exists(ti: Any) -> list[str]:
    """What the inventory found that no finished delete step removed: still there after a failed run."""
    from include.provisioning.decommission import DecommissionPlan

    inv = run.pull(ti, "inventory")
    if not inv:
        return []
    plan = DecommissionPlan.from_json(inv["plan"])
    done = {t for t in APPLY_TASKS if run.pull(ti, t) is not None}
    return [
        f"{action.product} {target}"
        for action in plan.actions
        if ACTION_TASKS.get((action.product, action.action)) not in done
        for target in action.targets
    ]


LIFECYCLE = run.Lifecycle(
    done_task="deregister", success_state=None, apply_tasks=APPLY_TASKS, what_exists=what_exists
)

finish = run.finish_task(LIFECYCLE)
