"""One probe round over the fleet's availability zones, through the public APIs only.

Read per ready cluster of the registry: its ECS instances (``DescribeInstances`` by the
``yunfleet:cluster`` tag), its load balancers (``DescribeLoadBalancers`` by tag, then
``DescribeLoadBalancerAttribute``, ``DescribeHealthStatus`` and each TCP listener's status), its Nodes
(one list call) and its API server's readiness (``/readyz``). Nothing connects to a simulated address:
every observation comes from an API answer. A read that fails leaves that signal without targets for
the cluster (``unknown``, never ``bad``) and is reported in :attr:`FleetReads.errors`, so an API that
misbehaves cannot fail a zone on its own.

:func:`probe_round` turns the reads into per-zone verdicts (:func:`include.zones.probes.evaluate_zones`),
advances the per-zone state machine stored in the registry (:func:`include.zones.machine.step_zones`)
and records the transitions; the ``zone_health`` task and the zone watcher in the triggerer both call it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from include.fleet.contract import ROLE_CONTROL_PLANE, TAG_ROLE
from include.zones.machine import FleetStep, step_zones
from include.zones.probes import (
    ApiServerObservation,
    BackendObservation,
    InstanceObservation,
    NodeObservation,
    ZoneProbe,
    evaluate_zones,
)
from include.zones.settings import ZoneHealthSettings
from include.zones.weights import Backend, LoadBalancer

log = logging.getLogger(__name__)

#: instance states read for the ECS signal (``include.zones.probes.instance_healthy`` judges them);
#: ``Stopping`` is left out: an instance on its way out is being released or stopped on purpose
PROBED_STATES = frozenset({"Running", "Stopped", "Pending", "Starting"})


@dataclass
class FleetReads:
    """What one probe round read: the zones of ready clusters, the observations, the load balancers
    (with backend weights and zones, for evacuation plans), and the reads that failed."""

    zones: set[str] = field(default_factory=set)
    clusters: list[str] = field(default_factory=list)
    instances: list[InstanceObservation] = field(default_factory=list)
    backends: list[BackendObservation] = field(default_factory=list)
    nodes: list[NodeObservation] = field(default_factory=list)
    apiservers: list[ApiServerObservation] = field(default_factory=list)
    load_balancers: list[LoadBalancer] = field(default_factory=list)
    #: ``{cluster: {node name: zone}}`` of every node read
    node_zones: dict[str, dict[str, str]] = field(default_factory=dict)
    #: ``{cluster: {node name: node pool}}`` of every worker read (label ``yunfleet.io/node-pool``)
    node_pools: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: the ECS and SLB reads among ``errors`` (a Kubernetes read fails with its cluster's API server)
    cloud_errors: list[str] = field(default_factory=list)


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


class FleetReader:
    """Reads the fleet for a probe round.

    :param registry: a ``FleetRegistry``.
    :param ecs: an ``EcsHook``; ``slb``: an ``SlbHook``.
    :param kube: ``cluster -> FleetKubernetesHook`` (hooks may be cached by the caller).
    :param clusters: restrict to these clusters (default: every ready cluster).
    """

    def __init__(
        self,
        registry: Any,
        ecs: Any,
        slb: Any,
        kube: Callable[[str], Any],
        clusters: Iterable[str] | None = None,
    ) -> None:
        self.registry = registry
        self.ecs = ecs
        self.slb = slb
        self.kube = kube
        self.only = set(clusters) if clusters is not None else None

    def read(self) -> FleetReads:
        reads = FleetReads()
        for cluster in self.registry.list_clusters():
            if cluster.state != "ready" or (self.only is not None and cluster.name not in self.only):
                continue
            reads.clusters.append(cluster.name)
            reads.zones.update(p.zone_id for p in cluster.node_pools)
            reads.zones.update(cluster.spec.get("zones") or ())
            zones_of = self._instances(cluster.name, reads)
            self._load_balancers(cluster.name, zones_of, reads)
            self._nodes(cluster.name, reads)
            self._api_server(cluster.name, zones_of, reads)
        return reads

    def _instances(self, cluster: str, reads: FleetReads) -> dict[str, tuple[str, str]]:
        """``{instance id: (zone, role)}`` of the cluster's live instances; the ECS observations."""
        try:
            found = self.ecs.list_cluster_instances(cluster, live_only=False)
        except Exception as exc:  # the probe goes on without this signal
            reads.errors.append(f"{cluster}: DescribeInstances failed ({_short(exc)})")
            reads.cloud_errors.append(reads.errors[-1])
            return {}
        zones: dict[str, tuple[str, str]] = {}
        for i in found:
            zones[i.instance_id] = (i.zone_id, i.tags.get(TAG_ROLE, ""))
            if i.status in PROBED_STATES:
                reads.instances.append(InstanceObservation(i.instance_id, i.zone_id, i.status))
        return zones

    def _load_balancers(self, cluster: str, zones_of: dict[str, tuple[str, str]], reads: FleetReads) -> None:
        try:
            found = self.slb.find_load_balancers(cluster=cluster)
        except Exception as exc:
            reads.errors.append(f"{cluster}: DescribeLoadBalancers failed ({_short(exc)})")
            reads.cloud_errors.append(reads.errors[-1])
            return
        for lb in found:
            role = lb.tags.get(TAG_ROLE, "")
            try:
                attr = self.slb.describe_load_balancer(lb.load_balancer_id)
                health = self.slb.backend_health(lb.load_balancer_id)
                running = {
                    port: self.slb.listener_status(lb.load_balancer_id, port) == "running"
                    for port in attr.listener_ports
                }
            except Exception as exc:
                reads.errors.append(f"{cluster}: {lb.load_balancer_id} not read ({_short(exc)})")
                reads.cloud_errors.append(reads.errors[-1])
                continue
            backends = []
            for server_id, weight in sorted(attr.backends.items()):
                zone = zones_of.get(server_id, ("", ""))[0]
                if not zone:
                    continue  # not an instance of this cluster that ECS answered for: not judged
                backends.append(Backend(server_id, weight, zone))
                if weight == 0:
                    continue  # no traffic by design (an evacuation): its health decides nothing
                reads.backends.append(
                    BackendObservation(
                        lb.load_balancer_id,
                        role,
                        server_id,
                        zone,
                        health.get(server_id, "unavailable"),  # type: ignore[arg-type]
                        listener_running=all(running.values()) if running else True,
                    )
                )
            reads.load_balancers.append(LoadBalancer(lb.load_balancer_id, role, tuple(backends), cluster))

    def _nodes(self, cluster: str, reads: FleetReads) -> None:
        try:
            nodes = self.kube(cluster).list_nodes()
        except Exception as exc:
            reads.errors.append(f"{cluster}: nodes not listed ({_short(exc)})")
            return
        zones = reads.node_zones.setdefault(cluster, {})
        pools = reads.node_pools.setdefault(cluster, {})
        for node in nodes:
            if node.node_pool:
                pools[node.name] = node.node_pool
            if node.zone:
                zones[node.name] = node.zone
                reads.nodes.append(NodeObservation(cluster, node.zone, node.name, node.ready))

    def _api_server(self, cluster: str, zones_of: dict[str, tuple[str, str]], reads: FleetReads) -> None:
        cp_zones = sorted({z for z, role in zones_of.values() if role == ROLE_CONTROL_PLANE})
        if not cp_zones:
            return
        try:
            ready = bool(self.kube(cluster).api_server_ready())
        except Exception as exc:  # unreadable, not unready
            reads.errors.append(f"{cluster}: API server readiness not read ({_short(exc)})")
            return
        for zone in cp_zones:
            reads.apiservers.append(ApiServerObservation(cluster, zone, ready))


