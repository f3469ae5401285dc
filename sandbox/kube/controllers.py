"""Controllers of the simulated control plane besides deployments: the kubelet's pod status,
endpoints, disruption budgets and garbage collection."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from sandbox.kube.cluster import Cluster
from sandbox.kube.disruption import budget_status, pod_ready, pod_terminated
from sandbox.kube.lifecycle import node_ready
from sandbox.kube.resources import DEPLOYMENTS, ENDPOINTS, NODES, PDBS, PODS, SERVICES
from sandbox.kube.selectors import selector_object_matches
from sandbox.kube.store import rfc3339


def run_kubelets(cluster: Cluster, now: float) -> None:
    """Bound pods start after the start delay on Ready nodes; pods on Ready nodes report Ready."""
    nodes = {n["metadata"]["name"]: n for n in cluster.store.items(NODES)}
    taken = {p["status"].get("podIP") for p in cluster.store.items(PODS) if p["status"].get("podIP")}
    for pod in cluster.store.items(PODS):
        node_name = pod["spec"].get("nodeName")
        node = nodes.get(node_name) if node_name else None
        if node is None or not node_ready(node) or pod_terminated(pod):
            continue
        status = pod["status"]
        start_key = f"start/{pod['metadata']['uid']}"
        if status.get("phase") == "Pending":
            if now < cluster.timers.get(start_key, 0):
                continue
            cluster.timers.pop(start_key, None)
            _start(pod, node, taken, now)
            taken.add(status["podIP"])
            cluster.store.touch(PODS, pod)
            for container in pod["spec"]["containers"]:
                cluster.record_event(
                    pod, "Normal", "Started", f"Started container {container['name']}", "kubelet", now
                )
        elif status.get("phase") == "Running" and not pod_ready(pod):
            _set_pod_ready(pod, now)
            cluster.store.touch(PODS, pod)


def _pod_ip(pod: dict[str, Any], node: dict[str, Any], taken: set[str]) -> str:
    network = ipaddress.ip_network(node["spec"]["podCIDR"])
    seed = int(hashlib.sha256(pod["metadata"]["uid"].encode()).hexdigest(), 16)
    hosts = network.num_addresses - 3
    for step in range(hosts):
        ip = str(network.network_address + 2 + (seed + step) % hosts)
        if ip not in taken:
            return ip
    return str(network.network_address + 2)


def _start(pod: dict[str, Any], node: dict[str, Any], taken: set[str], now: float) -> None:
    status = pod["status"]
    addresses = {a["type"]: a["address"] for a in node["status"].get("addresses") or []}
    status.update(
        {
            "phase": "Running",
            "hostIP": addresses.get("InternalIP"),
            "hostIPs": [{"ip": addresses.get("InternalIP")}],
            "startTime": rfc3339(now),
        }
    )
    status["podIP"] = _pod_ip(pod, node, taken)
    status["podIPs"] = [{"ip": status["podIP"]}]
    status["containerStatuses"] = [
        {
            "name": c["name"],
            "image": c["image"],
            "imageID": f"{c['image']}@sha256:{'0' * 64}",
            "containerID": "containerd://"
            + hashlib.sha256((pod["metadata"]["uid"] + c["name"]).encode()).hexdigest(),
            "ready": True,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": rfc3339(now)}},
            "lastState": {},
        }
        for c in pod["spec"]["containers"]
    ]
    _set_pod_ready(pod, now)


def _set_pod_ready(pod: dict[str, Any], now: float) -> None:
    stamp = rfc3339(now)
    status = pod["status"]
    keep = [c for c in status.get("conditions") or [] if c["type"] == "PodScheduled"]
    status["conditions"] = [
        {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
        for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
    ]
    status["conditions"] += keep
    for cstatus in status.get("containerStatuses") or []:
        cstatus["ready"] = True


def run_endpoints(cluster: Cluster, now: float) -> None:
    """Each Service with a selector gets Endpoints listing its Ready (and not-ready) pods; the
    ``kubernetes`` Service lists the control planes' API servers."""
    _api_endpoints(cluster, now)
    for service in cluster.store.items(SERVICES):
        selector = service["spec"].get("selector")
        meta = service["metadata"]
        if not selector:
            continue
        pods = [
            p
            for p in cluster.store.items(PODS, meta["namespace"])
            if selector_object_matches({"matchLabels": selector}, p["metadata"].get("labels") or {})
            and p["status"].get("podIP")
            and not pod_terminated(p)
        ]
        ready: list[dict[str, Any]] = []
        unready: list[dict[str, Any]] = []
        for pod in sorted(pods, key=lambda p: p["status"]["podIP"]):
            address = {
                "ip": pod["status"]["podIP"],
                "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {
                    "kind": "Pod",
                    "namespace": pod["metadata"]["namespace"],
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"]["uid"],
                },
            }
            (ready if pod_ready(pod) else unready).append(address)
        ports = [
            {"name": p.get("name"), "port": _target_port(p, pods), "protocol": p.get("protocol", "TCP")}
            for p in service["spec"].get("ports") or []
        ]
        ports = [{k: v for k, v in p.items() if v is not None} for p in ports]
        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = ready
        if unready:
            subset["notReadyAddresses"] = unready
        subsets = [{**subset, "ports": ports}] if subset else []
        existing = cluster.store.peek(ENDPOINTS, meta["namespace"], meta["name"])
        if existing is None:
            cluster.store.create(
                ENDPOINTS,
                {
                    "metadata": {
                        "name": meta["name"],
                        "namespace": meta["namespace"],
                        "labels": dict(meta.get("labels") or {}),
                    },
                    "subsets": subsets,
                },
                now,
            )
        elif existing.get("subsets") != subsets:
            existing["subsets"] = subsets
            cluster.store.touch(ENDPOINTS, existing)


