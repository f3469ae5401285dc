"""Controllers of the simulated control plane: the kubelet's pod status, deployments, endpoints,
disruption budgets and garbage collection of orphaned pods."""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import math
from typing import Any

from sandbox.kube.cluster import Cluster
from sandbox.kube.disruption import budget_status, pod_ready, pod_terminated
from sandbox.kube.lifecycle import node_ready
from sandbox.kube.resources import DEPLOYMENTS, ENDPOINTS, NODES, PDBS, PODS, SERVICES
from sandbox.kube.selectors import selector_object_matches
from sandbox.kube.store import rfc3339
from sandbox.kube.validation import prepare

_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


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


def template_hash(template: dict[str, Any]) -> str:
    digest = int(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest(), 16)
    chars = []
    for _ in range(10):
        digest, rem = divmod(digest, len(_HASH_ALPHABET))
        chars.append(_HASH_ALPHABET[rem])
    return "".join(chars)


def owned_pods(cluster: Cluster, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    uid = deployment["metadata"]["uid"]
    return [
        p
        for p in cluster.store.items(PODS, deployment["metadata"]["namespace"])
        if any(
            r.get("uid") == uid and r.get("controller") for r in p["metadata"].get("ownerReferences") or []
        )
    ]


def _removal_order(pod: dict[str, Any]) -> tuple[int, int, int, int]:
    """Which pod goes first on scale-down: unscheduled, then pending, then not ready, then newest."""
    return (
        0 if not pod["spec"].get("nodeName") else 1,
        0 if pod["status"].get("phase") == "Pending" else 1,
        1 if pod_ready(pod) else 0,
        -int(pod["metadata"]["resourceVersion"]),
    )


def run_deployments(cluster: Cluster, now: float) -> None:
    for deployment in list(cluster.store.items(DEPLOYMENTS)):
        _sync_deployment(cluster, deployment, now)


def _sync_deployment(cluster: Cluster, deployment: dict[str, Any], now: float) -> None:
    spec, meta = deployment["spec"], deployment["metadata"]
    desired = int(spec.get("replicas", 1))
    template = spec["template"]
    phash = template_hash(template)
    pods = owned_pods(cluster, deployment)
    current = [p for p in pods if (p["metadata"].get("labels") or {}).get("pod-template-hash") == phash]
    old = [p for p in pods if p not in current]
    rs_name = f"{meta['name']}-{phash}"
    if not spec.get("paused"):
        if old:
            _roll(cluster, deployment, phash, current, old, now)
        else:
            _scale_to(cluster, deployment, phash, current, desired, now)
    pods = owned_pods(cluster, deployment)
    current = [p for p in pods if (p["metadata"].get("labels") or {}).get("pod-template-hash") == phash]
    ready = sum(1 for p in pods if pod_ready(p))
    available = ready
    max_unavailable = _scaled(
        (spec.get("strategy") or {}).get("rollingUpdate", {}).get("maxUnavailable", "25%"), desired
    )
    status: dict[str, Any] = {
        "observedGeneration": meta.get("generation", 1),
        "replicas": len(pods),
        "updatedReplicas": len(current),
        "readyReplicas": ready,
        "availableReplicas": available,
        "unavailableReplicas": max(0, desired - available),
    }
    status = {k: v for k, v in status.items() if v or k in ("observedGeneration", "replicas")}
    old_status = deployment.get("status") or {}
    available_ok = available >= desired - max_unavailable
    complete = len(current) == desired and ready >= desired and len(pods) == desired
    status["conditions"] = [
        _condition(
            old_status,
            "Available",
            available_ok,
            "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if available_ok
            else "Deployment does not have minimum availability.",
            now,
        ),
        _condition(
            old_status,
            "Progressing",
            True,
            "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
            f'ReplicaSet "{rs_name}" has successfully progressed.'
            if complete
            else f'ReplicaSet "{rs_name}" is progressing.',
            now,
        ),
    ]
    if status != old_status:
        deployment["status"] = status
        cluster.store.touch(DEPLOYMENTS, deployment)


def _scale_event(
    cluster: Cluster, deployment: dict[str, Any], rs: str, before: int, after: int, now: float
) -> None:
    direction = "up" if after > before else "down"
    cluster.record_event(
        deployment,
        "Normal",
        "ScalingReplicaSet",
        f"Scaled {direction} replica set {rs} from {before} to {after}",
        "deployment-controller",
        now,
    )


def _scale_to(
    cluster: Cluster,
    deployment: dict[str, Any],
    phash: str,
    pods: list[dict[str, Any]],
    target: int,
    now: float,
) -> None:
    """Create or remove pods of the template ``phash`` until there are ``target`` of them."""
    rs = f"{deployment['metadata']['name']}-{phash}"
    if len(pods) < target:
        for _ in range(target - len(pods)):
            _create_pod(cluster, deployment, phash, now)
        _scale_event(cluster, deployment, rs, len(pods), target, now)
    elif len(pods) > target:
        for pod in sorted(pods, key=_removal_order)[: len(pods) - target]:
            cluster.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        _scale_event(cluster, deployment, rs, len(pods), target, now)


def _roll(
    cluster: Cluster,
    deployment: dict[str, Any],
    phash: str,
    current: list[dict[str, Any]],
    old: list[dict[str, Any]],
    now: float,
) -> None:
    """One step of a rolling update within maxSurge / maxUnavailable (Recreate: old pods go first)."""
    spec = deployment["spec"]
    desired = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        for pod in old:
            cluster.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        return
    rolling = strategy.get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = _scaled(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    room = desired + surge - len(current) - len(old)
    grow = max(0, min(desired - len(current), room))
    if grow:
        _scale_to(cluster, deployment, phash, current, len(current) + grow, now)
    # unready old pods carry no availability: they go first, then as many ready ones as the budget allows
    removable = [p for p in old if not pod_ready(p)]
    ready_old = sorted((p for p in old if pod_ready(p)), key=_removal_order)
    available = len(ready_old) + sum(1 for p in current if pod_ready(p))
    removable += ready_old[: max(0, available - (desired - unavailable))]
    for pod in removable:
        cluster.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])


def _scaled(value: Any, total: int, round_up: bool = False) -> int:
    if isinstance(value, str) and value.endswith("%"):
        raw = int(value[:-1]) * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value)


def _condition(
    old_status: dict[str, Any], kind: str, ok: bool, reason: str, message: str, now: float
) -> dict[str, Any]:
    status = "True" if ok else "False"
    previous = next((c for c in old_status.get("conditions") or [] if c["type"] == kind), None)
    if previous and previous["status"] == status and previous["reason"] == reason:
        return dict(previous)
    stamp = rfc3339(now)
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def _create_pod(cluster: Cluster, deployment: dict[str, Any], phash: str, now: float) -> None:
    meta, template = deployment["metadata"], deployment["spec"]["template"]
    tmeta = template.get("metadata") or {}
    prefix = f"{meta['name']}-{phash}-"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": prefix,
            "namespace": meta["namespace"],
            "labels": {**(tmeta.get("labels") or {}), "pod-template-hash": phash},
            "annotations": dict(tmeta.get("annotations") or {}),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": copy.deepcopy(template["spec"]),
    }
    if not pod["metadata"]["annotations"]:
        pod["metadata"].pop("annotations")
    prepare(PODS, pod)
    cluster.store.create(PODS, pod, now)


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