@dataclass(frozen=True)
class ProbeRound:
    """The outcome of one round: per-zone probes, the fleet step (states, transitions, alert)."""

    probes: dict[str, ZoneProbe]
    step: FleetStep
    errors: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return {
            "zones": {z: {"verdict": p.verdict, "reason": p.reason} for z, p in self.probes.items()},
            "states": {z: s.state for z, s in self.step.states.items()},
            "transitions": [t.to_json() for t in self.step.transitions],
            "alert": self.step.alert,
            "errors": list(self.errors),
        }


def probe_round(registry: Any, reads: FleetReads, settings: ZoneHealthSettings, now: datetime) -> ProbeRound:
    """Judge every zone, advance and store the machines, record transitions; returns the round."""
    probes = evaluate_zones(
        sorted(reads.zones),
        at=now,
        instances=reads.instances,
        backends=reads.backends,
        nodes=reads.nodes,
        apiservers=reads.apiservers,
        settings=settings,
    )
    step = step_zones(registry.zone_machines(), probes, settings=settings)
    if step.alert:
        log.warning("zone health: %s", step.alert)
    for zone, state in step.states.items():
        if zone in probes:
            registry.put_zone_machine(zone, state, probe=probes[zone].to_json())
    for transition in step.transitions:
        registry.record_transition(transition)
        log.warning(
            "zone %s: %s -> %s (%s)",
            transition.zone_id,
            transition.from_state,
            transition.to_state,
            transition.reason,
        )
    return ProbeRound(probes, step, tuple(reads.errors))


