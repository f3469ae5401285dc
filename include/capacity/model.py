"""What the capacity planner reads and writes: views of a cluster, the snapshot, actions and the plan.

Every class is a small frozen dataclass with a JSON form (snapshots and plans cross XCom). Units:
CPU in millicores (``cpu_m``), memory in bytes (``memory_b``), times in seconds since the epoch (UTC).

Kubernetes keys (ARCHITECTURE.md, contract): node labels :data:`ZONE_LABEL`,
:data:`INSTANCE_TYPE_LABEL`, :data:`POOL_LABEL`; providerID ``alicloud://<region>.<instance-id>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ZONE_LABEL = "topology.kubernetes.io/zone"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
POOL_LABEL = "yunfleet.io/node-pool"
#: the node labels a pod's nodeSelector / required node affinity may constrain for the planner
PLACEMENT_LABELS = (ZONE_LABEL, INSTANCE_TYPE_LABEL, POOL_LABEL)

PROVIDER_PREFIX = "alicloud://"

SCALE_DEPLOYMENT = "scale_deployment"
ADD_NODES = "add_nodes"
REMOVE_NODE = "remove_node"
ACTION_KINDS = (SCALE_DEPLOYMENT, ADD_NODES, REMOVE_NODE)

#: One OR-ed term of required node affinity: ``((label key, allowed values), ...)``, requirements AND-ed.
AffinityTerm = tuple[tuple[str, tuple[str, ...]], ...]
#: A node taint that keeps pods off: ``(key, value, effect)``, effect ``NoSchedule`` or ``NoExecute``.
Taint = tuple[str, str, str]
#: A pod toleration: ``(key, operator, value, effect)``; operator ``Equal`` or ``Exists``, an empty key
#: (with ``Exists``) or an empty effect matches every key or effect.
Toleration = tuple[str, str, str, str]


def instance_id_of(provider_id: str | None) -> str | None:
    """The ECS instance id in ``alicloud://<region>.<instance-id>``, or ``None`` for anything else.

    >>> instance_id_of("alicloud://cn-hangzhou.i-bp1abc")
    'i-bp1abc'
    """
    if not provider_id or not provider_id.startswith(PROVIDER_PREFIX):
        return None
    region, dot, instance = provider_id[len(PROVIDER_PREFIX) :].rpartition(".")
    if not dot or not region or not instance:
        return None
    return instance


# -- resources ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resources:
    """A quantity of CPU (millicores), memory (bytes) and pod slots."""

    cpu_m: int
    memory_b: int
    pods: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m + other.cpu_m, self.memory_b + other.memory_b, self.pods + other.pods)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m - other.cpu_m, self.memory_b - other.memory_b, self.pods - other.pods)

    def times(self, n: int) -> Resources:
        return Resources(self.cpu_m * n, self.memory_b * n, self.pods * n)

    def fits_in(self, capacity: Resources) -> bool:
        """Every dimension of ``self`` is at most that of ``capacity``."""
        return (
            self.cpu_m <= capacity.cpu_m and self.memory_b <= capacity.memory_b and self.pods <= capacity.pods
        )

    def fits(self, demand: Resources) -> bool:
        """``demand`` fits in ``self`` (``self`` is free capacity)."""
        return demand.fits_in(self)

    def utilisation(self, capacity: Resources) -> float:
        """max(cpu, memory) of ``self / capacity`` (CA's scale-down utilisation); pods are not counted."""
        cpu = self.cpu_m / capacity.cpu_m if capacity.cpu_m > 0 else 0.0
        memory = self.memory_b / capacity.memory_b if capacity.memory_b > 0 else 0.0
        return max(cpu, memory)

    def to_json(self) -> list[int]:
        return [self.cpu_m, self.memory_b, self.pods]

    @classmethod
    def from_json(cls, data: Any) -> Resources:
        if isinstance(data, Mapping):
            return cls(int(data["cpu_m"]), int(data["memory_b"]), int(data.get("pods", 0)))
        cpu, memory, *rest = data
        return cls(int(cpu), int(memory), int(rest[0]) if rest else 0)


ZERO = Resources(0, 0, 0)
#: what one pod takes of a node's pod slots
ONE_POD = Resources(0, 0, 1)


# -- nodes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeView:
    """A Node as the planner needs it.

    :ivar pool: the ``yunfleet.io/node-pool`` label (``None`` without one).
    :ivar instance_id: from the providerID (:func:`instance_id_of`); ``None`` without one.
    :ivar allocatable: the node's allocatable; ``pods == 0`` means "not reported" (the planner then
        uses ``settings.default_max_pods``).
    :ivar taints: its ``NoSchedule`` / ``NoExecute`` taints (a control plane's, for example): only pods
        that tolerate them are placed on it.
    """

    name: str
    pool: str | None
    zone: str
    instance_type: str
    instance_id: str | None
    allocatable: Resources
    ready: bool
    unschedulable: bool
    created_at: float
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()

    @property
    def managed(self) -> bool:
        """Yunfleet manages the node: it has a pool label and an ``alicloud://`` providerID."""
        return bool(self.pool) and bool(self.instance_id)

    @classmethod
    def from_labels(
        cls,
        name: str,
        labels: Mapping[str, str],
        provider_id: str | None,
        allocatable: Resources,
        *,
        ready: bool,
        unschedulable: bool = False,
        created_at: float = 0.0,
        taints: tuple[Taint, ...] = (),
    ) -> NodeView:
        """Pool, zone and instance type from the contract labels; the instance id from ``provider_id``."""
        return cls(
            name=name,
            pool=labels.get(POOL_LABEL) or None,
            zone=labels.get(ZONE_LABEL, ""),
            instance_type=labels.get(INSTANCE_TYPE_LABEL, ""),
            instance_id=instance_id_of(provider_id),
            allocatable=allocatable,
            ready=ready,
            unschedulable=unschedulable,
            created_at=created_at,
            labels=dict(labels),
            taints=taints,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pool": self.pool,
            "zone": self.zone,
            "instance_type": self.instance_type,
            "instance_id": self.instance_id,
            "allocatable": self.allocatable.to_json(),
            "ready": self.ready,
            "unschedulable": self.unschedulable,
            "created_at": self.created_at,
            "labels": self.labels,
            **({"taints": [list(t) for t in self.taints]} if self.taints else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodeView:
        return cls(
            name=data["name"],
            pool=data.get("pool"),
            zone=data.get("zone", ""),
            instance_type=data.get("instance_type", ""),
            instance_id=data.get("instance_id"),
            allocatable=Resources.from_json(data["allocatable"]),
            ready=bool(data.get("ready", True)),
            unschedulable=bool(data.get("unschedulable", False)),
            created_at=float(data.get("created_at", 0.0)),
            labels=dict(data.get("labels") or {}),
            taints=tuple((str(k), str(v), str(e)) for k, v, e in data.get("taints") or ()),
        )


# -- pods -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodView:
    """A Pod as the planner needs it.

    :ivar node: the node it is bound to; ``None`` while pending.
    :ivar unschedulable: the scheduler set ``PodScheduled=False`` with reason ``Unschedulable``.
    :ivar requests: the sum of its containers' requests (``pods`` is ignored; one pod takes one slot).
    :ivar owner_kind: kind of its controller owner reference (``ReplicaSet``, ``DaemonSet``, ...),
        ``None`` for a bare pod.
    :ivar node_selector: only the keys in :data:`PLACEMENT_LABELS` are honoured by the planner; a
        selector on any other label makes the pod unplaceable on new nodes (reported, never guessed).
    :ivar required_terms: ``requiredDuringSchedulingIgnoredDuringExecution`` node affinity, one
        :data:`AffinityTerm` per ``nodeSelectorTerms`` item (OR-ed); ``In`` requirements only.
    :ivar cpu_usage_m: measured CPU usage (metrics API), ``None`` when the pod has no metrics.
    :ivar local_storage: the pod mounts ``emptyDir`` or ``hostPath`` (CA keeps such nodes by default).
    :ivar tolerations: its tolerations (:data:`Toleration`), matched against node taints.
    """

    namespace: str
    name: str
    node: str | None
    phase: str
    unschedulable: bool
    requests: Resources
    owner_kind: str | None = None
    owner_name: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    required_terms: tuple[AffinityTerm, ...] = ()
    daemonset: bool = False
    mirror: bool = False
    cpu_usage_m: int | None = None
    ready: bool = True
    created_at: float = 0.0
    local_storage: bool = False
    tolerations: tuple[Toleration, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def demand(self) -> Resources:
        """What placing the pod takes from a node: its requests and one pod slot."""
        return Resources(self.requests.cpu_m, self.requests.memory_b, 1)

    @property
    def pending(self) -> bool:
        return self.node is None and self.phase == "Pending"

    @property
    def terminal(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "namespace": self.namespace,
            "name": self.name,
            "node": self.node,
            "phase": self.phase,
            "unschedulable": self.unschedulable,
            "requests": self.requests.to_json(),
            "owner_kind": self.owner_kind,
            "owner_name": self.owner_name,
            "cpu_usage_m": self.cpu_usage_m,
            "ready": self.ready,
            "created_at": self.created_at,
        }
        # the rare fields only when set: a snapshot holds tens of thousands of pods
        if self.node_selector:
            data["node_selector"] = self.node_selector
        if self.required_terms:
            data["required_terms"] = [[[k, list(v)] for k, v in term] for term in self.required_terms]
        if self.tolerations:
            data["tolerations"] = [list(t) for t in self.tolerations]
        for flag in ("daemonset", "mirror", "local_storage"):
            if getattr(self, flag):
                data[flag] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PodView:
        terms = tuple(
            tuple((str(k), tuple(str(v) for v in values)) for k, values in term)
            for term in data.get("required_terms") or ()
        )
        usage = data.get("cpu_usage_m")
        return cls(
            namespace=data["namespace"],
            name=data["name"],
            node=data.get("node"),
            phase=data.get("phase", "Pending"),
            unschedulable=bool(data.get("unschedulable", False)),
            requests=Resources.from_json(data["requests"]),
            owner_kind=data.get("owner_kind"),
            owner_name=data.get("owner_name"),
            node_selector=dict(data.get("node_selector") or {}),
            required_terms=terms,
            daemonset=bool(data.get("daemonset", False)),
            mirror=bool(data.get("mirror", False)),
            cpu_usage_m=int(usage) if usage is not None else None,
            ready=bool(data.get("ready", True)),
            created_at=float(data.get("created_at", 0.0)),
            local_storage=bool(data.get("local_storage", False)),
            tolerations=_tolerations_from(data.get("tolerations")),
        )


def deployment_of(pod: PodView) -> str | None:
    """The name of the Deployment a pod belongs to, from its controller owner reference: a
    ``Deployment`` owner is that Deployment; a ``ReplicaSet`` owner ``<deployment>-<pod-template-hash>``
    belongs to ``<deployment>``; ``None`` for any other owner or none."""
    if pod.owner_name is None:
        return None
    if pod.owner_kind == "Deployment":
        return pod.owner_name
    if pod.owner_kind == "ReplicaSet":
        return pod.owner_name.rpartition("-")[0] or None
    return None


def _tolerations_from(data: Any) -> tuple[Toleration, ...]:
    return tuple((str(k), str(o), str(v), str(e)) for k, o, v, e in data or ())


# -- deployments ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Floor:
    """A time-of-day minimum: ``replicas`` from ``start_minute`` (inclusive) to ``end_minute``
    (exclusive), minutes after 00:00 UTC; a window with ``end <= start`` wraps past midnight."""

    start_minute: int
    end_minute: int
    replicas: int

    def active(self, now: float) -> bool:
        minute = int(now // 60) % 1440
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute

    def to_json(self) -> list[int]:
        return [self.start_minute, self.end_minute, self.replicas]

    @classmethod
    def from_json(cls, data: Any) -> Floor:
        start, end, replicas = data
        return cls(int(start), int(end), int(replicas))


def floor_at(floors: Iterable[Floor], now: float) -> int:
    """The highest floor active at ``now`` (seconds since the epoch, UTC); 0 when none is."""
    return max((f.replicas for f in floors if f.active(now)), default=0)


@dataclass(frozen=True)
class DeploymentView:
    """A Deployment with the ``yunfleet.io/*`` autoscaling annotations parsed (``annotations.py``).

    :ivar replicas: ``spec.replicas``.
    :ivar pod_cpu_request_m: CPU request of one pod of the template (the HPA target is a percentage of it).
    :ivar pod_memory_request_b: memory request of one pod of the template (for the pods it will add).
    :ivar node_selector / required_terms / tolerations: the template's placement (see :class:`PodView`).
    :ivar error: why the annotations could not be used; the Deployment is then left as it is and the
        error reported in the plan.
    """

    namespace: str
    name: str
    replicas: int
    autoscale: bool
    min_replicas: int
    max_replicas: int
    target_cpu_percent: int
    pod_cpu_request_m: int
    floors: tuple[Floor, ...] = ()
    pod_memory_request_b: int = 0
    node_selector: dict[str, str] = field(default_factory=dict)
    required_terms: tuple[AffinityTerm, ...] = ()
    error: str | None = None
    tolerations: tuple[Toleration, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def owns(self, pod: PodView) -> bool:
        """The pod belongs to this Deployment: its controller is the ReplicaSet
        ``<name>-<pod-template-hash>`` (what the Deployment controller creates), or the Deployment
        itself (controllers that own pods without a ReplicaSet between them)."""
        return pod.namespace == self.namespace and deployment_of(pod) == self.name

    def template_pod(self, index: int) -> PodView:
        """A pod the pod tier is about to add (not yet created): the template's requests and placement."""
        return PodView(
            namespace=self.namespace,
            name=f"{self.name}-new-{index}",
            node=None,
            phase="Pending",
            unschedulable=True,
            requests=Resources(self.pod_cpu_request_m, self.pod_memory_request_b),
            owner_kind="ReplicaSet",
            owner_name=f"{self.name}-new",
            node_selector=self.node_selector,
            required_terms=self.required_terms,
            tolerations=self.tolerations,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "replicas": self.replicas,
            "autoscale": self.autoscale,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "target_cpu_percent": self.target_cpu_percent,
            "pod_cpu_request_m": self.pod_cpu_request_m,
            "floors": [f.to_json() for f in self.floors],
            "pod_memory_request_b": self.pod_memory_request_b,
            "node_selector": self.node_selector,
            "required_terms": [[[k, list(v)] for k, v in term] for term in self.required_terms],
            "error": self.error,
            "tolerations": [list(t) for t in self.tolerations],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeploymentView:
        return cls(
            namespace=data["namespace"],
            name=data["name"],
            replicas=int(data["replicas"]),
            autoscale=bool(data["autoscale"]),
            min_replicas=int(data["min_replicas"]),
            max_replicas=int(data["max_replicas"]),
            target_cpu_percent=int(data["target_cpu_percent"]),
            pod_cpu_request_m=int(data["pod_cpu_request_m"]),
            floors=tuple(Floor.from_json(f) for f in data.get("floors") or ()),
            pod_memory_request_b=int(data.get("pod_memory_request_b", 0)),
            node_selector=dict(data.get("node_selector") or {}),
            required_terms=tuple(
                tuple((str(k), tuple(str(v) for v in values)) for k, values in term)
                for term in data.get("required_terms") or ()
            ),
            error=data.get("error"),
            tolerations=_tolerations_from(data.get("tolerations")),
        )


# -- pools, offerings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolView:
    """A worker node pool of the cluster (from the registry).

    :ivar instance_types: in priority order; the first is used unless it is sold out or backed off.
    :ivar allocatable: per instance type, what one new node offers pods (``instance_types.py``).
    :ivar daemonset_overhead: requests of the DaemonSet pods on every node of the pool; ``None`` means
        derive it from the DaemonSet pods observed on the pool's nodes.
    """

    name: str
    zones: tuple[str, ...]
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    allocatable: dict[str, Resources]
    daemonset_overhead: Resources | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "zones": list(self.zones),
            "instance_types": list(self.instance_types),
            "min_size": self.min_size,
            "max_size": self.max_size,
            "allocatable": {k: v.to_json() for k, v in self.allocatable.items()},
            "daemonset_overhead": (
                self.daemonset_overhead.to_json() if self.daemonset_overhead is not None else None
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PoolView:
        overhead = data.get("daemonset_overhead")
        return cls(
            name=data["name"],
            zones=tuple(data["zones"]),
            instance_types=tuple(data["instance_types"]),
            min_size=int(data["min_size"]),
            max_size=int(data["max_size"]),
            allocatable={k: Resources.from_json(v) for k, v in (data.get("allocatable") or {}).items()},
            daemonset_overhead=Resources.from_json(overhead) if overhead is not None else None,
        )


@dataclass(frozen=True, slots=True, order=True)
class Offering:
    """Where a node can be bought: an instance type in a zone."""

    zone: str
    instance_type: str

    def to_json(self) -> list[str]:
        return [self.zone, self.instance_type]

    @classmethod
    def from_json(cls, data: Any) -> Offering:
        if isinstance(data, Mapping):
            return cls(str(data["zone"]), str(data["instance_type"]))
        zone, instance_type = data
        return cls(str(zone), str(instance_type))


@dataclass(frozen=True, slots=True)
class Backoff:
    """An offering not to try before ``until`` (epoch seconds), and why (the cloud's error code)."""

    offering: Offering
    until: float
    reason: str
    #: how many failures in a row led here (the back-off doubles with each, ``zones.backoff_for``)
    failures: int = 1

    def active(self, now: float) -> bool:
        return now < self.until

    def to_json(self) -> dict[str, Any]:
        return {
            "offering": self.offering.to_json(),
            "until": self.until,
            "reason": self.reason,
            "failures": self.failures,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Backoff:
        return cls(
            Offering.from_json(data["offering"]),
            float(data["until"]),
            str(data["reason"]),
            int(data.get("failures", 1)),
        )


# -- snapshot ---------------------------------------------------------------------------------------

History = dict[str, tuple[tuple[float, int], ...]]


def _history_json(history: Mapping[str, Iterable[tuple[float, int]]]) -> dict[str, list[list[Any]]]:
    return {k: [[t, n] for t, n in v] for k, v in history.items()}


def _history_from(data: Mapping[str, Any] | None) -> History:
    return {k: tuple((float(t), int(n)) for t, n in v) for k, v in (data or {}).items()}


@dataclass(frozen=True)
class Snapshot:
    """Everything the planner decides from, read in one observe step.

    :ivar now: the observation time (epoch seconds, UTC); the planner never reads a clock.
    :ivar failed_zones: zones zone health marks failed or under failover: nothing new goes there and
        nothing is removed there.
    :ivar backoffs: offerings that failed recently (sold out, not on sale); expired ones are ignored.
    :ivar history: per Deployment ``ns/name``, the pod tier's past recommendations ``(time, replicas)``.
    :ivar unneeded_since: per node name, since when scale-down has found it unneeded.
    :ivar upcoming: instances of a pool that are launched but not yet registered as nodes (``name`` =
        instance id, ``ready`` false): they count toward the pool's size and offer empty capacity, so a
        run does not buy again for pods that already have a node on its way.
    """

    cluster: str
    now: float
    nodes: tuple[NodeView, ...]
    pods: tuple[PodView, ...]
    deployments: tuple[DeploymentView, ...]
    pools: tuple[PoolView, ...]
    failed_zones: frozenset[str] = frozenset()
    backoffs: tuple[Backoff, ...] = ()
    history: History = field(default_factory=dict)
    unneeded_since: dict[str, float] = field(default_factory=dict)
    upcoming: tuple[NodeView, ...] = ()

    def pool(self, name: str) -> PoolView | None:
        return next((p for p in self.pools if p.name == name), None)

    def active_backoffs(self) -> dict[Offering, Backoff]:
        return {b.offering: b for b in self.backoffs if b.active(self.now)}

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "now": self.now,
            "nodes": [n.to_json() for n in self.nodes],
            "pods": [p.to_json() for p in self.pods],
            "deployments": [d.to_json() for d in self.deployments],
            "pools": [p.to_json() for p in self.pools],
            "failed_zones": sorted(self.failed_zones),
            "backoffs": [b.to_json() for b in self.backoffs],
            "history": _history_json(self.history),
            "unneeded_since": dict(self.unneeded_since),
            "upcoming": [n.to_json() for n in self.upcoming],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(
            cluster=data["cluster"],
            now=float(data["now"]),
            nodes=tuple(NodeView.from_json(n) for n in data.get("nodes") or ()),
            pods=tuple(PodView.from_json(p) for p in data.get("pods") or ()),
            deployments=tuple(DeploymentView.from_json(d) for d in data.get("deployments") or ()),
            pools=tuple(PoolView.from_json(p) for p in data.get("pools") or ()),
            failed_zones=frozenset(data.get("failed_zones") or ()),
            backoffs=tuple(Backoff.from_json(b) for b in data.get("backoffs") or ()),
            history=_history_from(data.get("history")),
            unneeded_since={k: float(v) for k, v in (data.get("unneeded_since") or {}).items()},
            upcoming=tuple(NodeView.from_json(n) for n in data.get("upcoming") or ()),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Snapshot:
        return cls.from_json(json.loads(text))


# -- actions and the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One change the apply step makes.

    - ``scale_deployment``: ``target`` = ``ns/name``; set ``replicas`` (was ``previous``).
    - ``add_nodes``: ``target`` = pool; ``count`` nodes of ``instance_type`` in ``zone``; ``pods`` are
      the pending (or about-to-be-created) pods they are for; ``fallbacks`` are the offerings to try,
      in order, in the same run if this one is sold out.
    - ``remove_node``: ``target`` = node name (``instance_id`` its ECS instance); cordon, drain, delete.

    ``reason`` says which rule and which constraint led to the action, in one line.
    """

    kind: str
    target: str
    reason: str
    pool: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    count: int = 0
    replicas: int | None = None
    previous: int | None = None
    pods: tuple[str, ...] = ()
    instance_id: str | None = None
    fallbacks: tuple[Offering, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"action kind must be one of {ACTION_KINDS}, got {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "reason": self.reason,
            "pool": self.pool,
            "zone": self.zone,
            "instance_type": self.instance_type,
            "count": self.count,
            "replicas": self.replicas,
            "previous": self.previous,
            "pods": list(self.pods),
            "instance_id": self.instance_id,
            "fallbacks": [o.to_json() for o in self.fallbacks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Action:
        return cls(
            kind=data["kind"],
            target=data["target"],
            reason=data["reason"],
            pool=data.get("pool"),
            zone=data.get("zone"),
            instance_type=data.get("instance_type"),
            count=int(data.get("count", 0)),
            replicas=data.get("replicas"),
            previous=data.get("previous"),
            pods=tuple(data.get("pods") or ()),
            instance_id=data.get("instance_id"),
            fallbacks=tuple(Offering.from_json(o) for o in data.get("fallbacks") or ()),
        )


#: how many pod names a plan row shows before "+N more"
ROW_PODS_SHOWN = 5


@dataclass(frozen=True)
class CapacityPlan:
    """The planner's answer for one cluster.

    :ivar unmanaged_nodes: nodes without a pool label or an ``alicloud://`` providerID: never touched.
    :ivar history: the pod tier's recommendation history to store for the next run (pruned to the window).
    :ivar unneeded_since: scale-down's unneeded timers to store for the next run.
    :ivar notes: per object (``ns/name``, node or pool name), why nothing was done where something might
        be expected (at max size, pod fits no pool, node kept because ...).
    :ivar errors: per object, input that could not be used (a bad annotation); the rest is planned.
    """

    cluster: str
    actions: tuple[Action, ...] = ()
    unmanaged_nodes: tuple[str, ...] = ()
    history: History = field(default_factory=dict)
    unneeded_since: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        return not self.actions

    def rows(self) -> list[dict[str, Any]]:
        """The plan table: one row per action, with its reason."""
        rows = []
        for a in self.actions:
            shown = list(a.pods[:ROW_PODS_SHOWN])
            if len(a.pods) > ROW_PODS_SHOWN:
                shown.append(f"+{len(a.pods) - ROW_PODS_SHOWN} more")
            rows.append(
                {
                    "cluster": self.cluster,
                    "kind": a.kind,
                    "target": a.target,
                    "pool": a.pool,
                    "zone": a.zone,
                    "instance_type": a.instance_type,
                    "count": a.count,
                    "replicas": a.replicas,
                    "previous": a.previous,
                    "pods": ", ".join(shown),
                    "reason": a.reason,
                }
            )
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "actions": [a.to_json() for a in self.actions],
            "unmanaged_nodes": list(self.unmanaged_nodes),
            "history": _history_json(self.history),
            "unneeded_since": dict(self.unneeded_since),
            "notes": dict(self.notes),
            "errors": dict(self.errors),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CapacityPlan:
        return cls(
            cluster=data["cluster"],
            actions=tuple(Action.from_json(a) for a in data.get("actions") or ()),
            unmanaged_nodes=tuple(data.get("unmanaged_nodes") or ()),
            history=_history_from(data.get("history")),
            unneeded_since={k: float(v) for k, v in (data.get("unneeded_since") or {}).items()},
            notes=dict(data.get("notes") or {}),
            errors=dict(data.get("errors") or {}),
        )
