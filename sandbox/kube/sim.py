"""The simulation of every cluster: a world section (saved, restored, reset with the world) and a
ticker that runs the control planes against the ECS world."""

from __future__ import annotations

import logging
from typing import Any

from sandbox.kube import ccm, controllers, deployments, lifecycle, scheduler
from sandbox.kube.cluster import Cluster
from sandbox.kube.delivery import Delivered, fetch
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
        # instance id -> what it read from its delivery secret at boot (digests only)
        self.delivered: dict[str, Delivered] = {}
        # called with each cluster CA the API port must accept client certificates from
        self.on_cluster_ca: list[Any] = []
        world.register_section(SECTION, self)
        world.add_ticker(self.tick)
        world.slb.add_health_probe(self.probe)

    # -- world section ------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "clusters": {name: c.to_state() for name, c in self.clusters.items()},
            "delivered": {iid: d.to_state() for iid, d in self.delivered.items()},
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.clusters = {name: Cluster.from_state(raw) for name, raw in state.get("clusters", {}).items()}
        self.delivered = {iid: Delivered.from_state(raw) for iid, raw in state.get("delivered", {}).items()}
        for cluster in self.clusters.values():
            self._trust(cluster)

    def reset(self) -> None:
        self.clusters = {}
        self.bootstraps = BootstrapCache()
        self.delivered = {}

    def _trust(self, cluster: Cluster) -> None:
        for listener in self.on_cluster_ca:
            if cluster.ca_cert_pem:
                listener(cluster.ca_cert_pem)

    # -- boot ---------------------------------------------------------------------------------

    def _boot(self, members: list[Any], now: float) -> None:
        """Each Running instance reads its delivery secret once (the fetch step of its cloud-init)."""
        for instance, boot in members:
            if instance.instance_id not in self.delivered and instance.status == "Running":
                self.delivered[instance.instance_id] = fetch(self.world, instance, boot, now)
                got = self.delivered[instance.instance_id]
                if not got.ok:
                    log.warning("instance %s failed its bootstrap: %s", instance.instance_id, got.reason)

    # -- the control loop ---------------------------------------------------------------------

    def tick(self, now: float) -> None:
        groups = self.bootstraps.members(self.world.ecs.instances)
        for iid in [i for i in self.delivered if i not in self.world.ecs.instances]:
            del self.delivered[iid]
        for members in groups.values():
            self._boot(members, now)
        for name in list(self.clusters):
            if name not in groups:
                log.info("cluster %s has no instances left; forgetting it", name)
                del self.clusters[name]
        for name, members in groups.items():
            cluster = self.clusters.get(name)
            if cluster is None:
                initialisers = [
                    (i, b, self.delivered[i.instance_id])
                    for i, b in members
                    if i.instance_id in self.delivered
                    and self.delivered[i.instance_id].ok
                    and self.delivered[i.instance_id].init
                    and instance_healthy(self.world, i)
                ]
                if not initialisers:
                    continue
                _, boot, got = initialisers[0]
                cluster = Cluster.bootstrap(
                    name,
                    ca_cert_pem=got.ca_cert_pem or "",
                    init_token=got.token_digest or "",
                    init_token_expires_at=got.token_expires_at,
                    certificate_key=got.certificate_key_digest or "",
                    version=boot.kubernetes_version,
                    now=now,
                )
                self.clusters[name] = cluster
                self._trust(cluster)
            lifecycle.update_api(self.world, cluster, members, self.timings, now)
            if not cluster.api_up:
                continue
            self.reconcile(cluster, members, now)

    def reconcile(self, cluster: Cluster, members: list[Any], now: float) -> None:
        lifecycle.sync_nodes(self.world, cluster, members, self.timings, now, self.delivered)
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
