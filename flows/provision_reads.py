"""What ``provision_cluster`` reads from the cloud to judge a request and, at the end, to verify the
cluster: the facts validation needs, the images, the DNS names the plan will own, and the read-back
of what the run built. Reads only; the judgements are in ``include.provisioning``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows import hooks
from include.fleet.contract import API_SERVER_PORT, api_record_owner, api_record_rr
from include.provisioning.plan import ProvisionPlan
from include.provisioning.request import ProvisionRequest

#: the ECS image family nodes run when neither the request nor the connection names an image
#: (public Ubuntu 22.04 images; ``DescribeImages`` with ``ImageFamily``, newest ``Available``)
DEFAULT_IMAGE_FAMILY = "acs:ubuntu_22_04_x64"


def cloud_facts(ecs: Any, request: ProvisionRequest, info: Any, net: Any) -> Any:
    """What ``include.provisioning.validation.cloud_errors`` judges a request by, read from the cloud."""
    from include.provisioning.validation import CloudFacts

    types = sorted(request.instance_types())
    existing = ecs.list_cluster_instances(request.cluster_name)
    vcpus = ecs.instance_vcpus(types + [i.instance_type for i in existing])
    return CloudFacts(
        region_id=ecs.conn_config.region_id,
        zones=ecs.zones(),
        vswitches=dict(net.vswitches) if net else {},
        stock=ecs.stock_by_zone(types),
        registered_spec=info.previous_spec,
        registered_state=info.previous_state,
        vcpu_quota_remaining=ecs.vcpu_quota_remaining(),
        instance_vcpus=vcpus,
        existing_vcpus=sum(vcpus.get(i.instance_type, 0) for i in existing),
        existing_load_balancer=bool(
            hooks.slb(request.cluster_name).find_load_balancers(cluster=request.cluster_name)
        ),
        extra={"wanted_zones": sorted(request.zones)},
    )


def image_keys(request: ProvisionRequest) -> dict[str, str | None]:
    """``{batch key: explicit image_id or None}``: ``control-plane`` and ``pool:<name>`` per node pool."""
    return {
        "control-plane": request.control_plane.image_id,
        **{f"pool:{pool.name}": pool.image_id for pool in request.node_pools},
    }


def resolve_images(
    ecs: Any, request: ProvisionRequest, extra: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """The image id each batch launches with, checked by reading (``DescribeImages``), and the errors.

    An explicit ``image_id`` (in the request, else the connection extra's ``image_id``) must exist and be
    ``Available``; otherwise the newest available image of the connection's ``image_family``
    (default ``DEFAULT_IMAGE_FAMILY``) is used. Public image ids are retired over time, so no id is
    built in.
    """
    from include.errors import CloudError

    family = str(extra.get("image_family") or DEFAULT_IMAGE_FAMILY)
    default_id = extra.get("image_id") or None
    resolved: dict[str | None, str] = {}
    images: dict[str, str] = {}
    errors: list[str] = []
    for key, explicit in image_keys(request).items():
        wanted = explicit or default_id
        if wanted not in resolved:
            try:
                resolved[wanted] = ecs.resolve_image(image_id=wanted, image_family=None if wanted else family)
            except CloudError as exc:
                errors.append(f"{key}: {exc}")
                continue
        images[key] = resolved[wanted]
    return images, errors


def dns_conflicts(plan: ProvisionPlan, domain: str) -> list[str]:
    """Every DNS name the plan will own that someone else holds, read before the run's first write."""
    dns = hooks.dns(plan.cluster)
    owner = api_record_owner(plan.cluster)
    found = (dns.ownership_conflict(domain, r.name, owner) for r in plan.resources if r.product == "alidns")
    return [conflict for conflict in found if conflict]


def verify_facts(cluster: str, domain: str, expected: Any) -> Any:
    """Read the facts ``verify_problems`` judges, through the ECS, SLB, Alidns and Kubernetes APIs."""
    from include.errors import ResourceNotFoundError
    from include.provisioning.verify import ClusterFacts, instance_id_of
    from operators.hooks.kubernetes import FleetKubernetesHook

    status = {i.instance_id: i.status for i in hooks.ecs(cluster).list_cluster_instances(cluster)}
    slb = hooks.slb(cluster)
    try:
        slb.describe_load_balancer(expected.load_balancer_id)
        exists, health = True, slb.backend_health(expected.load_balancer_id, API_SERVER_PORT)
    except ResourceNotFoundError:
        exists, health = False, {}
    records = hooks.dns(cluster).list_records(domain, rr=api_record_rr(cluster), record_type="A")
    nodes = FleetKubernetesHook(cluster=cluster).list_nodes()
    return ClusterFacts(
        instance_status=status,
        load_balancer_exists=exists,
        backend_health=health,
        dns_values=frozenset(r.value for r in records if r.status == "ENABLE"),
        ready_instance_ids=frozenset(
            i for n in nodes if n.ready for i in [instance_id_of(n.provider_id)] if i is not None
        ),
    )


# -- finish ----------------------------------------------------------------------------------------
