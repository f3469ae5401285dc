"""Names of the cloud resources that make up a cluster (the tags, DNS names and tokens that other
tools rely on are in :mod:`include.fleet.contract`)."""

from __future__ import annotations

from include.fleet.contract import ROLE_CONTROL_PLANE


def security_group_name(cluster: str) -> str:
    return f"yunfleet-{cluster}"


def load_balancer_name(cluster: str) -> str:
    return f"yunfleet-{cluster}-apiserver"


def instance_name(cluster: str, role: str, index_or_pool: str) -> str:
    """ECS instance name prefix: ``<cluster>-cp-0``, ``<cluster>-<pool>``."""
    if role == ROLE_CONTROL_PLANE:
        return f"{cluster}-cp-{index_or_pool}"
    return f"{cluster}-{index_or_pool}"
