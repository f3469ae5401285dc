"""The load model and ``metrics.k8s.io``: workload CPU demand shared by a deployment's Ready pods.

The control API sets a deployment's total demand in millicores; each Ready pod of it uses an equal
share (capped by its CPU limit). Pods without demand idle at a millicore. Nodes report the sum of
their pods plus a fixed system overhead, capped at capacity.
"""

from __future__ import annotations

from typing import Any

from kubernetes.utils import parse_quantity

from sandbox.kube.cluster import Cluster
from sandbox.kube.deployments import owned_pods
from sandbox.kube.disruption import pod_ready
from sandbox.kube.lifecycle import node_ready
from sandbox.kube.resources import DEPLOYMENTS, NODES, PODS
from sandbox.kube.store import rfc3339

IDLE_MILLICORES = 1
SYSTEM_MILLICORES = 80
SYSTEM_MEMORY = 350 * 1024 * 1024
DEFAULT_POD_MEMORY = 24 * 1024 * 1024
WINDOW = "15s"


def demand_key(namespace: str, deployment: str) -> str:
    return f"{namespace}/{deployment}"


def _shares(cluster: Cluster) -> dict[str, float]:
    """Pod uid -> millicores of demand it carries."""
    shares: dict[str, float] = {}
    for key, millicores in cluster.demand.items():
        namespace, name = key.split("/", 1)
        deployment = cluster.store.peek(DEPLOYMENTS, namespace, name)
        if deployment is None:
            continue
        ready = [p for p in owned_pods(cluster, deployment) if pod_ready(p)]
        for pod in ready:
            shares[pod["metadata"]["uid"]] = millicores / len(ready)
    return shares


def _container_usage(pod: dict[str, Any], share: float | None) -> list[dict[str, Any]]:
    containers = pod["spec"].get("containers") or []
    per_container = (share if share is not None else IDLE_MILLICORES) / max(len(containers), 1)
    usage = []
    for container in containers:
        resources = container.get("resources") or {}
        cpu = per_container
        limit = (resources.get("limits") or {}).get("cpu")
        if limit is not None:
            cpu = min(cpu, float(parse_quantity(limit)) * 1000)
        memory_request = (resources.get("requests") or {}).get("memory")
        memory = int(parse_quantity(memory_request) * 6 / 10) if memory_request else DEFAULT_POD_MEMORY
        usage.append(
            {
                "name": container["name"],
                "usage": {"cpu": f"{int(cpu * 1_000_000)}n", "memory": f"{memory // 1024}Ki"},
            }
        )
    return usage


def _running_pods(cluster: Cluster) -> list[dict[str, Any]]:
    ready_nodes = {n["metadata"]["name"] for n in cluster.store.items(NODES) if node_ready(n)}
    return [
        p
        for p in cluster.store.items(PODS)
        if p["status"].get("phase") == "Running" and p["spec"].get("nodeName") in ready_nodes
    ]


def pod_metrics(cluster: Cluster, namespace: str | None, now: float) -> list[dict[str, Any]]:
    shares = _shares(cluster)
    items = []
    for pod in _running_pods(cluster):
        meta = pod["metadata"]
        if namespace is not None and meta["namespace"] != namespace:
            continue
        items.append(
            {
                "kind": "PodMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "creationTimestamp": rfc3339(now),
                    "labels": dict(meta.get("labels") or {}),
                },
                "timestamp": rfc3339(now),
                "window": WINDOW,
                "containers": _container_usage(pod, shares.get(meta["uid"])),
            }
        )
    return items


def node_metrics(cluster: Cluster, now: float) -> list[dict[str, Any]]:
    shares = _shares(cluster)
    totals: dict[str, list[float]] = {}
    for pod in _running_pods(cluster):
        entry = totals.setdefault(pod["spec"]["nodeName"], [0.0, 0.0])
        for container in _container_usage(pod, shares.get(pod["metadata"]["uid"])):
            entry[0] += float(parse_quantity(container["usage"]["cpu"])) * 1000
            entry[1] += float(parse_quantity(container["usage"]["memory"]))
    items = []
    for node in cluster.store.items(NODES):
        if not node_ready(node):
            continue
        name = node["metadata"]["name"]
        capacity = node["status"].get("capacity") or {}
        cpu_cap = float(parse_quantity(capacity.get("cpu", "0"))) * 1000
        mem_cap = float(parse_quantity(capacity.get("memory", "0")))
        cpu, memory = totals.get(name, [0.0, 0.0])
        cpu = min(cpu + SYSTEM_MILLICORES, cpu_cap)
        memory = min(memory + SYSTEM_MEMORY, mem_cap)
        items.append(
            {
                "kind": "NodeMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {
                    "name": name,
                    "creationTimestamp": rfc3339(now),
                    "labels": dict(node["metadata"].get("labels") or {}),
                },
                "timestamp": rfc3339(now),
                "window": WINDOW,
                "usage": {"cpu": f"{int(cpu * 1_000_000)}n", "memory": f"{int(memory) // 1024}Ki"},
            }
        )
    return items
