"""Observe for ``reconcile_capacity``: one cluster's actual state as the planner's :class:`Snapshot`.

Read-only and batched: per cluster one list each of Nodes, Pods and Deployments, one cluster-wide
``metrics.k8s.io`` pods list, one ``DescribeInstances`` by the cluster tag (launched workers that are
not nodes yet: the snapshot's ``upcoming``), and the registry (pools, zone states, back-offs, the pod
tier's recommendation history, the unneeded-since times). The Kubernetes objects are turned into
views here, so the planner never sees a client model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from include.capacity.model import (
    INSTANCE_TYPE_LABEL,
    POOL_LABEL,
    ZONE_LABEL,
    AffinityTerm,
    Backoff,
    DeploymentView,
    NodeView,
    Offering,
    PodView,
    PoolView,
    Resources,
    Snapshot,
    Taint,
    Toleration,
)

#: zone states (``include.registry.store.ZONE_STATES``) in which a zone gets no new node and loses none
FAILED_ZONE_STATES = frozenset({"failed"})
#: connection extra: ``{primary instance type: [fallback types by priority]}`` for every pool using it
FALLBACKS_EXTRA = "capacity_instance_fallbacks"
#: connection extra: ``{instance type: [vCPUs, GiB]}`` for types the built-in catalog does not know
SPECS_EXTRA = "capacity_instance_specs"


def epoch(value: dt.datetime | None) -> float:
    """Seconds since the epoch of an aware (or UTC-naive) datetime; 0.0 for ``None``."""
    if value is None:
        return 0.0
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


def _cpu_m(value: Any) -> int:
    from kubernetes.utils import parse_quantity

    return int(parse_quantity(str(value)) * 1000) if value not in (None, "") else 0


def _bytes(value: Any) -> int:
    from kubernetes.utils import parse_quantity

    return int(parse_quantity(str(value))) if value not in (None, "") else 0


# -- placement constraints ----------------------------------------------------------------------


def required_terms(affinity: Any, known: Mapping[str, Sequence[str]]) -> tuple[AffinityTerm, ...]:
    """``requiredDuringSchedulingIgnoredDuringExecution`` node affinity as ``In``-only terms.

    ``In`` is kept as it is. On the contract labels (zone, instance type, pool), whose possible values
    are ``known``, ``NotIn`` becomes ``In`` the other known values, ``DoesNotExist`` matches no new node
    (``In ()``), ``Exists`` is dropped (every new node has the label). On any other label every
    operator but ``In`` becomes ``In ()`` for that key, so the planner reports the pod as one a new node
    cannot be promised to, instead of guessing.
    """
    node_affinity = getattr(affinity, "node_affinity", None) if affinity else None
    required = getattr(node_affinity, "required_during_scheduling_ignored_during_execution", None)
    terms: list[AffinityTerm] = []
    for term in getattr(required, "node_selector_terms", None) or []:
        converted: list[tuple[str, tuple[str, ...]]] = []
        for expr in term.match_expressions or []:
            values = tuple(expr.values or ())
            if expr.operator == "In":
                converted.append((expr.key, values))
            elif expr.key in known:
                if expr.operator == "NotIn":
                    converted.append((expr.key, tuple(v for v in known[expr.key] if v not in values)))
                elif expr.operator == "DoesNotExist":
                    converted.append((expr.key, ()))
                # Exists: every new node carries the contract labels
            else:
                converted.append((expr.key, ()))
        for field_expr in term.match_fields or []:
            converted.append((f"field:{field_expr.key}", ()))
        terms.append(tuple(converted))
    return tuple(terms)


def pod_requests(spec: Any) -> Resources:
    """Effective requests of a pod spec: the larger of its containers' sum and each init container
    (the scheduler's rule), in millicores and bytes (``pods`` 0)."""
    cpu = memory = 0
    for container in spec.containers or []:
        requests = (container.resources.requests if container.resources else None) or {}
        cpu += _cpu_m(requests.get("cpu"))
        memory += _bytes(requests.get("memory"))
    for init in spec.init_containers or []:
        requests = (init.resources.requests if init.resources else None) or {}
        cpu = max(cpu, _cpu_m(requests.get("cpu")))
        memory = max(memory, _bytes(requests.get("memory")))
    return Resources(cpu, memory, 0)


def taints_of(spec: Any) -> tuple[Taint, ...]:
    """A node spec's taints as ``(key, value, effect)``; the planner keeps pods off the ``NoSchedule`` /
    ``NoExecute`` ones they do not tolerate."""
    return tuple((t.key or "", t.value or "", t.effect or "") for t in (getattr(spec, "taints", None) or []))


def tolerations_of(spec: Any) -> tuple[Toleration, ...]:
    """A pod spec's tolerations as ``(key, operator, value, effect)`` (operator ``Equal`` by default)."""
    return tuple(
        (t.key or "", t.operator or "Equal", t.value or "", t.effect or "")
        for t in (getattr(spec, "tolerations", None) or [])
    )


# -- views --------------------------------------------------------------------------------------


def node_view(node: Any) -> NodeView:
    """A ``V1Node`` as the planner's :class:`NodeView` (allocatable cpu, memory and pods)."""
    labels = dict(node.metadata.labels or {})
    conditions = (node.status.conditions if node.status else None) or []
    ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
    allocatable = (node.status.allocatable if node.status else None) or {}
    pods = allocatable.get("pods")
    return NodeView.from_labels(
        node.metadata.name,
        labels,
        node.spec.provider_id if node.spec else None,
        Resources(
            _cpu_m(allocatable.get("cpu")), _bytes(allocatable.get("memory")), int(pods) if pods else 0
        ),
        ready=ready,
        unschedulable=bool(node.spec.unschedulable) if node.spec else False,
        created_at=epoch(node.metadata.creation_timestamp),
        taints=taints_of(node.spec),
    )


def pod_view(pod: Any, usage: Mapping[str, int] | None, known: Mapping[str, Sequence[str]]) -> PodView:
    """A ``V1Pod`` as the planner's :class:`PodView`; ``usage`` is its ``metrics.k8s.io`` CPU, if any."""
    meta, spec, status = pod.metadata, pod.spec, pod.status
    owners = [o for o in (meta.owner_references or []) if o.controller] or list(meta.owner_references or [])
    conditions = (status.conditions if status else None) or []
    unschedulable = any(
        c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable" for c in conditions
    )
    ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
    volumes = spec.volumes or []
    owner_kind = owners[0].kind if owners else None
    owner_name = owners[0].name if owners else None
    return PodView(
        namespace=meta.namespace,
        name=meta.name,
        node=spec.node_name or None,
        phase=(status.phase if status else None) or "Pending",
        unschedulable=unschedulable,
        requests=pod_requests(spec),
        owner_kind=owner_kind,
        owner_name=owner_name,
        node_selector=dict(spec.node_selector or {}),
        required_terms=required_terms(spec.affinity, known),
        daemonset=owner_kind == "DaemonSet",
        mirror="kubernetes.io/config.mirror" in (meta.annotations or {}),
        cpu_usage_m=(usage or {}).get(f"{meta.namespace}/{meta.name}"),
        ready=ready,
        created_at=epoch(meta.creation_timestamp),
        local_storage=any(v.empty_dir is not None or v.host_path is not None for v in volumes),
        tolerations=tolerations_of(spec),
    )


def deployment_view_of(deployment: Any, known: Mapping[str, Sequence[str]]) -> DeploymentView:
    """A ``V1Deployment`` with its ``yunfleet.io/*`` annotations parsed (``include.capacity.annotations``)."""
    from include.capacity.annotations import deployment_view

    meta, spec = deployment.metadata, deployment.spec
    template = spec.template.spec
    requests = pod_requests(template)
    return deployment_view(
        meta.namespace,
        meta.name,
        int(spec.replicas if spec.replicas is not None else 1),
        meta.annotations,
        pod_cpu_request_m=requests.cpu_m,
        pod_memory_request_b=requests.memory_b,
        node_selector=template.node_selector,
        required_terms=required_terms(template.affinity, known),
        tolerations=tolerations_of(template),
    )


def pool_views(
    pools: Iterable[Any],
    nodes: Sequence[NodeView],
    extra: Mapping[str, Any],
) -> tuple[PoolView, ...]:
    """The registry's worker pool rows (one per pool and zone) as one :class:`PoolView` per pool.

    Sizes are summed over the zones; the instance types are the pool's type then the fallbacks of
    connection extra ``capacity_instance_fallbacks``; a type's allocatable is that of a Ready node of
    that type in the cluster when there is one (what the kubelet reports), else the catalog's
    (``include.capacity.instance_types``, with ``capacity_instance_specs`` for types it does not know).

    :raises UnknownInstanceType: a type neither a node, the specs nor the catalog knows.
    """
    from include.capacity.instance_types import instance_allocatable

    fallbacks = dict(extra.get(FALLBACKS_EXTRA) or {})
    specs = {k: (int(v[0]), float(v[1])) for k, v in dict(extra.get(SPECS_EXTRA) or {}).items()}
    seen: dict[str, Resources] = {}
    for node in nodes:
        if node.ready and node.instance_type and node.instance_type not in seen and node.allocatable.cpu_m:
            seen[node.instance_type] = node.allocatable
    grouped: dict[str, list[Any]] = {}
    for row in pools:
        if getattr(row, "role", "worker") == "worker":
            grouped.setdefault(row.name, []).append(row)
    views = []
    for name, rows in sorted(grouped.items()):
        primary = rows[0].instance_type
        types = tuple(dict.fromkeys([primary, *[str(t) for t in fallbacks.get(primary, [])]]))
        allocatable = {t: seen.get(t) or instance_allocatable(t, specs) for t in types}
        views.append(
            PoolView(
                name=name,
                zones=tuple(r.zone_id for r in rows),
                instance_types=types,
                min_size=sum(r.min_size for r in rows),
                max_size=sum(r.max_size for r in rows),
                allocatable=allocatable,
            )
        )
    return tuple(views)


def upcoming_nodes(
    instances: Iterable[Any], nodes: Sequence[NodeView], pools: Sequence[PoolView]
) -> tuple[NodeView, ...]:
    """Launched worker instances of the cluster's pools that are not nodes yet (``name`` = instance id)."""
    from include.fleet.contract import TAG_NODE_POOL

    # Nodes are named by their instance id: one without a providerID has joined all the same
    joined = {n.instance_id for n in nodes if n.instance_id} | {n.name for n in nodes}
    by_name = {p.name: p for p in pools}
    found = []
    for inst in instances:
        pool = by_name.get(inst.tags.get(TAG_NODE_POOL, ""))
        if pool is None or inst.instance_id in joined:
            continue
        found.append(
            NodeView(
                name=inst.instance_id,
                pool=pool.name,
                zone=inst.zone_id,
                instance_type=inst.instance_type,
                instance_id=inst.instance_id,
                allocatable=pool.allocatable.get(inst.instance_type) or Resources(0, 0, 0),
                ready=False,
                unschedulable=False,
                created_at=epoch(_parse_time(inst.creation_time)),
                labels={
                    ZONE_LABEL: inst.zone_id,
                    INSTANCE_TYPE_LABEL: inst.instance_type,
                    POOL_LABEL: pool.name,
                },
            )
        )
    return tuple(sorted(found, key=lambda n: n.name))


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def known_values(pools: Sequence[PoolView]) -> dict[str, tuple[str, ...]]:
    """The values the contract labels can take on the cluster's new nodes."""
    return {
        ZONE_LABEL: tuple(sorted({z for p in pools for z in p.zones})),
        INSTANCE_TYPE_LABEL: tuple(sorted({t for p in pools for t in p.instance_types})),
        POOL_LABEL: tuple(sorted(p.name for p in pools)),
    }


# -- reads --------------------------------------------------------------------------------------


def read_cluster(kube: Any) -> dict[str, Any]:
    """The cluster's Nodes, Pods, Deployments and pod CPU usage: four list calls through the hook's
    public reads (``FleetKubernetesHook``), each retried like every read.

    Returns ``{"nodes", "pods", "deployments"}`` (client models) and ``"usage"`` (``{ns/pod: millicores}``).
    """
    nodes = kube.list_node_objects()
    pods = kube.list_pod_objects()
    deployments = kube.list_deployments()
    usage = {key: m["cpu_millicores"] for key, m in kube.all_pod_metrics().items()}
    return {"nodes": nodes, "pods": pods, "deployments": deployments, "usage": usage}


def registry_state(registry: Any, cluster: str, now: dt.datetime, window_s: float) -> dict[str, Any]:
    """What the registry holds for the planner: pools, failed zones, back-offs, history, unneeded times."""
    states = {z.zone_id: z.state for z in registry.list_zone_states()}
    states.update({z.zone_id: z.state for z in registry.list_zone_states(scope=cluster)})
    # an evacuated zone gets nothing new and loses nothing, like a failed one
    states.update({e.zone_id: "failed" for e in registry.evacuations(active_only=True)})
    history = registry.recommendations(cluster, since=now - dt.timedelta(seconds=window_s))
    return {
        "pools": registry.list_node_pools(cluster),
        "failed_zones": frozenset(z for z, s in states.items() if s in FAILED_ZONE_STATES),
        "backoffs": tuple(
            Backoff(Offering(b.zone_id, b.instance_type), epoch(b.until), b.reason, b.failures)
            for b in registry.backoffs()
        ),
        "history": {
            f"{ns}/{name}": tuple((epoch(r.recorded_at), r.replicas) for r in records)
            for (ns, name), records in history.items()
        },
        "unneeded_since": {n: epoch(t) for n, t in registry.unneeded_nodes(cluster).items()},
    }


def snapshot_of(
    cluster: str,
    *,
    read: Mapping[str, Any],
    state: Mapping[str, Any],
    instances: Iterable[Any],
    extra: Mapping[str, Any],
    now: dt.datetime,
) -> Snapshot:
    """The planner's snapshot from the cluster reads, the registry state and the cluster's live worker
    instances. A managed node whose instance is no longer live (released by an earlier run, its Node
    not yet removed by the cloud controller) is left out with its pods: it is leaving, not capacity."""
    instances = list(instances)
    live = {i.instance_id for i in instances}
    every = [node_view(n) for n in read["nodes"]]
    leaving = {n.name for n in every if n.managed and n.instance_id not in live}
    nodes = tuple(n for n in every if n.name not in leaving)
    pools = pool_views(state["pools"], nodes, extra)
    known = known_values(pools)
    pods = tuple(
        pod_view(p, read["usage"], known) for p in read["pods"] if (p.spec.node_name or "") not in leaving
    )
    deployments = tuple(deployment_view_of(d, known) for d in read["deployments"])
    return Snapshot(
        cluster=cluster,
        now=epoch(now),
        nodes=nodes,
        pods=pods,
        deployments=deployments,
        pools=pools,
        failed_zones=state["failed_zones"],
        backoffs=state["backoffs"],
        history=dict(state["history"]),
        unneeded_since=dict(state["unneeded_since"]),
        upcoming=upcoming_nodes(instances, nodes, pools),
    )


def observe_snapshot(
    cluster: str,
    *,
    kube: Any,
    ecs: Any,
    registry: Any,
    extra: Mapping[str, Any],
    window_s: float,
    now: dt.datetime | None = None,
) -> tuple[Snapshot, dict[str, list[str]]]:
    """Read one cluster and build its snapshot; also ``{"<pool>/<zone>": [live worker instance ids]}``
    (what a scale-up's ``count`` is added to)."""
    from include.fleet.contract import ROLE_WORKER, TAG_NODE_POOL

    when = now or dt.datetime.now(dt.UTC)
    read = read_cluster(kube)
    instances = ecs.list_cluster_instances(cluster, role=ROLE_WORKER)
    state = registry_state(registry, cluster, when, window_s)
    snapshot = snapshot_of(cluster, read=read, state=state, instances=instances, extra=extra, now=when)
    per_pool_zone: dict[str, list[str]] = {}
    for inst in instances:
        key = f"{inst.tags.get(TAG_NODE_POOL, '')}/{inst.zone_id}"
        per_pool_zone.setdefault(key, []).append(inst.instance_id)
    return snapshot, {k: sorted(v) for k, v in sorted(per_pool_zone.items())}
