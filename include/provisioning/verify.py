"""The last judgement of a provisioning run: is the cluster really there?

An idempotent create can be answered from a replay (a ClientToken whose resources were since
released), a resource can disappear between steps, and a wait can succeed on stale data. So before a
run reports success and the registry says ``ready``, what the run built is read back and judged
here: every instance it created or adopted is ``Running``, the API server load balancer exists with
every backend ``normal``, the API name points at it, and every instance has a Ready node.

Pure: the flows layer reads the facts (ECS, SLB, Alidns, Kubernetes APIs) into :class:`ClusterFacts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: ECS ``Status`` of an instance that is up
RUNNING = "Running"
#: SLB ``ServerHealthStatus`` of a healthy backend
HEALTHY = "normal"


@dataclass(frozen=True)
class ExpectedCluster:
    """What the run built: instance ids, the API server SLB and its address, the API DNS name."""

    instance_ids: frozenset[str]
    load_balancer_id: str
    address: str
    dns_name: str


@dataclass(frozen=True)
class ClusterFacts:
    """What the APIs say now.

    :param instance_status: ECS ``Status`` per live instance id tagged for the cluster
    :param load_balancer_exists: whether ``DescribeLoadBalancerAttribute`` found the SLB
    :param backend_health: SLB ``ServerHealthStatus`` per backend server id (listener 6443)
    :param dns_values: enabled A record values at the API name (exact RR)
    :param ready_instance_ids: instance ids whose Node (by providerID) is Ready
    """

    instance_status: Mapping[str, str]
    load_balancer_exists: bool
    backend_health: Mapping[str, str]
    dns_values: frozenset[str]
    ready_instance_ids: frozenset[str] = field(default_factory=frozenset)


def instance_id_of(provider_id: str | None) -> str | None:
    """The ECS instance id in a Node's providerID ``alicloud://<region>.<instance-id>``, or ``None``."""
    if not provider_id or not provider_id.startswith("alicloud://") or "." not in provider_id:
        return None
    return provider_id.rsplit(".", 1)[1] or None


def _ids(ids: set[str] | frozenset[str], limit: int = 5) -> str:
    ordered = sorted(ids)
    more = f" and {len(ordered) - limit} more" if len(ordered) > limit else ""
    return ", ".join(ordered[:limit]) + more


def verify_problems(expected: ExpectedCluster, facts: ClusterFacts) -> list[str]:
    """One line per way the cluster is not all there; ``[]`` when it is.

    Each line names what is missing and what was found, so the run's report says what to fix.
    """
    problems = []
    gone = set(expected.instance_ids) - set(facts.instance_status)
    if gone:
        problems.append(f"instances {_ids(gone)} do not exist (released or never created)")
    not_running = {
        i: s for i, s in facts.instance_status.items() if i in expected.instance_ids and s != RUNNING
    }
    if not_running:
        states = ", ".join(f"{i} {s}" for i, s in sorted(not_running.items())[:5])
        problems.append(f"instances not Running: {states}")
    if not facts.load_balancer_exists:
        problems.append(f"load balancer {expected.load_balancer_id} does not exist")
    else:
        unhealthy = {i: s for i, s in facts.backend_health.items() if s != HEALTHY}
        if unhealthy:
            states = ", ".join(f"{i} {s}" for i, s in sorted(unhealthy.items())[:5])
            problems.append(f"load balancer {expected.load_balancer_id} backends not healthy: {states}")
        if not facts.backend_health:
            problems.append(f"load balancer {expected.load_balancer_id} has no backend servers")
    if expected.address not in facts.dns_values:
        found = ", ".join(sorted(facts.dns_values)) or "no enabled A record"
        problems.append(f"{expected.dns_name} does not point at {expected.address} (found: {found})")
    no_node = set(expected.instance_ids) - set(facts.ready_instance_ids) - gone
    if no_node:
        problems.append(f"instances without a Ready node: {_ids(no_node)}")
    return problems
