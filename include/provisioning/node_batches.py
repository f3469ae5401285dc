"""What a batch of nodes is, before it is launched: the node spec of a planned batch, where its
instances go (:class:`Placement`) and which API endpoint they join. Pure; ``flows.nodes`` launches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from include.fleet.contract import API_SERVER_PORT, api_fqdn
from include.provisioning.delivery import (
    Endpoint,
)
from include.provisioning.node import NodeSpec
from include.provisioning.plan import PlannedResource
from include.provisioning.request import ProvisionRequest


@dataclass(frozen=True)
class Placement:
    """Where the instances of a batch go and what they boot."""

    vswitch_id: str
    security_group_id: str
    image_id: str
    extra_tags: Mapping[str, str] = field(default_factory=dict)


def node_spec(request: ProvisionRequest, item: PlannedResource, domain: str) -> NodeSpec:
    """The node a planned instance batch makes."""
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


def endpoint_of(node: NodeSpec) -> Endpoint:
    return Endpoint(api_fqdn(node.cluster, node.domain), API_SERVER_PORT)
