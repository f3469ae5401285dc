"""The capacity plan of one cluster: the pod tier, then the node tier's scale-up with the zone tier's
spread, then the node tier's scale-down.

A pure function of the snapshot and the settings; a converged cluster yields zero actions. One object
that cannot be planned (a bad annotation, a pod no pool can hold, an unmanaged node) is reported in the
plan's ``errors`` / ``notes`` / ``unmanaged_nodes`` and never stops the rest.
"""

from __future__ import annotations

from collections import defaultdict

from include.capacity.binpack import NewNode, ScaleUp, pack, requested_by_node
from include.capacity.hpa import recommend
from include.capacity.model import (
    ADD_NODES,
    REMOVE_NODE,
    SCALE_DEPLOYMENT,
    Action,
    CapacityPlan,
    History,
    Offering,
    PodView,
    Snapshot,
    deployment_of,
)
from include.capacity.scaledown import plan_scale_down
from include.capacity.settings import DEFAULT_SETTINGS, CapacitySettings
from include.capacity.zones import assign_zones, fallback_offerings, zone_counts


def _pod_tier(
    snapshot: Snapshot, settings: CapacitySettings
) -> tuple[list[Action], list[PodView], History, dict[str, str], dict[str, str]]:
    actions: list[Action] = []
    synthetic: list[PodView] = []
    history: History = {}
    errors: dict[str, str] = {}
    notes: dict[str, str] = {}
    # pods by (namespace, Deployment name): the rule of DeploymentView.owns, indexed once
    by_owner: dict[tuple[str, str], list[PodView]] = defaultdict(list)
    for pod in snapshot.pods:
        owner = deployment_of(pod)
        if owner is not None:
            by_owner[(pod.namespace, owner)].append(pod)
    for d in snapshot.deployments:
        if d.error:
            errors[d.key] = d.error
            continue
        if not d.autoscale:
            continue
        pods = by_owner.get((d.namespace, d.name), [])
        rec = recommend(d, pods, snapshot.now, snapshot.history.get(d.key, ()), settings)
        if rec.history:
            history[d.key] = rec.history
        if not rec.changed:
            if rec.raw is None:
                notes[d.key] = rec.reason
            continue
        actions.append(
            Action(SCALE_DEPLOYMENT, d.key, rec.reason, replicas=rec.replicas, previous=rec.previous)
        )
        synthetic.extend(d.template_pod(i) for i in range(rec.replicas - rec.previous))
    return actions, synthetic, history, errors, notes


def _node_actions(snapshot: Snapshot, up: ScaleUp) -> tuple[list[Action], dict[str, str]]:
    notes: dict[str, str] = {}
    by_pool: dict[str, list[NewNode]] = defaultdict(list)
    for node in up.new_nodes:
        by_pool[node.pool].append(node)
    actions: list[Action] = []
    for pool in snapshot.pools:
        new = by_pool.get(pool.name)
        if not new:
            continue
        counts = {z: n for z, n in zone_counts(pool, snapshot).items() if z not in snapshot.failed_zones}
        zones = assign_zones([n.zones for n in new], counts, pool.zones)
        grouped: dict[tuple[str, str], list[NewNode]] = defaultdict(list)
        for node, zone in zip(new, zones, strict=True):
            if zone is None:
                notes[pool.name] = f"pool {pool.name}: a new node had no zone left"
                continue
            grouped[(zone, node.instance_type)].append(node)
        planned: dict[str, int] = defaultdict(int)
        for (zone, _), nodes in grouped.items():
            planned[zone] += len(nodes)
        after = dict(counts)
        for zone, n in planned.items():
            after[zone] = after.get(zone, 0) + n
        spread = ", ".join(f"{z}={after.get(z, 0)}" for z in pool.zones if z not in snapshot.failed_zones)
        for (zone, instance_type), nodes in sorted(
            grouped.items(), key=lambda item: (pool.zones.index(item[0][0]), item[0][1])
        ):
            pods = tuple(p for n in nodes for p in n.pods)
            allowed: frozenset[Offering] | None = None
            for node in nodes:
                allowed = node.allowed if allowed is None else allowed & node.allowed
            pinned = all(len(n.zones) == 1 for n in nodes) and any(
                len({o.zone for o in n.allowed}) == 1 for n in nodes
            )
            for_min = sum(1 for n in nodes if n.cause == "min_size")
            parts = []
            if pods:
                parts.append(
                    f"{len(pods)} pending pod(s) fit no existing node "
                    f"(first-fit-decreasing on {instance_type})"
                )
            if for_min:
                parts.append(f"{for_min} node(s) to reach min_size {pool.min_size}")
            parts.append(f"zones after: {spread}" + (" (pods pinned to this zone)" if pinned else ""))
            actions.append(
                Action(
                    ADD_NODES,
                    pool.name,
                    "; ".join(parts),
                    pool=pool.name,
                    zone=zone,
                    instance_type=instance_type,
                    count=len(nodes),
                    pods=pods,
                    fallbacks=fallback_offerings(
                        pool, zone, instance_type, snapshot, allowed=allowed, planned=planned
                    ),
                )
            )
    return actions, notes


def plan_capacity(snapshot: Snapshot, settings: CapacitySettings = DEFAULT_SETTINGS) -> CapacityPlan:
    """The plan for ``snapshot``: scale_deployment, add_nodes and remove_node actions, each with its reason;
    the history and unneeded timers to store; notes and errors per object."""
    actions, synthetic, history, errors, notes = _pod_tier(snapshot, settings)

    pending = [
        p
        for p in snapshot.pods
        if p.node is None and p.unschedulable and not p.terminal and not p.daemonset and not p.mirror
    ]
    used = requested_by_node(snapshot)
    up = pack(
        [*pending, *synthetic], snapshot, settings, synthetic=frozenset(p.key for p in synthetic), used=used
    )
    node_actions, more = _node_actions(snapshot, up)
    actions.extend(node_actions)
    notes.update(up.notes)
    notes.update(more)
    for key, why in up.unplaced.items():
        notes[key] = f"no node planned: {why}"

    down = plan_scale_down(
        snapshot,
        settings,
        paused="scale-down waits: this run adds nodes" if node_actions else None,
        used=used,
    )
    notes.update(down.notes)
    for r in down.removals:
        actions.append(
            Action(
                REMOVE_NODE,
                r.node,
                f"utilisation {r.utilisation:.2f} < {settings.utilization_threshold:g} for "
                f"{r.unneeded_for:g} s and its {len(r.pods)} pod(s) fit on other nodes; "
                f"zone {r.zone} has the most nodes of pool {r.pool}",
                pool=r.pool,
                zone=r.zone,
                pods=r.pods,
                instance_id=r.instance_id,
            )
        )
    return CapacityPlan(
        cluster=snapshot.cluster,
        actions=tuple(actions),
        unmanaged_nodes=down.unmanaged,
        history=history,
        unneeded_since=down.unneeded_since,
        notes=notes,
        errors=errors,
    )
