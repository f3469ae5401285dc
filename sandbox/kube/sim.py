"""The simulation of every cluster: a world section (saved, restored, reset with the world) and a
ticker that runs the control planes against the ECS world."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from sandbox.kube import ccm, controllers, deployments, lifecycle, scheduler
from sandbox.kube.cluster import Cluster, token_digest
from sandbox.kube.lifecycle import BootstrapCache, instance_healthy, node_ready
from sandbox.kube.resources import NODES
from sandbox.kube.timings import KubeTimings, kube_timings

log = logging.getLogger("sandbox.kube")
SECTION = "kube"


class KubeSim:
    def __init__(self, world: Any, timings: KubeTimings | None = None):
        self.world = world
        self.timings = timings or kube_timings(getattr(world.timings, "name", "demo"))
        self.clusters: dict[str, Cluster] = {}
        self.bootstraps = BootstrapCache()
        world.register_section(SECTION, self)
        world.add_ticker(self.tick)
        world.slb.add_health_probe(self.probe)

    # -- world section ------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {"clusters": {name: c.to_state() for name, c in self.clusters.items()}}

    def load_state(self, state: dict[str, Any]) -> None:
        self.clusters = {name: Cluster.from_state(raw) for name, raw in state.get("clusters", {}).items()}

    def reset(self) -> None:
        self.clusters = {}
        self.bootstraps = BootstrapCache()

    # -- auth ---------------------------------------------------------------------------------

    @staticmethod
    def is_admin(cluster: Cluster, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token_digest(token), cluster.admin_token)

    @staticmethod
    def is_joiner(cluster: Cluster, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token_digest(token), cluster.join_token)

    # -- the control loop ---------------------------------------------------------------------

    def tick(self, now: float) -> None:
        groups = self.bootstraps.members(self.world.ecs.instances)
        for name in list(self.clusters):
            if name not in groups:
                log.info("cluster %s has no instances left; forgetting it", name)
                del self.clusters[name]
        for name, members in groups.items():
            cluster = self.clusters.get(name)
            if cluster is None:
                planes = [
                    (i, b)
                    for i, b in members
                    if b.role == "control-plane" and instance_healthy(self.world, i)
                ]
                if not planes:
                    continue
                boot = planes[0][1]
                cluster = Cluster.bootstrap(
                    name,
                    token_digest(boot.admin_token or ""),
                    token_digest(boot.join_token),
                    boot.kubernetes_version,
                    now,
                )
                self.clusters[name] = cluster
            lifecycle.update_api(self.world, cluster, members, self.timings, now)
            if not cluster.api_up:
                continue
            self.reconcile(cluster, members, now)

    def reconcile(self, cluster: Cluster, members: list[Any], now: float) -> None:
        lifecycle.sync_nodes(self.world, cluster, members, self.timings, now)
        controllers.collect_garbage(cluster, now)
        controllers.prune_timers(cluster)
        deployments.run_deployments(cluster, now)
        scheduler.schedule(cluster, self.timings, now)
        controllers.run_kubelets(cluster, now)
        controllers.run_endpoints(cluster, now)
        controllers.run_disruption(cluster, now)
        ccm.sync_load_balancers(self.world, cluster, now)

    # -- SLB health checks ----------------------------------------------------------------------

    def probe(self, lb: Any, port: int, instance: Any) -> bool | None:
        """Whether ``instance`` serves ``port`` of ``lb``: a control plane serves the API-server SLB once its
        cluster's API is up; a node serves a Service SLB while it is Ready. No opinion otherwise."""
        boot = self.bootstraps.lookup(instance.instance_id)
        role = lb.tags.get("yunfleet:role")
        if role == "apiserver-lb":
            if boot is None or boot.role != "control-plane":
                return False
            cluster = self.clusters.get(boot.cluster)
            return cluster is not None and cluster.api_up
        if role == "service-lb":
            cluster = self.clusters.get(lb.tags.get("yunfleet:cluster", ""))
            if cluster is None and boot is not None:
                cluster = self.clusters.get(boot.cluster)
            if cluster is None:
                return None
            node = cluster.store.peek(NODES, "", instance.instance_id)
            return node is not None and node_ready(node)
        return None
