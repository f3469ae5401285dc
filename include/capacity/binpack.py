"""The node tier's scale-up: pods that need room -> new nodes per pool, by multi-resource
first-fit-decreasing.

Input pods are the unschedulable ones plus the replicas the pod tier is about to add (synthetic pods of
the Deployment's template). In order:

1. Room already on its way: every pod first tries managed nodes that are registered but not ready yet and
   instances launched but not registered (``Snapshot.upcoming``); a pod the pod tier is about to create
   also tries the free room of ready, schedulable nodes (the scheduler has not judged it yet; a pod it
   already found unschedulable is not put back on the same nodes).
2. Pools below their ``min_size`` open the missing nodes first (empty nodes that pods may fill).
3. The rest is packed onto new nodes, largest first (dominant share of CPU, memory, pod slots): a new node
   is opened for the largest pod left, in the first pool (snapshot order) whose constraints, size and
   step limits allow it, of the pool's first instance type (priority order) that holds it with an
   offering in a zone that is neither failed nor backed off; it is then filled with the pods whose
   demand best matches its free room (dot product), so CPU-heavy and memory-heavy pods share nodes
   instead of each filling nodes in one dimension. A new node's room is the type's allocatable minus the
   pool's DaemonSet overhead.

Constraints (placement.py) are never relaxed: a pod pinned to a zone only shares a node with pods that
may run in that zone, and the node keeps that zone. A pod never narrows the zones of a new node that
already holds pods, so pinned pods fill nodes of their own and leave the others free to be balanced.
Pods that fit nowhere are listed with why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from include.capacity.model import (
    ZERO,
    NodeView,
    Offering,
    PodView,
    PoolView,
    Resources,
    Snapshot,
    Taint,
    Toleration,
)
from include.capacity.placement import (
    Constraints,
    allowed_offerings,
    constraints_of,
    foreign_keys,
    matches,
    tolerates,
)
from include.capacity.settings import DEFAULT_SETTINGS, CapacitySettings
from include.capacity.zones import pool_nodes


@dataclass(frozen=True)
class NewNode:
    """One node to buy: ``zones`` are those it may go to (the zone tier picks one)."""

    pool: str
    instance_type: str
    zones: frozenset[str]
    pods: tuple[str, ...]
    used: Resources
    #: why it is bought beyond its pods (``"min_size"`` for a pool below its minimum)
    cause: str = "pods"
    #: the offerings every pod on it allows (for the fallbacks of the apply step)
    allowed: frozenset[Offering] = frozenset()


@dataclass(frozen=True)
class ScaleUp:
    """What the node tier's scale-up decided.

    :ivar on_existing: pod -> node (or upcoming instance) that already has room for it.
    :ivar unplaced: pod -> why no node can be planned for it in this run.
    :ivar overhead: per pool, the DaemonSet requests taken from every new node.
    """

    new_nodes: tuple[NewNode, ...] = ()
    on_existing: dict[str, str] = field(default_factory=dict)
    unplaced: dict[str, str] = field(default_factory=dict)
    overhead: dict[str, Resources] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def node_capacity(node: NodeView, settings: CapacitySettings = DEFAULT_SETTINGS) -> Resources:
    """The node's allocatable, with ``settings.default_max_pods`` when it reports no pod capacity."""
    a = node.allocatable
    return a if a.pods > 0 else Resources(a.cpu_m, a.memory_b, settings.default_max_pods)


def requested_by_node(snapshot: Snapshot) -> dict[str, Resources]:
    """Per node name, the demand (requests + one slot each) of its non-terminal pods."""
    used: dict[str, list[int]] = {}
    for pod in snapshot.pods:
        if pod.node is None or pod.phase in ("Succeeded", "Failed"):
            continue
        u = used.get(pod.node)
        if u is None:
            u = used[pod.node] = [0, 0, 0]
        r = pod.requests
        u[0] += r.cpu_m
        u[1] += r.memory_b
        u[2] += 1
    return {k: Resources(*v) for k, v in used.items()}


