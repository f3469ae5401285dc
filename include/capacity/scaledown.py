"""The node tier's scale-down: underused managed nodes whose pods fit elsewhere, removed after a delay,
zones kept balanced.

Rules (Cluster Autoscaler's, kubernetes/autoscaler ``cluster-autoscaler/FAQ.md``, unless marked ours):

- Utilisation = max(CPU, memory) of the requests of the node's pods (DaemonSet and mirror pods
  excluded) over its allocatable; below ``utilization_threshold`` (0.5) the node is a candidate.
- A candidate is *unneeded* when every pod that would move fits on the other schedulable nodes, checked
  by simulation (first fit, the pods' nodeSelector/affinity honoured; the room a move takes is
  reserved, so all unneeded nodes could go together; a node that receives pods is no longer a candidate).
- Nodes are kept when a pod on them has no controller ("What types of pods can prevent CA from removing
  a node?": pods not backed by a controller) or uses local storage (``--skip-nodes-with-local-storage``,
  default true); when they are younger than ``new_node_grace_s`` (``scale-down-delay-after-add``); when
  they are cordoned or not ready (other hands are on them).
- An unneeded node is removed once it has been unneeded for ``unneeded_time_s`` (600 s), at most
  ``max_removals_per_run`` per run (``max-scale-down-parallelism`` 10), never below the pool's ``min_size``.
- Scale-down pauses when more than ``max(ok_unready_count, max_unready_percent % of nodes)`` nodes are
  unready (CA halts then).
- Ours: zone balance on scale-down (kubernetes/autoscaler#3693, #5096): a pool loses a node only in a
  zone where it has the most nodes among its non-failed zones, so a balanced pool stays balanced (skew
  <= 1). No removal in a failed zone (a zone under failover keeps what it has). Unmanaged nodes (no
  pool label or no ``alicloud://`` providerID) are listed and never touched, and never stop the loop.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from include.capacity.binpack import node_capacity, requested_by_node
from include.capacity.model import ZERO, NodeView, PodView, Resources, Snapshot
from include.capacity.placement import constraints_of, matches, tolerates
from include.capacity.settings import DEFAULT_SETTINGS, CapacitySettings
from include.capacity.zones import pool_nodes


@dataclass(frozen=True)
class Removal:
    node: str
    pool: str
    zone: str
    instance_id: str
    utilisation: float
    unneeded_for: float
    pods: tuple[str, ...]


@dataclass(frozen=True)
class ScaleDown:
    """:ivar unneeded_since: the timers to store: every node found unneeded this run and since when."""

    removals: tuple[Removal, ...] = ()
    unneeded_since: dict[str, float] = field(default_factory=dict)
    unmanaged: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)


def _movable(pod: PodView) -> bool:
    return not (pod.daemonset or pod.mirror or pod.terminal)


def _blocker(pods: list[PodView]) -> str | None:
    for pod in pods:
        if pod.owner_kind is None:
            return f"pod {pod.key} has no controller (it would not come back after a drain)"
        if pod.local_storage:
            return f"pod {pod.key} uses local storage (emptyDir/hostPath)"
    return None


def _utilisation(pods: list[PodView], capacity: Resources) -> float:
    cpu = sum(p.requests.cpu_m for p in pods)
    memory = sum(p.requests.memory_b for p in pods)
    return Resources(cpu, memory).utilisation(capacity)


def _unready_halt(snapshot: Snapshot, settings: CapacitySettings) -> str | None:
    unready = sum(1 for n in snapshot.nodes if not n.ready)
    allowed = max(settings.ok_unready_count, settings.max_unready_percent / 100 * len(snapshot.nodes))
    if unready > allowed:
        return (
            f"{unready} of {len(snapshot.nodes)} nodes are unready (more than {allowed:g}): "
            "scale-down paused, as Cluster Autoscaler does"
        )
    return None


def find_unneeded(
    snapshot: Snapshot,
    settings: CapacitySettings = DEFAULT_SETTINGS,
    used: dict[str, Resources] | None = None,
) -> tuple[dict[str, tuple[float, tuple[str, ...]]], dict[str, str]]:
    """Nodes that are unneeded now: ``{node: (utilisation, pods that would move)}``, and per kept
    candidate why it is kept. ``used`` is ``binpack.requested_by_node`` when the caller has it."""
    pods_by_node: dict[str, list[PodView]] = defaultdict(list)
    for pod in snapshot.pods:
        if pod.node is not None and _movable(pod):
            pods_by_node[pod.node].append(pod)
    used = used if used is not None else requested_by_node(snapshot)
    free: dict[str, list[int]] = {}
    for node in snapshot.nodes:
        if node.ready and not node.unschedulable:
            room = node_capacity(node, settings) - used.get(node.name, ZERO)
            free[node.name] = [room.cpu_m, room.memory_b, room.pods]
    nodes_by_name = {n.name: n for n in snapshot.nodes}

    candidates: list[tuple[float, NodeView]] = []
    kept: dict[str, str] = {}
    for node in snapshot.nodes:
        if not node.managed or node.pool is None or snapshot.pool(node.pool) is None:
            continue
        if node.zone in snapshot.failed_zones or not node.ready or node.unschedulable:
            continue
        u = _utilisation(pods_by_node[node.name], node_capacity(node, settings))
        if u >= settings.utilization_threshold:
            continue
        if snapshot.now - node.created_at < settings.new_node_grace_s:
            kept[node.name] = f"utilisation {u:.2f} but younger than {settings.new_node_grace_s:g} s"
            continue
        blocker = _blocker(pods_by_node[node.name])
        if blocker:
            kept[node.name] = f"utilisation {u:.2f} but {blocker}"
            continue
        candidates.append((u, node))
    candidates.sort(key=lambda c: (c[0], c[1].name))

    unneeded: dict[str, tuple[float, tuple[str, ...]]] = {}
    receivers: set[str] = set()
    destinations = [n for n in free if n in nodes_by_name]
    for u, node in candidates:
        if node.name in receivers:
            kept[node.name] = f"utilisation {u:.2f} but it receives pods of another node being emptied"
            continue
        moves = _simulate(pods_by_node[node.name], node.name, destinations, free, nodes_by_name, unneeded)
        if moves is None:
            kept[node.name] = f"utilisation {u:.2f} but its pods do not all fit on other nodes"
            continue
        for _pod, dest, demand in moves:
            f = free[dest]
            f[0] -= demand.cpu_m
            f[1] -= demand.memory_b
            f[2] -= demand.pods
            receivers.add(dest)
        free.pop(node.name, None)
        unneeded[node.name] = (u, tuple(p.key for p, _, _ in moves))
    return unneeded, kept


def _simulate(
    pods: list[PodView],
    origin: str,
    destinations: list[str],
    free: dict[str, list[int]],
    nodes: dict[str, NodeView],
    leaving: dict[str, tuple[float, tuple[str, ...]]],
) -> list[tuple[PodView, str, Resources]] | None:
    """First fit of ``pods`` (largest first) onto ``destinations``; ``None`` if one does not fit."""
    tentative: dict[str, list[int]] = {}
    moves = []
    for pod in sorted(pods, key=lambda p: (-p.requests.cpu_m, -p.requests.memory_b, p.key)):
        d = pod.demand
        c = constraints_of(pod)
        for dest in destinations:
            if dest == origin or dest in leaving:
                continue
            f = tentative.get(dest) or free[dest]
            if (
                f[0] >= d.cpu_m
                and f[1] >= d.memory_b
                and f[2] >= 1
                and matches(c, nodes[dest].labels)
                and tolerates(pod.tolerations, nodes[dest].taints)
            ):
                tentative[dest] = [f[0] - d.cpu_m, f[1] - d.memory_b, f[2] - 1]
                moves.append((pod, dest, d))
                break
        else:
            return None
    return moves


def plan_scale_down(
    snapshot: Snapshot,
    settings: CapacitySettings = DEFAULT_SETTINGS,
    *,
    paused: str | None = None,
    used: dict[str, Resources] | None = None,
) -> ScaleDown:
    """Removals of this run and the timers to keep (module docstring).

    :param paused: a reason not to remove anything this run (e.g. the plan adds nodes); timers still run.
    """
    unmanaged = tuple(sorted(n.name for n in snapshot.nodes if not n.managed))
    notes: dict[str, str] = {}
    halt = _unready_halt(snapshot, settings)
    if halt:
        return ScaleDown(unmanaged=unmanaged, notes={"scale-down": halt}, unneeded_since={})
    unneeded, kept = find_unneeded(snapshot, settings, used)
    notes.update(kept)
    since = {name: snapshot.unneeded_since.get(name, snapshot.now) for name in unneeded}
    if paused:
        if unneeded:
            notes["scale-down"] = paused
        return ScaleDown(unneeded_since=since, unmanaged=unmanaged, notes=notes)

    nodes = {n.name: n for n in snapshot.nodes}
    ripe = [nodes[name] for name in unneeded if snapshot.now - since[name] >= settings.unneeded_time_s]
    for name in unneeded:
        if nodes[name] not in ripe:
            notes[name] = (
                f"unneeded (utilisation {unneeded[name][0]:.2f}) for {snapshot.now - since[name]:g} s of "
                f"{settings.unneeded_time_s:g} s"
            )
    removals: list[Removal] = []
    by_pool: dict[str, list[NodeView]] = defaultdict(list)
    for node in ripe:
        by_pool[str(node.pool)].append(node)
    for pool_name in sorted(by_pool):
        pool = snapshot.pool(pool_name)
        if pool is None:
            continue
        members = pool_nodes(pool_name, snapshot)
        size = len(members)
        counts: dict[str, int] = defaultdict(int)
        for n in members:
            if n.zone not in snapshot.failed_zones:
                counts[n.zone] += 1
        left = sorted(by_pool[pool_name], key=lambda n: (unneeded[n.name][0], n.name))
        while left and len(removals) < settings.max_removals_per_run:
            if size <= pool.min_size:
                for n in left:
                    notes[n.name] = f"unneeded but pool {pool_name} is at its min size {pool.min_size}"
                break
            top = max(counts.values())
            pick = next((n for n in left if counts[n.zone] == top), None)
            if pick is None:
                for n in left:
                    notes[n.name] = (
                        f"unneeded but removing it would unbalance pool {pool_name} "
                        f"(zone {n.zone} has {counts[n.zone]} nodes, another has {top})"
                    )
                break
            left.remove(pick)
            removals.append(
                Removal(
                    node=pick.name,
                    pool=pool_name,
                    zone=pick.zone,
                    instance_id=str(pick.instance_id),
                    utilisation=unneeded[pick.name][0],
                    unneeded_for=snapshot.now - since[pick.name],
                    pods=unneeded[pick.name][1],
                )
            )
            counts[pick.zone] -= 1
            size -= 1
        for n in left:
            notes.setdefault(n.name, f"unneeded; at most {settings.max_removals_per_run} removals per run")
    return ScaleDown(tuple(removals), since, unmanaged, notes)