def _api_endpoints(cluster: Cluster, now: float) -> None:
    endpoints = cluster.store.peek(ENDPOINTS, "default", "kubernetes")
    if endpoints is None:
        return
    addresses = sorted(
        a["address"]
        for n in cluster.store.items(NODES)
        if "node-role.kubernetes.io/control-plane" in (n["metadata"].get("labels") or {}) and node_ready(n)
        for a in n["status"].get("addresses") or []
        if a["type"] == "InternalIP"
    )
    subsets = (
        [
            {
                "addresses": [{"ip": ip} for ip in addresses],
                "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
            }
        ]
        if addresses
        else []
    )
    if endpoints.get("subsets") != subsets:
        endpoints["subsets"] = subsets
        cluster.store.touch(ENDPOINTS, endpoints)


def _target_port(port: dict[str, Any], pods: list[dict[str, Any]]) -> int:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for pod in pods:
        for container in pod["spec"].get("containers") or []:
            for cport in container.get("ports") or []:
                if cport.get("name") == target:
                    return int(cport["containerPort"])
    return int(port.get("port", 0))


def run_disruption(cluster: Cluster, now: float) -> None:
    for pdb in cluster.store.items(PDBS):
        status = budget_status(cluster, pdb)
        old = pdb.get("status") or {}
        previous = {c["type"]: c for c in old.get("conditions") or []}
        for cond in status["conditions"]:
            prev = previous.get(cond["type"])
            cond["lastTransitionTime"] = (
                prev["lastTransitionTime"] if prev and prev["status"] == cond["status"] else rfc3339(now)
            )
        if status != old:
            pdb["status"] = status
            cluster.store.touch(PDBS, pdb)


def collect_garbage(cluster: Cluster, now: float) -> None:
    """Delete pods whose controller or node no longer exists."""
    live = {d["metadata"]["uid"] for d in cluster.store.items(DEPLOYMENTS)}
    nodes = {n["metadata"]["name"] for n in cluster.store.items(NODES)}
    for pod in list(cluster.store.items(PODS)):
        refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")]
        orphan = refs and refs[0].get("kind") == "Deployment" and refs[0]["uid"] not in live
        node_gone = pod["spec"].get("nodeName") and pod["spec"]["nodeName"] not in nodes
        if orphan or node_gone:
            cluster.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            cluster.timers.pop(f"start/{pod['metadata']['uid']}", None)


def prune_timers(cluster: Cluster) -> None:
    """Forget start timers of pods that no longer exist."""
    uids = {p["metadata"]["uid"] for p in cluster.store.items(PODS)}
    for key in [k for k in cluster.timers if k.startswith("start/") and k[len("start/") :] not in uids]:
        del cluster.timers[key]
