"""The decommission plan: what to delete, in reverse order of creation, and only what is ours.

A pure function of what was observed (resources found by the cluster tag, DNS records the registry
says the cluster owns). Anything not tagged for the cluster is refused, whatever the caller passes in,
so a bug upstream can never turn into deleting someone else's resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from include.fleet.contract import ROLE_CONTROL_PLANE, TAG_CLUSTER, TAG_ROLE

#: Deletion order: first what points at the cluster, last what everything else depends on. Load balancers
#: go after the instances: while the control plane runs, its cloud controller recreates the SLB of every
#: LoadBalancer Service deleted under it.
ORDER = ("dns_record", "worker", "control-plane", "load_balancer", "security_group", "registration")
DELETE_BATCH = 100


@dataclass(frozen=True)
class ObservedResource:
    """A resource seen in the cloud: ``kind`` is instance, load_balancer, security_group or dns_record."""

    kind: str
    id: str
    name: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    #: DNS records only: whether the registry (ownership record) says this cluster owns it.
    owned: bool = False


@dataclass(frozen=True)
class DecommissionAction:
    key: str
    product: str
    action: str
    targets: tuple[str, ...]
    description: str

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "product": self.product,
            "action": self.action,
            "targets": list(self.targets),
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecommissionAction:
        return cls(**{**data, "targets": tuple(data["targets"])})


@dataclass(frozen=True)
class DecommissionPlan:
    cluster: str
    actions: tuple[DecommissionAction, ...]
    #: Resources that were passed in but are not this cluster's; reported, never touched.
    refused: tuple[str, ...] = ()

    def by_product(self, product: str) -> list[DecommissionAction]:
        return [a for a in self.actions if a.product == product]

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "actions": [a.to_json() for a in self.actions],
            "refused": list(self.refused),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecommissionPlan:
        return cls(
            cluster=data["cluster"],
            actions=tuple(DecommissionAction.from_json(a) for a in data["actions"]),
            refused=tuple(data.get("refused", ())),
        )

    def summary(self) -> list[str]:
        return [f"{a.key}: {a.product} {a.action} {a.description}" for a in self.actions]


def _is_ours(cluster: str, resource: ObservedResource) -> bool:
    if resource.kind == "dns_record":
        return resource.owned
    return resource.tags.get(TAG_CLUSTER) == cluster


def _batches(ids: list[str]) -> Iterable[tuple[str, ...]]:
    for start in range(0, len(ids), DELETE_BATCH):
        yield tuple(ids[start : start + DELETE_BATCH])


def _one_per_resource(
    ours: dict[str, list[ObservedResource]], kind: str, key: str, product: str, action: str, label: str
) -> list[DecommissionAction]:
    """One delete action per resource of ``kind``, in id order."""
    return [
        DecommissionAction(
            key=f"{key}/{resource.id}",
            product=product,
            action=action,
            targets=(resource.id,),
            description=f"{label} {resource.name or resource.id}",
        )
        for resource in sorted(ours.get(kind, []), key=lambda r: r.id)
    ]


def plan_decommission(
    cluster: str, observed: Iterable[ObservedResource], registered: bool
) -> DecommissionPlan:
    """Ordered deletions for ``cluster``; an empty plan when nothing is left (safe to re-run)."""
    ours: dict[str, list[ObservedResource]] = {}
    refused: list[str] = []
    for resource in observed:
        if not _is_ours(cluster, resource):
            refused.append(f"{resource.kind} {resource.id}")
            continue
        bucket = resource.kind
        if resource.kind == "instance":
            bucket = "control-plane" if resource.tags.get(TAG_ROLE) == ROLE_CONTROL_PLANE else "worker"
        ours.setdefault(bucket, []).append(resource)

    actions: list[DecommissionAction] = []
    actions += _one_per_resource(ours, "dns_record", "dns", "alidns", "DeleteDomainRecord", "record")
    actions += _one_per_resource(ours, "load_balancer", "slb", "slb", "DeleteLoadBalancer", "load balancer")
    for bucket in ("worker", "control-plane"):
        ids = sorted(r.id for r in ours.get(bucket, []))
        for number, batch in enumerate(_batches(ids)):
            actions.append(
                DecommissionAction(
                    key=f"instances/{bucket}/{number}",
                    product="ecs",
                    action="DeleteInstances",
                    targets=batch,
                    description=f"{len(batch)} {bucket} instance(s)",
                )
            )
    actions += _one_per_resource(
        ours, "security_group", "security-group", "ecs", "DeleteSecurityGroup", "security group"
    )
    if registered:
        actions.append(
            DecommissionAction(
                key="registration",
                product="registry",
                action="DeregisterCluster",
                targets=(cluster,),
                description=f"registry entry {cluster}",
            )
        )
    return DecommissionPlan(cluster=cluster, actions=tuple(actions), refused=tuple(sorted(refused)))
