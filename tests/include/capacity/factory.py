"""Builders of small snapshots for the capacity planner's table tests."""

from __future__ import annotations

from include.capacity.model import (
    INSTANCE_TYPE_LABEL,
    POOL_LABEL,
    ZONE_LABEL,
    DeploymentView,
    NodeView,
    PodView,
    PoolView,
    Resources,
    Snapshot,
)

GI = 1024**3
ZONES = ("cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j")
H, I, J = ZONES  # noqa: E741 (zone letters, as in the zone ids)
#: a round node: 4 CPUs, 16 GiB, 110 pods
NODE = Resources(4000, 16 * GI, 110)
BIG = Resources(8000, 32 * GI, 110)
#: a time well past every grace period
NOW = 1_000_000.0


def pool(
    name: str = "workers",
    zones: tuple[str, ...] = ZONES,
    types: tuple[str, ...] = ("ecs.g7.xlarge",),
    min_size: int = 0,
    max_size: int = 50,
    allocatable: dict[str, Resources] | None = None,
) -> PoolView:
    alloc = allocatable or {"ecs.g7.xlarge": NODE, "ecs.g7.2xlarge": BIG}
    return PoolView(name, zones, types, min_size, max_size, {t: alloc[t] for t in types}, Resources(0, 0, 0))


def node(
    name: str,
    zone: str = H,
    pool_name: str | None = "workers",
    instance_type: str = "ecs.g7.xlarge",
    *,
    managed: bool = True,
    ready: bool = True,
    unschedulable: bool = False,
    created_at: float = 0.0,
    allocatable: Resources = NODE,
) -> NodeView:
    labels = {ZONE_LABEL: zone, INSTANCE_TYPE_LABEL: instance_type}
    if pool_name:
        labels[POOL_LABEL] = pool_name
    return NodeView(
        name,
        pool_name,
        zone,
        instance_type,
        f"i-{name}" if managed else None,
        allocatable,
        ready,
        unschedulable,
        created_at,
        labels,
    )


def pod(
    name: str,
    node_name: str | None = None,
    cpu_m: int = 1000,
    memory_gi: float = 1,
    *,
    namespace: str = "shop",
    owner: str | None = "web-7d9f",
    owner_kind: str | None = "ReplicaSet",
    zone: str | None = None,
    usage_m: int | None = None,
    ready: bool = True,
    phase: str | None = None,
    node_selector: dict[str, str] | None = None,
    **extra: object,
) -> PodView:
    return PodView(
        namespace,
        name,
        node_name,
        phase or ("Running" if node_name else "Pending"),
        node_name is None,
        Resources(cpu_m, int(memory_gi * GI)),
        owner_kind if owner else None,
        owner,
        {**({ZONE_LABEL: zone} if zone else {}), **(node_selector or {})},
        cpu_usage_m=usage_m,
        ready=ready,
        **extra,  # type: ignore[arg-type]
    )


def deployment(
    name: str = "web",
    replicas: int = 4,
    *,
    min_replicas: int = 1,
    max_replicas: int = 20,
    target: int = 50,
    cpu_m: int = 1000,
    memory_gi: float = 1,
    **extra: object,
) -> DeploymentView:
    return DeploymentView(
        "shop",
        name,
        replicas,
        True,
        min_replicas,
        max_replicas,
        target,
        cpu_m,
        pod_memory_request_b=int(memory_gi * GI),
        **extra,  # type: ignore[arg-type]
    )


def snapshot(
    nodes: tuple[NodeView, ...] = (),
    pods: tuple[PodView, ...] = (),
    pools: tuple[PoolView, ...] | None = None,
    **extra: object,
) -> Snapshot:
    return Snapshot(
        "demo",
        NOW,
        nodes,
        pods,
        tuple(extra.pop("deployments", ())),  # type: ignore[call-overload]
        pools if pools is not None else (pool(),),
        **extra,  # type: ignore[arg-type]
    )
