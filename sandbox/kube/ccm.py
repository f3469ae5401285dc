"""The cloud-controller-manager stand-in: LoadBalancer Services get an SLB in the simulated cloud.

Per Service: one SLB tagged ``yunfleet:cluster`` / ``yunfleet:role=service-lb``, a running TCP listener
per service port forwarding to its nodePort, the cluster's worker nodes as backends and the SLB
address in ``status.loadBalancer.ingress``. The backend set is stable: a node joins it when it
registers and leaves when its Node is removed, so a NotReady node stays attached and the SLB health
check reports it abnormal. The Alibaba Cloud CCM annotations for address type, vSwitch and spec
are honoured.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.errors import ApiError
from sandbox.kube.cluster import Cluster
from sandbox.kube.resources import NODES, SERVICES

ANNOTATION = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
RETRY_AFTER_S = 5.0  # after a failed SLB call, as the service controller backs off


def _key(service: dict[str, Any]) -> str:
    meta = service["metadata"]
    return f"{meta['namespace']}/{meta['name']}/{meta['uid']}"


def sync_load_balancers(world: Any, cluster: Cluster, now: float) -> None:
    services = {_key(s): s for s in cluster.store.items(SERVICES) if s["spec"].get("type") == "LoadBalancer"}
    for key, lb_id in list(cluster.load_balancers.items()):
        if key not in services:
            release(world, lb_id)
            cluster.load_balancers.pop(key, None)
            cluster.timers.pop(f"lb-retry/{key}", None)
    backends = _backends(world, cluster)
    for key, service in services.items():
        if now < cluster.timers.get(f"lb-retry/{key}", 0):
            continue
        try:
            _ensure(world, cluster, key, service, backends, now)
        except ApiError as error:
            cluster.timers[f"lb-retry/{key}"] = now + RETRY_AFTER_S
            cluster.record_event(
                service,
                "Warning",
                "SyncLoadBalancerFailed",
                f"Error syncing load balancer: {error.code}: {error.message}",
                "service-controller",
                now,
            )


def release(world: Any, lb_id: str) -> None:
    if lb_id in world.slb.load_balancers:
        try:
            world.slb.delete_load_balancer(lb_id)
        except ApiError:
            pass


def _backends(world: Any, cluster: Cluster) -> list[tuple[str, int]]:
    return [
        (n["metadata"]["name"], 100)
        for n in cluster.store.items(NODES)
        if EXCLUDE_LABEL not in (n["metadata"].get("labels") or {})
        and n["metadata"]["name"] in world.ecs.instances
    ]


def _ensure(
    world: Any,
    cluster: Cluster,
    key: str,
    service: dict[str, Any],
    backends: list[tuple[str, int]],
    now: float,
) -> None:
    slb = world.slb
    lb = slb.load_balancers.get(cluster.load_balancers.get(key, ""))
    meta = service["metadata"]
    annotations = meta.get("annotations") or {}
    if lb is None:
        cluster.record_event(
            service, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer", "service-controller", now
        )
        address_type = annotations.get(ANNOTATION + "address-type", "internet")
        vswitch = annotations.get(ANNOTATION + "vswitch-id")
        if address_type == "intranet" and not vswitch and backends:
            vswitch = world.ecs.instances[backends[0][0]].vswitch_id
        lb = slb.create_load_balancer(
            f"k8s-{cluster.name}-{meta['namespace']}-{meta['name']}"[:80],
            address_type,
            vswitch,
            {
                "yunfleet:cluster": cluster.name,
                "yunfleet:role": "service-lb",
                "kubernetes.do.not.delete": f"{meta['namespace']}/{meta['name']}",
            },
            spec=annotations.get(ANNOTATION + "spec", "slb.s1.small"),
        )
        cluster.load_balancers[key] = lb.load_balancer_id
        cluster.record_event(
            service, "Normal", "EnsuredLoadBalancer", "Ensured load balancer", "service-controller", now
        )
    ports = {
        int(p["port"]): int(p["nodePort"])
        for p in service["spec"].get("ports") or []
        if p.get("protocol", "TCP") == "TCP" and p.get("nodePort")
    }
    for port, listener in list(lb.listeners.items()):
        if ports.get(port) != listener.backend_port:
            slb.delete_listener(lb.load_balancer_id, port)
    for port, node_port in ports.items():
        if port not in lb.listeners:
            slb.create_tcp_listener(lb.load_balancer_id, port, node_port)
            slb.start_listener(lb.load_balancer_id, port)
    if sorted(lb.backends) != sorted(b for b, _ in backends):
        slb.set_backend_servers(lb.load_balancer_id, backends)
        cluster.record_event(
            service,
            "Normal",
            "UpdatedLoadBalancer",
            "Updated load balancer with new hosts",
            "service-controller",
            now,
        )
    ingress = [{"ip": lb.address, "ipMode": "VIP"}]
    status = service.setdefault("status", {})
    if (status.get("loadBalancer") or {}).get("ingress") != ingress:
        status["loadBalancer"] = {"ingress": ingress}
        cluster.store.touch(SERVICES, service)
