"""The scheduler: binds pending pods to Ready, schedulable nodes by resource requests.

Filters: node readiness, ``spec.unschedulable``, taints against tolerations, ``nodeSelector`` and
required node affinity, CPU/memory requests and the pod count. Scoring spreads a workload's pods over
nodes and zones, then prefers the least requested node. Pods that fit nowhere get
``PodScheduled=False/Unschedulable`` with the scheduler's usual summary, and a FailedScheduling event.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kubernetes.utils import parse_quantity

from sandbox.kube.cluster import Cluster
from sandbox.kube.disruption import pod_terminated
from sandbox.kube.lifecycle import node_ready
from sandbox.kube.resources import NODES, PODS
from sandbox.kube.store import rfc3339
from sandbox.kube.timings import KubeTimings

ZONE = "topology.kubernetes.io/zone"


def pod_requests(pod: dict[str, Any]) -> tuple[int, int]:
    """(CPU millicores, memory bytes) requested by the pod's containers."""
    cpu = memory = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        limits = (container.get("resources") or {}).get("limits") or {}
        if "cpu" in requests or "cpu" in limits:
            cpu += int(parse_quantity(requests.get("cpu", limits.get("cpu"))) * 1000)
        if "memory" in requests or "memory" in limits:
            memory += int(parse_quantity(requests.get("memory", limits.get("memory"))))
    return cpu, memory


def allocatable(node: dict[str, Any]) -> tuple[int, int, int]:
    alloc = node["status"].get("allocatable") or {}
    return (
        int(parse_quantity(alloc.get("cpu", "0")) * 1000),
        int(parse_quantity(alloc.get("memory", "0"))),
        int(alloc.get("pods", "110")),
    )


def _tolerated(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol["key"] == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _affinity_ok(pod: dict[str, Any], labels: dict[str, str]) -> bool:
    required = (
        ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms")
    if not required:
        return True
    for term in required:
        ok = True
        for expr in term.get("matchExpressions") or []:
            key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
            present = key in labels
            if (
                (op == "In" and labels.get(key) not in values)
                or (op == "NotIn" and labels.get(key) in values)
                or (op == "Exists" and not present)
                or (op == "DoesNotExist" and present)
            ):
                ok = False
        if ok:
            return True
    return False


def _owner(pod: dict[str, Any]) -> str | None:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref["uid"])
    return None


def schedule(cluster: Cluster, timings: KubeTimings, now: float) -> None:
    nodes = [n for n in cluster.store.items(NODES)]
    pods = cluster.store.items(PODS)
    used: dict[str, list[int]] = {n["metadata"]["name"]: [0, 0, 0] for n in nodes}
    owners_on: Counter[tuple[str, str | None]] = Counter()
    owners_in_zone: Counter[tuple[str, str | None]] = Counter()
    zone_of = {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(ZONE, "") for n in nodes}
    for pod in pods:
        node_name = pod["spec"].get("nodeName")
        if node_name in used and not pod_terminated(pod):
            cpu, mem = pod_requests(pod)
            used[node_name][0] += cpu
            used[node_name][1] += mem
            used[node_name][2] += 1
            owners_on[(node_name, _owner(pod))] += 1
            owners_in_zone[(zone_of[node_name], _owner(pod))] += 1
    pending = [p for p in pods if not p["spec"].get("nodeName") and not pod_terminated(p)]
    pending.sort(key=lambda p: int(p["metadata"]["resourceVersion"]))
    for pod in pending:
        cpu, mem = pod_requests(pod)
        owner = _owner(pod)
        reasons: Counter[str] = Counter()
        candidates = []
        for node in nodes:
            name = node["metadata"]["name"]
            reason = _filter(pod, node, used[name], cpu, mem)
            if reason:
                reasons[reason] += 1
            else:
                a_cpu, a_mem, _ = allocatable(node)
                load = (used[name][0] + cpu) / max(a_cpu, 1) + (used[name][1] + mem) / max(a_mem, 1)
                candidates.append(
                    (owners_on[(name, owner)], owners_in_zone[(zone_of[name], owner)], load, name)
                )
        if not candidates:
            _mark_unschedulable(cluster, pod, len(nodes), reasons, now)
            continue
        _, _, _, chosen = min(candidates)
        used[chosen][0] += cpu
        used[chosen][1] += mem
        used[chosen][2] += 1
        owners_on[(chosen, owner)] += 1
        owners_in_zone[(zone_of[chosen], owner)] += 1
        _bind(cluster, pod, chosen, timings, now)


def _filter(pod: dict[str, Any], node: dict[str, Any], used: list[int], cpu: int, mem: int) -> str | None:
    labels = node["metadata"].get("labels") or {}
    tolerations = pod["spec"].get("tolerations") or []
    if not node_ready(node):
        return "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
    if node["spec"].get("unschedulable") and not _tolerated(
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, tolerations
    ):
        return "node(s) were unschedulable"
    for taint in node["spec"].get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(taint, tolerations):
            return f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"
    selector = pod["spec"].get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()) or not _affinity_ok(pod, labels):
        return "node(s) didn't match Pod's node affinity/selector"
    a_cpu, a_mem, a_pods = allocatable(node)
    if used[2] + 1 > a_pods:
        return "Too many pods"
    if used[0] + cpu > a_cpu:
        return "Insufficient cpu"
    if used[1] + mem > a_mem:
        return "Insufficient memory"
    return None


def _mark_unschedulable(
    cluster: Cluster, pod: dict[str, Any], total: int, reasons: Counter[str], now: float
) -> None:
    detail = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    message = f"0/{total} nodes are available" + (f": {detail}." if detail else ".")
    if total:
        message += (
            f" preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
        )
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    current = next((c for c in conditions if c["type"] == "PodScheduled"), None)
    if current is not None and current.get("message") == message:
        return
    conditions[:] = [c for c in conditions if c["type"] != "PodScheduled"]
    conditions.append(
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": rfc3339(now),
        }
    )
    cluster.store.touch(PODS, pod)
    cluster.record_event(pod, "Warning", "FailedScheduling", message, "default-scheduler", now)


def _bind(cluster: Cluster, pod: dict[str, Any], node_name: str, timings: KubeTimings, now: float) -> None:
    pod["spec"]["nodeName"] = node_name
    status = pod.setdefault("status", {})
    status["conditions"] = [c for c in status.get("conditions") or [] if c["type"] != "PodScheduled"]
    status["conditions"].append(
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(now)}
    )
    cluster.store.touch(PODS, pod)
    cluster.timers[f"start/{pod['metadata']['uid']}"] = now + timings.pod_start_s
    meta = pod["metadata"]
    cluster.record_event(
        pod,
        "Normal",
        "Scheduled",
        f"Successfully assigned {meta['namespace']}/{meta['name']} to {node_name}",
        "default-scheduler",
        now,
    )