def daemonset_overheads(snapshot: Snapshot) -> dict[str, Resources]:
    """Per pool, the DaemonSet demand a new node carries: the pool's own figure if set, else the largest
    DaemonSet demand seen on one of its nodes, else on any node of the cluster, else nothing."""
    per_node: dict[str, Resources] = defaultdict(lambda: ZERO)
    for pod in snapshot.pods:
        if pod.daemonset and pod.node is not None and not pod.terminal:
            per_node[pod.node] = per_node[pod.node] + pod.demand
    by_pool: dict[str, Resources] = {}
    cluster_max = ZERO
    for node in snapshot.nodes:
        d = per_node.get(node.name, ZERO)
        cluster_max = _max(cluster_max, d)
        if node.pool:
            by_pool[node.pool] = _max(by_pool.get(node.pool, ZERO), d)
    result = {}
    for pool in snapshot.pools:
        if pool.daemonset_overhead is not None:
            result[pool.name] = pool.daemonset_overhead
        else:
            result[pool.name] = by_pool.get(pool.name, cluster_max)
    return result


def _max(a: Resources, b: Resources) -> Resources:
    return Resources(max(a.cpu_m, b.cpu_m), max(a.memory_b, b.memory_b), max(a.pods, b.pods))


def _fit_count(free: list[int], d: Resources) -> int:
    """How many pods of demand ``d`` fit in ``free`` ([cpu, memory, pods])."""
    n = free[2] // d.pods if d.pods > 0 else 1 << 30
    if d.cpu_m > 0:
        n = min(n, free[0] // d.cpu_m)
    elif free[0] < 0:
        return 0
    if d.memory_b > 0:
        n = min(n, free[1] // d.memory_b)
    elif free[1] < 0:
        return 0
    return max(n, 0)


class _Room:
    """A node (existing, upcoming or new) being filled: free [cpu, memory, pods] and what went in."""

    __slots__ = (
        "allowed",
        "free",
        "instance_type",
        "labels",
        "name",
        "pods",
        "pool",
        "taints",
        "used",
        "zones",
    )

    def __init__(
        self,
        name: str,
        free: Resources,
        *,
        labels: dict[str, str] | None = None,
        pool: str = "",
        instance_type: str = "",
        zones: frozenset[str] = frozenset(),
        allowed: frozenset[Offering] = frozenset(),
        taints: tuple[Taint, ...] = (),
    ) -> None:
        self.name = name
        self.taints = taints
        self.free = [free.cpu_m, free.memory_b, free.pods]
        self.labels = labels or {}
        self.pool = pool
        self.instance_type = instance_type
        self.zones = zones
        self.allowed = allowed
        self.pods: list[str] = []
        self.used = [0, 0, 0]

    def take(self, d: Resources, keys: Sequence[str]) -> None:
        n = len(keys)
        self.free[0] -= d.cpu_m * n
        self.free[1] -= d.memory_b * n
        self.free[2] -= d.pods * n
        self.used[0] += d.cpu_m * n
        self.used[1] += d.memory_b * n
        self.used[2] += d.pods * n
        self.pods.extend(keys)

    def spent(self, smallest: tuple[int, int]) -> bool:
        return self.free[2] < 1 or self.free[0] < smallest[0] or self.free[1] < smallest[1]


@dataclass
class _Group:
    demand: Resources
    constraints: Constraints
    synthetic: bool
    keys: list[str]
    tolerations: tuple[Toleration, ...] = ()


def _groups(pods: Sequence[PodView], synthetic: frozenset[str]) -> list[_Group]:
    groups: dict[tuple[Resources, Constraints, bool, tuple[Toleration, ...]], _Group] = {}
    for pod in pods:
        c = constraints_of(pod)
        s = pod.key in synthetic
        key = (pod.demand, c, s, pod.tolerations)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(pod.demand, c, s, [], pod.tolerations)
        g.keys.append(pod.key)
    return list(groups.values())


class _Pools:
    """Per pool: new-node room, size limits, usable offerings."""

    def __init__(
        self, snapshot: Snapshot, settings: CapacitySettings, overhead: dict[str, Resources]
    ) -> None:
        self.snapshot = snapshot
        self.settings = settings
        self.overhead = overhead
        self.blocked = set(snapshot.active_backoffs())
        self.room: dict[str, int] = {}
        self.limit_reason: dict[str, str] = {}
        for pool in snapshot.pools:
            size = len(pool_nodes(pool.name, snapshot))
            by_size = pool.max_size - size
            self.room[pool.name] = max(0, min(by_size, settings.max_new_nodes_per_pool))
            self.limit_reason[pool.name] = (
                f"pool {pool.name} is at its max size {pool.max_size}"
                if by_size <= settings.max_new_nodes_per_pool
                else f"pool {pool.name} reached the per-run step limit of "
                f"{settings.max_new_nodes_per_pool} new nodes"
            )
        self.run_room = settings.max_new_nodes_per_run

    def usable(self, pool: PoolView, allowed: frozenset[Offering]) -> frozenset[Offering]:
        failed = self.snapshot.failed_zones
        return frozenset(o for o in allowed if o.zone not in failed and o not in self.blocked)

    def new_room(self, pool: PoolView, instance_type: str) -> Resources | None:
        alloc = pool.allocatable.get(instance_type)
        if alloc is None:
            return None
        if alloc.pods <= 0:
            alloc = Resources(alloc.cpu_m, alloc.memory_b, self.settings.default_max_pods)
        return alloc - self.overhead.get(pool.name, ZERO)


def pack(
    pods: Sequence[PodView],
    snapshot: Snapshot,
    settings: CapacitySettings = DEFAULT_SETTINGS,
    *,
    synthetic: frozenset[str] = frozenset(),
    used: dict[str, Resources] | None = None,
) -> ScaleUp:
    """Plan new nodes for ``pods`` (module docstring). ``synthetic`` names the pods not created yet;
    ``used`` is :func:`requested_by_node` when the caller has it."""
    overhead = daemonset_overheads(snapshot)
    pools = _Pools(snapshot, settings, overhead)
    groups = _groups(pods, synthetic)
    if not groups and all(len(pool_nodes(p.name, snapshot)) >= p.min_size for p in snapshot.pools):
        return ScaleUp(overhead=overhead)

    ref = Resources(1, 1, 1)
    for pool in snapshot.pools:
        for t in pool.instance_types:
            room = pools.new_room(pool, t)
            if room is not None:
                ref = Resources(
                    max(ref.cpu_m, room.cpu_m), max(ref.memory_b, room.memory_b), max(ref.pods, room.pods)
                )
    groups.sort(
        key=lambda g: (
            -max(g.demand.cpu_m / ref.cpu_m, g.demand.memory_b / ref.memory_b, g.demand.pods / ref.pods),
            -g.demand.cpu_m,
            -g.demand.memory_b,
        )
    )
    smallest = (
        min((g.demand.cpu_m for g in groups), default=0),
        min((g.demand.memory_b for g in groups), default=0),
    )
    on_existing = _fill_existing(groups, snapshot, settings, smallest, used)
    opened: list[_Room] = []
    notes: dict[str, str] = {}
    _open_min_size(pools, opened, notes)
    unplaced: dict[str, str] = {}
    classes: dict[tuple[tuple[str, frozenset[Offering]], ...], list[_Group]] = {}
    for g in groups:
        if g.keys:
            usable = _usable_offerings(g, pools, opened, unplaced, smallest)
            if usable:
                classes.setdefault(tuple(sorted(usable.items())), []).append(g)
    for key, members in classes.items():
        _fill_new_nodes(members, dict(key), pools, opened, unplaced)
    new_nodes = tuple(
        NewNode(
            pool=r.pool,
            instance_type=r.instance_type,
            zones=r.zones,
            pods=tuple(r.pods),
            used=Resources(*r.used),
            cause="pods" if r.pods else "min_size",
            allowed=r.allowed,
        )
        for r in opened
    )
    return ScaleUp(new_nodes, on_existing, unplaced, overhead, notes)


def _fill_existing(
    groups: list[_Group],
    snapshot: Snapshot,
    settings: CapacitySettings,
    smallest: tuple[int, int],
    used: dict[str, Resources] | None,
) -> dict[str, str]:
    if not any(g.keys for g in groups):
        return {}
    used = used if used is not None else requested_by_node(snapshot)
    waiting: list[_Room] = []
    ready: list[_Room] = []
    for node in snapshot.nodes:
        if node.unschedulable or (not node.ready and not node.managed):
            # a NotReady node Yunfleet did not launch is no room on its way
            continue
        room = _Room(
            node.name,
            node_capacity(node, settings) - used.get(node.name, ZERO),
            labels=node.labels,
            taints=node.taints,
        )
        (ready if node.ready else waiting).append(room)
    for node in snapshot.upcoming:
        waiting.append(_Room(node.name, node_capacity(node, settings), labels=node.labels))
    placed: dict[str, str] = {}
    for rooms, only_synthetic in ((waiting, False), (ready, True)):
        rooms = [r for r in rooms if not r.spent(smallest)]
        for g in groups:
            if only_synthetic and not g.synthetic:
                continue
            for room in rooms:
                if not g.keys:
                    break
                if room.spent(smallest) or not matches(g.constraints, room.labels):
                    continue
                if room.taints and not tolerates(g.tolerations, room.taints):
                    continue
                n = min(_fit_count(room.free, g.demand), len(g.keys))
                if n:
                    keys, g.keys = g.keys[:n], g.keys[n:]
                    room.take(g.demand, keys)
                    placed.update(dict.fromkeys(keys, room.name))
    return placed


def _open_min_size(pools: _Pools, opened: list[_Room], notes: dict[str, str]) -> None:
    snapshot = pools.snapshot
    for pool in snapshot.pools:
        missing = pool.min_size - len(pool_nodes(pool.name, snapshot))
        if missing <= 0:
            continue
        everything = frozenset(Offering(z, t) for z in pool.zones for t in pool.instance_types)
        usable = pools.usable(pool, everything)
        for t in pool.instance_types:
            room = pools.new_room(pool, t)
            zones = frozenset(o.zone for o in usable if o.instance_type == t)
            if room is None or not zones:
                continue
            n = min(missing, pools.room[pool.name], pools.run_room)
            for _ in range(n):
                opened.append(
                    _Room("", room, pool=pool.name, instance_type=t, zones=zones, allowed=frozenset(usable))
                )
            pools.room[pool.name] -= n
            pools.run_room -= n
            if n < missing:
                notes[pool.name] = (
                    f"pool {pool.name} is {missing} below min_size; {n} added this run (step limit)"
                )
            break
        else:
            notes[pool.name] = (
                f"pool {pool.name} is {missing} below min_size but has no usable offering "
                "(zones failed or in back-off)"
            )


def _usable_offerings(
    g: _Group, pools: _Pools, opened: list[_Room], unplaced: dict[str, str], smallest: tuple[int, int]
) -> dict[str, frozenset[Offering]]:
    """Per pool, the offerings the group's pods may get a new node in; the group first fills the new
    nodes already opened (pools below min size). Pods no pool can hold are unplaced with why."""
    snapshot = pools.snapshot
    foreign = foreign_keys(g.constraints)
    usable: dict[str, frozenset[Offering]] = {}
    why: list[str] = []
    for pool in snapshot.pools:
        if foreign:
            why.append(f"it selects {', '.join(foreign)}, which new nodes of {pool.name} do not carry")
            continue
        allowed = allowed_offerings(g.constraints, pool)
        if not allowed:
            why.append(f"its nodeSelector/affinity allows no zone or instance type of pool {pool.name}")
            continue
        ok = pools.usable(pool, allowed)
        if not ok:
            zones = sorted({o.zone for o in allowed})
            why.append(
                f"pool {pool.name} has no usable offering in {zones} (zone failed or offering in back-off)"
            )
            continue
        types = [t for t in pool.instance_types if any(o.instance_type == t for o in ok)]
        too_small = []
        for t in types:
            capacity = pools.new_room(pool, t)
            if capacity is not None and _fit_count(
                [capacity.cpu_m, capacity.memory_b, capacity.pods], g.demand
            ):
                break
            if capacity is not None:
                too_small.append(
                    f"more than a {t} of pool {pool.name} offers ({capacity.cpu_m}m, "
                    f"{capacity.memory_b // 2**20} MiB after DaemonSets)"
                )
        else:
            why.append(
                f"it needs {g.demand.cpu_m}m CPU and {g.demand.memory_b // 2**20} MiB, "
                + "; ".join(too_small)
            )
            continue
        usable[pool.name] = ok
    if not usable:
        _unplace(g, unplaced, why)
        return {}
    for room in opened:
        if not g.keys:
            break
        room_ok = usable.get(room.pool)
        if room_ok is None or room.spent(smallest):
            continue
        room_zones = room.zones & {o.zone for o in room_ok if o.instance_type == room.instance_type}
        if not room_zones or (room.pods and room_zones != room.zones):
            # a pod never narrows the zones of a node that already holds pods
            continue
        n = min(_fit_count(room.free, g.demand), len(g.keys))
        if n:
            keys, g.keys = g.keys[:n], g.keys[n:]
            room.take(g.demand, keys)
            room.zones = room_zones
            room.allowed = room.allowed & room_ok
    return usable if g.keys else {}


def _fill_new_nodes(
    members: list[_Group],
    usable: dict[str, frozenset[Offering]],
    pools: _Pools,
    opened: list[_Room],
    unplaced: dict[str, str],
) -> None:
    """Pods that may share nodes (same usable offerings), largest first: each new node is opened for the
    largest pod left, in the first pool and instance type (priority order) that holds it, then filled by
    repeatedly adding the pods whose demand best matches the node's free room (the dot product of demand
    and free room, both relative to the node: the "dot product" heuristic of Panigrahy et al., Heuristics
    for Vector Bin Packing, 2011), half of what fits of the chosen shape at a time."""
    snapshot = pools.snapshot
    while True:
        live = [g for g in members if g.keys]
        if not live:
            return
        largest = live[0]
        choice = None
        limits: list[str] = []
        for pool in snapshot.pools:
            ok = usable.get(pool.name)
            if ok is None:
                continue
            if pools.room[pool.name] <= 0:
                limits.append(pools.limit_reason[pool.name])
                continue
            if pools.run_room <= 0:
                limits.append(
                    f"the per-run limit of {pools.settings.max_new_nodes_per_run} new nodes is reached"
                )
                break
            for t in pool.instance_types:
                zones = frozenset(o.zone for o in ok if o.instance_type == t)
                capacity = pools.new_room(pool, t)
                if (
                    zones
                    and capacity is not None
                    and _fit_count([capacity.cpu_m, capacity.memory_b, capacity.pods], largest.demand)
                ):
                    choice = (pool.name, t, zones, capacity, ok)
                    break
            if choice:
                break
        if choice is None:
            _unplace(largest, unplaced, limits or ["no pool can hold it"])
            continue
        name, t, zones, capacity, ok = choice
        room = _Room("", capacity, pool=name, instance_type=t, zones=zones, allowed=ok)
        opened.append(room)
        pools.room[name] -= 1
        pools.run_room -= 1
        cpu, mem, slots = max(capacity.cpu_m, 1), max(capacity.memory_b, 1), max(capacity.pods, 1)
        while True:
            best: _Group | None = None
            best_score = -1.0
            best_fit = 0
            free = room.free
            for g in live:
                if not g.keys:
                    continue
                fit = _fit_count(free, g.demand)
                if not fit:
                    continue
                d = g.demand
                score = (
                    d.cpu_m * free[0] / (cpu * cpu)
                    + d.memory_b * free[1] / (mem * mem)
                    + d.pods * free[2] / (slots * slots)
                )
                if score > best_score:
                    best, best_score, best_fit = g, score, fit
            if best is None:
                break
            n = min(max(1, best_fit // 2), len(best.keys))
            keys, best.keys = best.keys[:n], best.keys[n:]
            room.take(best.demand, keys)


def _unplace(g: _Group, unplaced: dict[str, str], why: list[str]) -> None:
    reason = "; ".join(dict.fromkeys(why)) or "no pool can hold it"
    for key in g.keys:
        unplaced[key] = reason
    g.keys = []
