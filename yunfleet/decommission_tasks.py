"""Task bodies of the ``decommission_cluster`` DAG (the DAG file only wires them)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from include.provisioning.naming import TAG_CLUSTER, api_record_owner, api_record_rr, security_group_name
from yunfleet.provisioning_tasks import (
    cloud_extra,
    fail,
    lock_cluster,
    params_of,
    record_dry_run,
    registry_hook,
)

log = logging.getLogger(__name__)

APPLY_TASKS = ("delete_dns", "delete_load_balancers", "delete_instances", "delete_security_groups")
ALL_TASKS = ("take_lock", "inventory", "show_plan", *APPLY_TASKS, "deregister")


def _hooks(cluster: str) -> tuple[Any, Any, Any]:
    from operators.hooks.dns import DnsHook
    from operators.hooks.ecs import EcsHook
    from operators.hooks.slb import SlbHook

    return EcsHook(cluster=cluster), SlbHook(cluster=cluster), DnsHook(cluster=cluster)


def take_lock(context: Mapping[str, Any]) -> dict[str, Any]:
    params = params_of(context)
    cluster, confirm = params["cluster_name"], params.get("confirm_cluster_name")
    if confirm != cluster:
        fail(f"confirm_cluster_name {confirm!r} does not match cluster_name {cluster!r}; nothing was changed")
    record = registry_hook().registry.get_cluster(cluster)
    region = record.region_id if record else str(cloud_extra().get("region_id") or "")
    return lock_cluster(context, cluster, region, params["ticket_id"], "decommissioning", None)


def _tagged_security_groups(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    from include.provisioning.observe import _call, _items

    found: list[dict[str, Any]] = []
    page = 1
    while True:
        body = _call(
            ecs,
            "DescribeSecurityGroups",
            {"Tag": [{"Key": TAG_CLUSTER, "Value": cluster}], "PageNumber": page, "PageSize": 50},
        )
        items = _items(body, "SecurityGroups", "SecurityGroup")
        found.extend(items)
        if len(items) < 50:
            return found
        page += 1


def inventory(context: Mapping[str, Any], lock_json: dict[str, Any]) -> dict[str, Any]:
    """Find everything tagged for (or owned by) the cluster and plan its deletion."""
    from include.provisioning.decommission import ObservedResource, plan_decommission

    cluster = params_of(context)["cluster_name"]
    ecs, slb, dns = _hooks(cluster)
    registry = registry_hook().registry
    record = registry.get_cluster(cluster)
    domain = (record.domain if record else "") or str(cloud_extra().get("dns_domain") or "")
    observed: list[ObservedResource] = []
    for instance in ecs.list_cluster_instances(cluster):
        observed.append(ObservedResource("instance", instance.instance_id, instance.name, instance.tags))
    for lb in slb.find_load_balancers(cluster=cluster):
        tags = getattr(lb, "tags", None) or {TAG_CLUSTER: cluster}
        observed.append(ObservedResource("load_balancer", lb.load_balancer_id, lb.name, tags))
    for group in _tagged_security_groups(ecs, cluster):
        tags = {t.get("TagKey", ""): t.get("TagValue", "") for t in (group.get("Tags") or {}).get("Tag", [])}
        observed.append(
            ObservedResource(
                "security_group", group["SecurityGroupId"], group.get("SecurityGroupName", ""), tags
            )
        )
    owners: dict[str, str] = {}
    for row in registry.list_dns_ownership(cluster=cluster):
        owners[row.rr] = row.owner
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


def show_plan(context: Mapping[str, Any], inv: dict[str, Any]) -> bool:
    from include.provisioning.decommission import DecommissionPlan

    plan = DecommissionPlan.from_json(inv["plan"])
    lines = plan.summary() or ["nothing left to delete"]
    log.info("decommission plan for %s:\n%s", plan.cluster, "\n".join(lines))
    if not params_of(context).get("dry_run"):
        return True
    record_dry_run(
        plan.cluster, [(a.product, a.action, ",".join(a.targets), a.to_json()) for a in plan.actions]
    )
    return False


def _actions(inv: dict[str, Any], product: str, action: str) -> list[Any]:
    from include.provisioning.decommission import DecommissionPlan

    plan = DecommissionPlan.from_json(inv["plan"])
    return [a for a in plan.actions if a.product == product and a.action == action]


def delete_dns(context: Mapping[str, Any], inv: dict[str, Any]) -> dict[str, Any]:
    cluster = params_of(context)["cluster_name"]
    _, _, dns = _hooks(cluster)
    registry = registry_hook().registry
    deleted: list[str] = []
    for action in _actions(inv, "alidns", "DeleteDomainRecord"):
        rr = action.targets[0]
        owner = inv["dns_owners"][rr]
        summary = dns.delete_records(domain=inv["domain"], rr=rr, owner=owner)
        deleted.extend(summary.get("deleted", []))
        for row in registry.list_dns_ownership(cluster=cluster):
            if row.rr == rr:
                registry.release_dns(
                    domain=row.domain, rr=row.rr, record_type=row.record_type, value=row.value
                )
    return {"deleted": deleted}


def delete_load_balancers(context: Mapping[str, Any], inv: dict[str, Any]) -> dict[str, Any]:
    cluster = params_of(context)["cluster_name"]
    _, slb, _ = _hooks(cluster)
    deleted = [
        a.targets[0]
        for a in _actions(inv, "slb", "DeleteLoadBalancer")
        if slb.delete_load_balancer(a.targets[0], cluster=cluster)
    ]
    return {"deleted": deleted}


def delete_instances(context: Mapping[str, Any], inv: dict[str, Any]) -> dict[str, Any]:
    cluster = params_of(context)["cluster_name"]
    ecs, _, _ = _hooks(cluster)
    deleted: list[str] = []
    targets: list[str] = []
    for action in _actions(inv, "ecs", "DeleteInstances"):  # workers first, then the control plane
        targets.extend(action.targets)
        deleted.extend(ecs.delete_instances(action.targets, cluster=cluster))
    if targets:
        ecs.wait_for("instances_deleted", instance_ids=targets, poll_interval=2.0, max_attempts=150)
    return {"deleted": deleted}


def delete_security_groups(context: Mapping[str, Any], inv: dict[str, Any]) -> dict[str, Any]:
    from include.errors import ResourceNotFoundError

    cluster = params_of(context)["cluster_name"]
    ecs, _, _ = _hooks(cluster)
    deleted = []
    for action in _actions(inv, "ecs", "DeleteSecurityGroup"):
        try:
            ecs.delete_security_group(action.targets[0], cluster=cluster)
        except ResourceNotFoundError:
            continue
        deleted.append(action.targets[0])
    return {"deleted": deleted}


def deregister(context: Mapping[str, Any]) -> dict[str, Any]:
    """Nothing of the cluster is left in the cloud; the lock release in ``finish`` removes the row."""
    return {"cluster": params_of(context)["cluster_name"]}
