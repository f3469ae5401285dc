"""PodDisruptionBudget arithmetic and the pod eviction subresource (429 when a budget would break)."""

from __future__ import annotations

import math
from typing import Any

from sandbox.kube.cluster import Cluster
from sandbox.kube.errors import KubeError, too_many_requests
from sandbox.kube.resources import DEPLOYMENTS, PDBS, PODS
from sandbox.kube.selectors import selector_object_matches


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def pod_terminated(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def matching_pods(cluster: Cluster, pdb: dict[str, Any]) -> list[dict[str, Any]]:
    selector = pdb["spec"].get("selector")
    if selector is None:
        return []
    return [
        p
        for p in cluster.store.items(PODS, pdb["metadata"]["namespace"])
        if not pod_terminated(p) and selector_object_matches(selector, p["metadata"].get("labels") or {})
    ]


def _scaled(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        raw = int(value[:-1]) * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value)


def budget_status(cluster: Cluster, pdb: dict[str, Any]) -> dict[str, Any]:
    """``status`` of a PDB as the disruption controller computes it."""
    pods = matching_pods(cluster, pdb)
    expected = 0
    owners: set[str] = set()
    for pod in pods:
        ref = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        if ref is None:
            expected += 1
        elif ref["uid"] not in owners:
            owners.add(ref["uid"])
            owner = next(
                (
                    d
                    for d in cluster.store.items(DEPLOYMENTS, pdb["metadata"]["namespace"])
                    if d["metadata"]["uid"] == ref["uid"]
                ),
                None,
            )
            expected += int(owner["spec"].get("replicas", 0)) if owner else 1
    healthy = sum(1 for p in pods if pod_ready(p))
    spec = pdb["spec"]
    if "maxUnavailable" in spec:
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected, True))
    elif "minAvailable" in spec:
        desired = _scaled(spec["minAvailable"], expected, True)
    else:
        desired = expected
    allowed = max(0, healthy - desired)
    return {
        "observedGeneration": pdb["metadata"].get("generation", 1),
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [
            {
                "type": "DisruptionAllowed",
                "status": "True" if allowed > 0 else "False",
                "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
                "message": "",
                "observedGeneration": pdb["metadata"].get("generation", 1),
                "lastTransitionTime": pdb["metadata"].get("creationTimestamp"),
            }
        ],
    }


def check_eviction(cluster: Cluster, pod: dict[str, Any]) -> None:
    """Raise 429 (or 500 for overlapping budgets) when evicting ``pod`` would violate a budget."""
    if pod_terminated(pod) or not (pod.get("spec") or {}).get("nodeName"):
        return
    labels = pod["metadata"].get("labels") or {}
    budgets = [
        b
        for b in cluster.store.items(PDBS, pod["metadata"]["namespace"])
        if b["spec"].get("selector") is not None and selector_object_matches(b["spec"]["selector"], labels)
    ]
    if not budgets:
        return
    if len(budgets) > 1:
        raise KubeError(
            500,
            "InternalError",
            "This pod has more than one PodDisruptionBudget, which the "
            "eviction subresource does not support.",
        )
    if not pod_ready(pod):
        return
    budget = budgets[0]
    status = budget_status(cluster, budget)
    if status["disruptionsAllowed"] <= 0:
        name = budget["metadata"]["name"]
        raise too_many_requests(
            "Cannot evict pod as it would violate the pod's disruption budget.",
            [
                {
                    "reason": "DisruptionBudget",
                    "message": f"The disruption budget {name} needs {status['desiredHealthy']} healthy pods "
                    f"and has "
                    f"{status['currentHealthy']} currently",
                }
            ],
        )
