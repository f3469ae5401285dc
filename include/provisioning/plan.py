"""The provisioning plan: every resource a request needs, in the order it is created.

A pure function of the request. Each planned resource has a stable intent key: it names the resource
in the run's XComs and audit rows and is written into the resource's ``yunfleet:intent`` tag, so that
an "ensure" step finds exactly that resource however often it runs. ClientTokens are not planned: the
hook derives them where it sends them (``include.fleet.contract.derive_client_token``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from include.fleet.contract import (
    API_SERVER_PORT,
    ROLE_APISERVER_LB,
    ROLE_CONTROL_PLANE,
    ROLE_WORKER,
    TAG_INTENT,
    api_record_rr,
    cluster_tags,
)
from include.provisioning.naming import instance_name, load_balancer_name, security_group_name
from include.provisioning.request import ProvisionRequest

KIND_PKI = "pki"
KIND_SECURITY_GROUP = "security_group"
KIND_SECURITY_GROUP_RULES = "security_group_rules"
KIND_INSTANCES = "instances"
KIND_LOAD_BALANCER = "load_balancer"
KIND_LISTENER = "listener"
KIND_BACKENDS = "backends"
KIND_DNS_RECORD = "dns_record"
KIND_REGISTRATION = "registration"

#: Ingress rules of a cluster's security group besides "everything from the group itself".
INGRESS_RULES: tuple[dict[str, str], ...] = (
    {"IpProtocol": "TCP", "PortRange": f"{API_SERVER_PORT}/{API_SERVER_PORT}", "Description": "API server"},
    {"IpProtocol": "TCP", "PortRange": "30000/32767", "Description": "NodePorts behind service SLBs"},
)


@dataclass(frozen=True)
class PlannedResource:
    """One resource (or one batch of identical instances) the run creates."""

    key: str
    kind: str
    product: str
    action: str
    name: str
    zone: str | None = None
    count: int = 1
    role: str | None = None
    node_pool: str | None = None
    instance_type: str | None = None
    #: Position of a control-plane node: 0 runs ``kubeadm init``, the others join.
    index: int | None = None
    depends_on: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "product": self.product,
            "action": self.action,
            "name": self.name,
            "zone": self.zone,
            "count": self.count,
            "role": self.role,
            "node_pool": self.node_pool,
            "instance_type": self.instance_type,
            "index": self.index,
            "depends_on": list(self.depends_on),
            "tags": dict(self.tags),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedResource:
        # plans written before ClientTokens left the plan still carry a "client_token" key
        fields = {k: v for k, v in data.items() if k != "client_token"}
        return cls(**{**fields, "depends_on": tuple(data.get("depends_on", ())), "tags": dict(data["tags"])})


@dataclass(frozen=True)
class ProvisionPlan:
    cluster: str
    region_id: str
    resources: tuple[PlannedResource, ...]

    def by_kind(self, kind: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.kind == kind]

    def control_plane(self) -> list[PlannedResource]:
        return [r for r in self.by_kind(KIND_INSTANCES) if r.role == ROLE_CONTROL_PLANE]

    def worker_batches(self) -> list[PlannedResource]:
        return [r for r in self.by_kind(KIND_INSTANCES) if r.role == ROLE_WORKER]

    def instance_count(self) -> int:
        return sum(r.count for r in self.by_kind(KIND_INSTANCES))

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "region_id": self.region_id,
            "resources": [r.to_json() for r in self.resources],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProvisionPlan:
        return cls(
            cluster=data["cluster"],
            region_id=data["region_id"],
            resources=tuple(PlannedResource.from_json(r) for r in data["resources"]),
        )

    def summary(self) -> list[str]:
        """One human line per planned resource, for the run log and the dry-run report."""
        lines = []
        for r in self.resources:
            where = f" in {r.zone}" if r.zone else ""
            what = f"{r.count} x {r.instance_type}" if r.kind == KIND_INSTANCES else r.name
            lines.append(f"{r.key}: {r.product} {r.action} {what}{where}")
        return lines


def spread(count: int, zones: tuple[str, ...]) -> list[tuple[str, int]]:
    """Split ``count`` over ``zones`` as evenly as possible, earlier zones taking the remainder."""
    if not zones:
        raise ValueError("cannot spread over an empty zone list")
    base, extra = divmod(count, len(zones))
    return [(zone, base + (1 if i < extra else 0)) for i, zone in enumerate(zones)]


def plan_provision(request: ProvisionRequest, generation: str = "") -> ProvisionPlan:
    """Every resource of the requested cluster, in creation order.

    ``generation`` (the registry's id for this incarnation of the name) does not change the plan: it
    seeded the planned ClientTokens, which were never sent and are gone (docs/decisions.md, "Fleet
    contract: one ClientToken, derived where it is sent"). It is accepted until the callers drop it.
    """
    cluster = request.cluster_name
    resources: list[PlannedResource] = []

    def add(key: str, **kwargs: Any) -> None:
        tags = cluster_tags(cluster, kwargs.get("role"), kwargs.get("node_pool"))
        if kwargs.get("product") in ("ecs", "slb"):
            tags[TAG_INTENT] = key
        else:
            tags = {}
        resources.append(PlannedResource(key=key, tags=tags, **kwargs))

    add("pki", kind=KIND_PKI, product="registry", action="StoreCredentials", name=f"{cluster} PKI")
    add(
        "security-group",
        kind=KIND_SECURITY_GROUP,
        product="ecs",
        action="CreateSecurityGroup",
        name=security_group_name(cluster),
    )
    add(
        "security-group/rules",
        kind=KIND_SECURITY_GROUP_RULES,
        product="ecs",
        action="AuthorizeSecurityGroup",
        name=security_group_name(cluster),
        depends_on=("security-group",),
    )
    cp = request.control_plane
    for index in range(cp.count):
        zone = request.zones[index % len(request.zones)]
        add(
            f"control-plane/{index}",
            kind=KIND_INSTANCES,
            product="ecs",
            action="RunInstances",
            name=instance_name(cluster, ROLE_CONTROL_PLANE, str(index)),
            zone=zone,
            count=1,
            role=ROLE_CONTROL_PLANE,
            instance_type=cp.instance_type,
            index=index,
            depends_on=("pki", "security-group/rules") + (("control-plane/0",) if index else ()),
        )
    cp_keys = tuple(f"control-plane/{i}" for i in range(cp.count))
    lb_zones = request.zones
    add(
        "apiserver-lb",
        kind=KIND_LOAD_BALANCER,
        product="slb",
        action="CreateLoadBalancer",
        name=load_balancer_name(cluster),
        zone=lb_zones[0],
        role=ROLE_APISERVER_LB,
    )
    add(
        "apiserver-lb/listener",
        kind=KIND_LISTENER,
        product="slb",
        action="CreateLoadBalancerTCPListener",
        name=f"TCP {API_SERVER_PORT}",
        role=ROLE_APISERVER_LB,
        depends_on=("apiserver-lb",),
    )
    add(
        "apiserver-lb/backends",
        kind=KIND_BACKENDS,
        product="slb",
        action="AddBackendServers",
        name=f"{cp.count} control-plane node(s)",
        role=ROLE_APISERVER_LB,
        depends_on=("apiserver-lb", *cp_keys),
    )
    add(
        "dns/api",
        kind=KIND_DNS_RECORD,
        product="alidns",
        action="AddDomainRecord",
        name=api_record_rr(cluster),
        depends_on=("apiserver-lb",),
    )
    for pool in request.node_pools:
        for zone, count in spread(pool.desired_size, pool.zones):
            if count == 0:
                continue
            add(
                f"pool/{pool.name}/{zone}",
                kind=KIND_INSTANCES,
                product="ecs",
                action="RunInstances",
                name=instance_name(cluster, ROLE_WORKER, pool.name),
                zone=zone,
                count=count,
                role=ROLE_WORKER,
                node_pool=pool.name,
                instance_type=pool.instance_type,
                depends_on=("dns/api", "apiserver-lb/backends"),
            )
    add("registration", kind=KIND_REGISTRATION, product="registry", action="RegisterCluster", name=cluster)
    return ProvisionPlan(cluster=cluster, region_id=request.region_id, resources=tuple(resources))
