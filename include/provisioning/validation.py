"""Semantic validation of a provisioning request: the checks a JSON schema cannot make.

Two pure functions. :func:`request_errors` needs only the request (rules that span params).
:func:`cloud_errors` judges the request against facts observed in the cloud and the registry (zones,
vSwitches, stock, quotas, the name). Both return clear one-line errors; an empty list means go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from include.provisioning.catalog import REGION_ZONES
from include.provisioning.plan import plan_provision
from include.provisioning.request import ProvisionRequest

#: DescribeAvailableResource ``StatusCategory`` values that mean instances can be created now.
IN_STOCK = frozenset({"WithStock", "ClosedWithStock", "Available"})


@dataclass(frozen=True)
class CloudFacts:
    """What the validate task observed before deciding (all read-only calls)."""

    region_id: str
    #: Zone ids DescribeZones returned for the region.
    zones: frozenset[str]
    #: vSwitch id per zone in the cluster VPC.
    vswitches: Mapping[str, str]
    #: ``(zone, instance_type) -> StatusCategory`` from DescribeAvailableResource; absent = not offered.
    stock: Mapping[tuple[str, str], str]
    #: The registry's record of a cluster with this name (its params), if any and not decommissioned.
    registered_spec: Mapping[str, Any] | None = None
    #: The registered cluster's lifecycle state, e.g. ``provisioning``, ``ready``.
    registered_state: str | None = None
    #: vCPUs still available under the account's quota (quota minus usage); ``None`` when unknown.
    vcpu_quota_remaining: int | None = None
    #: vCPUs per instance type (DescribeInstanceTypes); needed for the quota check.
    instance_vcpus: Mapping[str, int] = field(default_factory=dict)
    #: Load balancers still creatable; ``None`` when unknown.
    load_balancer_quota_remaining: int | None = None
    #: vCPUs of instances already tagged for this cluster (planned, so not counted twice).
    existing_vcpus: int = 0
    #: Whether an apiserver load balancer already exists for this cluster.
    existing_load_balancer: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def request_errors(request: ProvisionRequest) -> list[str]:
    """Rules that span several params; checked before any cloud call."""
    errors: list[str] = []
    known = REGION_ZONES.get(request.region_id, ())
    for zone in request.zones:
        if zone not in known:
            errors.append(f"zones: {zone} is not a zone of region {request.region_id}")
    if len(set(request.zones)) != len(request.zones):
        errors.append("zones: a zone is listed twice")
    seen: set[str] = set()
    for pool in request.node_pools:
        if pool.name in seen:
            errors.append(f"node_pools: the pool name {pool.name!r} is used twice")
        seen.add(pool.name)
        outside = [z for z in pool.zones if z not in request.zones]
        if outside:
            errors.append(
                f"node_pools[{pool.name}].zones: {', '.join(outside)} not among the cluster's zones "
                f"({', '.join(request.zones)})"
            )
        if not pool.min_size <= pool.desired_size <= pool.max_size:
            errors.append(
                f"node_pools[{pool.name}]: need min_size <= desired_size <= max_size, got "
                f"{pool.min_size} <= {pool.desired_size} <= {pool.max_size}"
            )
    if request.control_plane.count not in (1, 3):
        errors.append(f"control_plane.count: must be 1 or 3, got {request.control_plane.count}")
    return errors


def same_cluster(request: ProvisionRequest, registered: Mapping[str, Any]) -> bool:
    """Whether a registered spec asks for the same cluster (ticket, dry-run and callback aside)."""
    ignore = {"ticket_id", "dry_run", "callback_url"}
    mine = {k: v for k, v in request.to_params().items() if k not in ignore}
    theirs = {k: v for k, v in registered.items() if k not in ignore}
    if theirs.get("node_pools"):
        theirs["node_pools"] = [
            {**pool, "zones": list(pool.get("zones") or theirs.get("zones", []))}
            for pool in theirs["node_pools"]
        ]
    return mine == theirs


def cloud_errors(request: ProvisionRequest, facts: CloudFacts) -> list[str]:
    """Everything that would make the apply fail, judged from observed facts."""
    errors: list[str] = []
    if facts.region_id != request.region_id:
        errors.append(f"region_id: facts are for {facts.region_id}, the request is for {request.region_id}")
    missing = [z for z in request.zones if z not in facts.zones]
    if missing:
        errors.append(
            f"zones: {', '.join(missing)} not available in {request.region_id} "
            f"(available: {', '.join(sorted(facts.zones)) or 'none'})"
        )
    no_vswitch = [z for z in request.zones if z in facts.zones and z not in facts.vswitches]
    if no_vswitch:
        errors.append(f"zones: no vSwitch of the cluster VPC in {', '.join(no_vswitch)}; create one first")

    converged_rerun = False
    if facts.registered_spec is not None:
        if same_cluster(request, facts.registered_spec):
            converged_rerun = facts.registered_state == "ready"
        else:
            ticket = facts.registered_spec.get("ticket_id", "?")
            errors.append(
                f"cluster_name: {request.cluster_name!r} is already used by a different cluster "
                f"(registered from ticket {ticket}, state {facts.registered_state}); pick another name "
                "or decommission it first"
            )

    if not converged_rerun:
        errors.extend(_stock_errors(request, facts))
        if facts.vcpu_quota_remaining is not None:
            errors.extend(_quota_errors(request, facts, facts.vcpu_quota_remaining))
        if (
            facts.load_balancer_quota_remaining is not None
            and not facts.existing_load_balancer
            and facts.load_balancer_quota_remaining < 1
        ):
            errors.append(f"quota: no load balancer left in {request.region_id} for the API server")
    return errors


def _quota_errors(request: ProvisionRequest, facts: CloudFacts, remaining: int) -> list[str]:
    total = 0
    for item in plan_provision(request).by_kind("instances"):
        vcpus = facts.instance_vcpus.get(item.instance_type or "")
        if vcpus is None:
            return [f"quota: vCPUs of {item.instance_type} unknown; cannot check the vCPU quota"]
        total += vcpus * item.count
    needed = max(total - facts.existing_vcpus, 0)
    if needed > remaining:
        return [f"quota: {needed} more vCPUs needed, only {remaining} left in {request.region_id}"]
    return []


def _stock_errors(request: ProvisionRequest, facts: CloudFacts) -> list[str]:
    needs: dict[tuple[str, str], list[str]] = {}
    plan = plan_provision(request)
    for item in plan.by_kind("instances"):
        assert item.zone is not None and item.instance_type is not None
        who = "control plane" if item.node_pool is None else f"pool {item.node_pool}"
        needs.setdefault((item.zone, item.instance_type), []).append(who)
    errors = []
    for (zone, instance_type), users in sorted(needs.items()):
        if zone not in facts.zones:
            continue  # already reported
        status = facts.stock.get((zone, instance_type))
        if status is None:
            errors.append(f"stock: {instance_type} is not offered in {zone} (needed by {', '.join(users)})")
        elif status not in IN_STOCK:
            errors.append(
                f"stock: {instance_type} is sold out in {zone} ({status}; needed by {', '.join(users)})"
            )
    return errors
