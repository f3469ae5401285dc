"""The deployment controller: replica count, rolling updates within maxSurge/maxUnavailable, status."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from typing import Any

from sandbox.kube.cluster import Cluster
from sandbox.kube.disruption import pod_ready
from sandbox.kube.resources import DEPLOYMENTS, PODS
from sandbox.kube.store import rfc3339
from sandbox.kube.validation import prepare

_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


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
