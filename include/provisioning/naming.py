"""Names, tags and idempotency tokens of the cloud resources that make up a cluster."""

from __future__ import annotations

import hashlib

TAG_CLUSTER = "yunfleet:cluster"
TAG_ROLE = "yunfleet:role"
TAG_NODE_POOL = "yunfleet:node-pool"
#: Which planned resource a cloud resource realises; lets "ensure" find it again by tag.
TAG_INTENT = "yunfleet:intent"

ROLE_CONTROL_PLANE = "control-plane"
ROLE_WORKER = "worker"
ROLE_APISERVER_LB = "apiserver-lb"
ROLE_SERVICE_LB = "service-lb"
ROLES = (ROLE_CONTROL_PLANE, ROLE_WORKER, ROLE_APISERVER_LB, ROLE_SERVICE_LB)

API_SERVER_PORT = 6443


def cluster_tags(cluster: str, role: str | None = None, node_pool: str | None = None) -> dict[str, str]:
    """The contract tags of a resource of ``cluster``."""
    tags = {TAG_CLUSTER: cluster}
    if role is not None:
        tags[TAG_ROLE] = role
    if node_pool is not None:
        tags[TAG_NODE_POOL] = node_pool
    return tags


def api_record_rr(cluster: str) -> str:
    """The Alidns RR (host record) of the API server name, relative to the fleet domain."""
    return f"api.{cluster}"


def api_fqdn(cluster: str, domain: str) -> str:
    """``api.<cluster>.<domain>``: the DNS name of a cluster's API server (contract)."""
    return f"{api_record_rr(cluster)}.{domain}"


def security_group_name(cluster: str) -> str:
    return f"yunfleet-{cluster}"


def load_balancer_name(cluster: str) -> str:
    return f"yunfleet-{cluster}-apiserver"


def instance_name(cluster: str, role: str, index_or_pool: str) -> str:
    """ECS instance name prefix: ``<cluster>-cp-0``, ``<cluster>-<pool>``."""
    if role == ROLE_CONTROL_PLANE:
        return f"{cluster}-cp-{index_or_pool}"
    return f"{cluster}-{index_or_pool}"


def client_token(cluster: str, intent_key: str, generation: str = "") -> str:
    """A ClientToken (ASCII, at most 64 characters) that is stable for a cluster's planned resource.

    Retrying a task, re-running the DAG or running it from another worker sends the same token for the
    same intent, so the cloud returns the first result instead of creating again. ``generation``
    separates a cluster re-created after decommissioning from its predecessor.
    """
    digest = hashlib.sha256(f"{cluster}\x00{intent_key}\x00{generation}".encode()).hexdigest()
    return f"yf-{digest[:48]}"


#: The Asset that provisioning and decommissioning update when the set of registered clusters
#: changes; ``register_services`` and ``reconcile_capacity`` schedule on it.
CLUSTERS_ASSET_NAME = "yunfleet_clusters"
CLUSTERS_ASSET_URI = "yunfleet://registry/clusters"


def api_record_owner(cluster: str) -> str:
    """Owner written into the TXT ownership record of ``api.<cluster>``."""
    return f"cluster/{cluster}"
