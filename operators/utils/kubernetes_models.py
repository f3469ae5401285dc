"""Plain views of Kubernetes nodes and pods, with quantities parsed by kubernetes.utils."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kubernetes.utils import parse_quantity

ZONE_LABEL = "topology.kubernetes.io/zone"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
POOL_LABEL = "yunfleet.io/node-pool"


def _cpu_m(value: Any) -> int:
    return int(parse_quantity(str(value)) * 1000) if value not in (None, "") else 0


def _bytes(value: Any) -> int:
    return int(parse_quantity(str(value))) if value not in (None, "") else 0


@dataclass(frozen=True)
class NodeInfo:
    name: str
    ready: bool
    unschedulable: bool
    zone: str | None
    instance_type: str | None
    node_pool: str | None
    provider_id: str | None
    allocatable_cpu_millicores: int
    allocatable_memory_bytes: int
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[str] = field(default_factory=list)
    #: the Ready condition as the kubelet / node controller last set it (None without one)
    ready_status: str | None = None
    ready_reason: str | None = None
    ready_message: str | None = None

    @classmethod
    def from_api(cls, node: Any) -> NodeInfo:
        labels = dict(node.metadata.labels or {})
        conditions = (node.status.conditions if node.status else None) or []
        ready_condition = next((c for c in conditions if c.type == "Ready"), None)
        ready = ready_condition is not None and ready_condition.status == "True"
        allocatable = (node.status.allocatable if node.status else None) or {}
        taints = (
            [f"{t.key}={t.value or ''}:{t.effect}" for t in (node.spec.taints or [])] if node.spec else []
        )
        return cls(
            name=node.metadata.name,
            ready=ready,
            unschedulable=bool(node.spec.unschedulable) if node.spec else False,
            zone=labels.get(ZONE_LABEL),
            instance_type=labels.get(INSTANCE_TYPE_LABEL),
            node_pool=labels.get(POOL_LABEL),
            provider_id=node.spec.provider_id if node.spec else None,
            allocatable_cpu_millicores=_cpu_m(allocatable.get("cpu")),
            allocatable_memory_bytes=_bytes(allocatable.get("memory")),
            labels=labels,
            taints=taints,
            ready_status=ready_condition.status if ready_condition else None,
            ready_reason=ready_condition.reason if ready_condition else None,
            ready_message=ready_condition.message if ready_condition else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PodInfo:
    name: str
    namespace: str
    node_name: str | None
    phase: str
    cpu_request_millicores: int
    memory_request_bytes: int
    owner_kind: str | None
    owner_name: str | None
    unschedulable: bool
    mirror: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, pod: Any) -> PodInfo:
        cpu = mem = 0
        for container in (pod.spec.containers or []) if pod.spec else []:
            requests = (container.resources.requests if container.resources else None) or {}
            cpu += _cpu_m(requests.get("cpu"))
            mem += _bytes(requests.get("memory"))
        owners = pod.metadata.owner_references or []
        conditions = (pod.status.conditions if pod.status else None) or []
        unschedulable = any(
            c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
            for c in conditions
        )
        annotations = pod.metadata.annotations or {}
        return cls(
            name=pod.metadata.name,
            namespace=pod.metadata.namespace,
            node_name=pod.spec.node_name if pod.spec else None,
            phase=(pod.status.phase if pod.status else None) or "Unknown",
            cpu_request_millicores=cpu,
            memory_request_bytes=mem,
            owner_kind=owners[0].kind if owners else None,
            owner_name=owners[0].name if owners else None,
            unschedulable=unschedulable,
            mirror="kubernetes.io/config.mirror" in annotations,
            labels=dict(pod.metadata.labels or {}),
        )

    @property
    def evictable(self) -> bool:
        """Drain skips DaemonSet pods and static (mirror) pods, as kubectl drain does."""
        return self.owner_kind != "DaemonSet" and not self.mirror

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