def drifted_zones(reads: FleetReads, evacuated: Iterable[str]) -> set[str]:
    """Evacuated zones with a backend taking traffic again on a load balancer that also serves from
    another zone (its controller may have reset the weights)."""
    found = set()
    for zone in evacuated:
        for lb in reads.load_balancers:
            outside = any(b.zone != zone and b.weight > 0 for b in lb.backends)
            if outside and any(b.zone == zone and b.weight > 0 for b in lb.backends):
                found.add(zone)
    return found


def settings_from_extra(extra: dict[str, Any] | None) -> ZoneHealthSettings:
    """Zone health settings from the ``alibaba_cloud`` connection extra's ``zone_health`` object
    (defaults for what it leaves out; ``ValueError`` naming the bad key)."""
    raw = (extra or {}).get("zone_health") or {}
    return ZoneHealthSettings.from_json(raw)


class FleetProber:
    """Hooks and settings for repeated probe rounds (the zone watcher's; a task makes one round).

    The hooks read their connections once (:meth:`aprepare` on the triggerer's event loop, or
    synchronously in a task); every read is tried once with ``request_timeout`` (the next round is
    the retry). Kubernetes hooks are kept per cluster between rounds.
    """

    def __init__(
        self,
        *,
        alibaba_cloud_conn_id: str = "alibaba_cloud_default",
        yunfleet_db_conn_id: str = "yunfleet_db",
        request_timeout: float = 5.0,
        settings: ZoneHealthSettings | None = None,
    ) -> None:
        from operators.hooks.ecs import EcsHook
        from operators.hooks.registry import YunfleetRegistryHook
        from operators.hooks.slb import SlbHook
        from operators.utils.retry import RetryPolicy

        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id
        self.request_timeout = request_timeout
        self.policy = RetryPolicy(max_attempts=1, max_total_seconds=request_timeout)
        timeout_ms = int(request_timeout * 1000)
        common: dict[str, Any] = {
            "retry_policy": self.policy,
            "connect_timeout_ms": min(timeout_ms, 3000),
            "read_timeout_ms": timeout_ms,
            "yunfleet_db_conn_id": yunfleet_db_conn_id,
        }
        self.registry_hook = YunfleetRegistryHook(yunfleet_db_conn_id)
        self.ecs = EcsHook(alibaba_cloud_conn_id, **common)
        self.slb = SlbHook(alibaba_cloud_conn_id, **common)
        self.kube_hooks: dict[str, Any] = {}
        self.settings = settings
        self.extra: dict[str, Any] | None = None

    async def aprepare(self) -> None:
        """Read the connections on the event loop (triggers cannot read them from a thread)."""
        await self.registry_hook.aprefetch_connections()
        await self.ecs.aprefetch_connections()
        await self.slb.aprefetch_connections()
        conn = await self.ecs.aget_connection(self.alibaba_cloud_conn_id)
        self.extra = dict(conn.extra_dejson or {})

    async def aprepare_clusters(self, clusters: Iterable[str]) -> None:
        """Kubernetes hooks for clusters not seen yet, their connections read on the event loop."""
        for cluster in clusters:
            if cluster not in self.kube_hooks:
                hook = self.new_kube(cluster)
                await hook.aprefetch_connections()
                self.kube_hooks[cluster] = hook

    def new_kube(self, cluster: str) -> Any:
        from operators.hooks.kubernetes import FleetKubernetesHook

        return FleetKubernetesHook(
            cluster,
            alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
            request_timeout=(min(3.0, self.request_timeout), self.request_timeout),
            retry_policy=self.policy,
        )

    def kube(self, cluster: str) -> Any:
        if cluster not in self.kube_hooks:
            self.kube_hooks[cluster] = self.new_kube(cluster)
        return self.kube_hooks[cluster]

    @property
    def registry(self) -> Any:
        return self.registry_hook.registry

    def ready_clusters(self) -> list[str]:
        return [c.name for c in self.registry.list_clusters() if c.state == "ready"]

    def current_settings(self) -> ZoneHealthSettings:
        if self.settings is None:
            extra = self.extra
            if extra is None:
                extra = dict(self.ecs.get_connection(self.alibaba_cloud_conn_id).extra_dejson or {})
            self.settings = settings_from_extra(extra)
        return self.settings

    def round(self, now: datetime) -> ProbeRound:
        """One probe round: read the fleet, judge, advance and store the machines."""
        reads = FleetReader(self.registry, self.ecs, self.slb, self.kube).read()
        return probe_round(self.registry, reads, self.current_settings(), now)

    def round_payload(self, now: datetime) -> dict[str, Any] | None:
        """One round as an event payload, or None when there is nothing to say.

        ``{"transitions": [Transition JSON of those that start an evacuation or a restore],
        "expired": [zone ids], "drifted": [zone ids],
        "alert": str | None, "summary": str, "keys": [refire keys]}``: transitions always fire; expired
        evacuations, evacuated zones whose backends serve again (``drifted``) and the alert carry keys
        (``expired:<zone>``, ``drift:<zone>``, ``alert``) the watcher uses to fire them once in a while.
        """
        reads = FleetReader(self.registry, self.ecs, self.slb, self.kube).read()
        done = probe_round(self.registry, reads, self.current_settings(), now)
        active = self.registry.evacuations(active_only=True)
        expired = sorted(e.zone_id for e in active if e.expired(now))
        drifted = sorted(drifted_zones(reads, [e.zone_id for e in active if e.step == "evacuated"]))
        # only what moves traffic fires (the timeline keeps every change): an event starts zone_failover
        # and register_services, and a run for a blip would only hold the next one
        transitions = [t.to_json() for t in done.step.transitions if t.starts_evacuation or t.starts_restore]
        keys = [f"expired:{z}" for z in expired] + [f"drift:{z}" for z in drifted]
        keys += ["alert"] if done.step.alert else []
        if not transitions and not keys:
            return None
        moves = ", ".join(f"{t['zone_id']} {t['from_state']}->{t['to_state']}" for t in transitions)
        summary = "; ".join(
            part
            for part in (
                moves,
                f"expired evacuations: {', '.join(expired)}" if expired else "",
                done.step.alert,
            )
            if part
        )
        return {
            "transitions": transitions,
            "expired": expired,
            "drifted": drifted,
            "alert": done.step.alert,
            "summary": summary,
            "keys": keys,
        }
