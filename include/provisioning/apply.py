"""The apply steps of a provisioning run that handle cluster secrets.

Control-plane and worker instances carry the cluster's credentials in their user-data, so the
user-data is rendered inside the task from the registry and never travels through XComs. The hook
and its spec class are passed in (``operators.hooks.ecs.EcsHook`` / ``InstanceSpec`` in the DAG,
fakes in tests), which keeps this module free of Airflow imports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from include.fleet.contract import ROLE_CONTROL_PLANE, ROLE_WORKER, TAG_INTENT
from include.provisioning.cloudinit import NodeSpec, render_user_data
from include.provisioning.naming import instance_name
from include.provisioning.pki import ClusterCredentials, generate_credentials
from include.provisioning.plan import PlannedResource, ProvisionPlan
from include.provisioning.request import ProvisionRequest


def ensure_credentials(registry: Any, cluster: str) -> ClusterCredentials:
    """The cluster's credentials: read from the registry, or generated once and stored encrypted."""
    record = registry.require_cluster(cluster)
    if record.has_credentials:
        return ClusterCredentials.from_json(registry.get_credentials(cluster))
    creds = generate_credentials(cluster)
    registry.put_credentials(cluster, creds.to_json())
    registry.update_endpoints(cluster, ca_cert=creds.ca_cert_pem)
    return creds


def load_credentials(registry: Any, cluster: str) -> ClusterCredentials:
    return ClusterCredentials.from_json(registry.get_credentials(cluster))


def node_spec(request: ProvisionRequest, item: PlannedResource, domain: str) -> NodeSpec:
    if item.zone is None or item.instance_type is None or item.role is None:
        raise ValueError(f"planned resource {item.key} is not an instance batch")
    return NodeSpec(
        cluster=request.cluster_name,
        region_id=request.region_id,
        domain=domain,
        kubernetes_version=request.kubernetes_version,
        role=item.role,
        zone=item.zone,
        instance_type=item.instance_type,
        node_pool=item.node_pool,
        index=item.index or 0,
    )


def ensure_batch(
    ecs: Any,
    spec_class: Callable[..., Any],
    *,
    request: ProvisionRequest,
    item: PlannedResource,
    count: int,
    creds: ClusterCredentials,
    domain: str,
    vswitches: Mapping[str, str],
    security_group_id: str,
    image_id: str,
) -> dict[str, Any]:
    """Ensure ``count`` live instances of this role/pool in the item's zone, user-data rendered here.

    Returns the hook's result (``instance_ids``, ``created_ids``): only ids, never secrets.
    """
    assert item.zone is not None
    user_data = render_user_data(node_spec(request, item, domain), creds)
    label = str(item.index) if item.role == ROLE_CONTROL_PLANE else str(item.node_pool)
    spec = spec_class(
        cluster=request.cluster_name,
        role=item.role,
        count=count,
        zone_id=item.zone,
        vswitch_id=vswitches[item.zone],
        instance_type=item.instance_type,
        image_id=image_id,
        security_group_id=security_group_id,
        node_pool=item.node_pool if item.role == ROLE_WORKER else None,
        name_prefix=instance_name(request.cluster_name, str(item.role), label),
        user_data=user_data,
        extra_tags={TAG_INTENT: item.key} if item.role == ROLE_WORKER else {},
    )
    result: dict[str, Any] = ecs.ensure_instances(spec).to_dict()
    return result


def ensure_control_plane(
    ecs: Any,
    spec_class: Callable[..., Any],
    *,
    request: ProvisionRequest,
    plan: ProvisionPlan,
    creds: ClusterCredentials,
    domain: str,
    vswitches: Mapping[str, str],
    security_group_id: str,
    image_id: str,
) -> dict[str, Any]:
    """Control-plane nodes in plan order: node 0 (``kubeadm init``) first, the others join.

    Several nodes in one zone are ensured with a growing count (1, 2, ...), so each call creates
    at most the one node it is about and a re-run creates none.
    """
    per_zone: dict[str, int] = {}
    instance_ids: set[str] = set()
    created: list[str] = []
    for item in plan.control_plane():
        assert item.zone is not None
        per_zone[item.zone] = per_zone.get(item.zone, 0) + 1
        result = ensure_batch(
            ecs,
            spec_class,
            request=request,
            item=item,
            count=per_zone[item.zone],
            creds=creds,
            domain=domain,
            vswitches=vswitches,
            security_group_id=security_group_id,
            image_id=image_id,
        )
        instance_ids.update(result["instance_ids"])
        created.extend(result["created_ids"])
    return {"instance_ids": sorted(instance_ids), "created_ids": created}


def security_rules(vpc_cidr: str) -> list[dict[str, Any]]:
    """Ingress rules of a cluster's security group (rule dicts of the ECS security-group operator)."""
    return [
        {
            "ip_protocol": "ALL",
            "port_range": "-1/-1",
            "source_cidr_ip": vpc_cidr,
            "description": "node-to-node traffic inside the VPC",
        },
        {
            "ip_protocol": "TCP",
            "port_range": "6443/6443",
            "source_cidr_ip": vpc_cidr,
            "description": "Kubernetes API server behind the intranet SLB",
        },
    ]


def node_pool_rows(request: ProvisionRequest) -> list[dict[str, Any]]:
    """Registry node-pool rows: one per pool and zone, min/desired/max spread like the instances."""
    from include.provisioning.plan import spread

    rows = []
    for pool in request.node_pools:
        mins = dict(spread(pool.min_size, pool.zones))
        desired = dict(spread(pool.desired_size, pool.zones))
        maxes = dict(spread(pool.max_size, pool.zones))
        for zone in pool.zones:
            rows.append(
                {
                    "name": pool.name,
                    "zone_id": zone,
                    "instance_type": pool.instance_type,
                    "min_size": mins[zone],
                    "desired_size": desired[zone],
                    "max_size": maxes[zone],
                }
            )
    return rows
