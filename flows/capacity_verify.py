"""Verify for ``reconcile_capacity``: read back one cluster after its apply step.

What must hold: every instance the run launched is a Ready node, the pods the new nodes were for are
scheduled (bound to a node or gone), every scaled Deployment has the replicas it was given, and every
removed node's instance is released. Reads only, polled until it holds or the time is up; then the
run's KMS delivery secrets of the cluster are deleted (the nodes have read them, or will never).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flows import hooks

log = logging.getLogger(__name__)


def capacity_problems(cluster: str, item: Mapping[str, Any]) -> list[str]:
    """What is not there yet for ``item`` (``apply``'s result for ``cluster``), one line each."""
    from include.capacity.model import instance_id_of

    kube = hooks.kube(cluster)
    problems: list[str] = []
    created = sorted({i for add in item["added"] for i in add["created_ids"]})
    waiting_pods = {p for add in item["added"] if add["zone"] for p in add.get("pods", [])}
    if created:
        ready = {instance_id_of(n.provider_id) for n in kube.list_nodes() if n.ready}
        absent = [i for i in created if i not in ready]
        if absent:
            problems.append(f"launched instances not Ready nodes yet: {', '.join(absent)}")
    if waiting_pods:
        pending = {f"{p.namespace}/{p.name}" for p in kube.list_pods() if p.unschedulable and not p.node_name}
        stuck = sorted(waiting_pods & pending)
        if stuck:
            problems.append(f"pods still unschedulable: {', '.join(stuck[:10])}")
    for scaled in item["scaled"]:
        namespace, _, name = scaled["deployment"].partition("/")
        replicas = kube.get_deployment(namespace, name).spec.replicas
        if replicas != scaled["replicas"]:
            problems.append(f"{scaled['deployment']} has {replicas} replicas, not {scaled['replicas']}")
    released = [i for r in item["removed"] for i in r.get("deleted", [])]
    if released:
        from operators.hooks.ecs import LIVE_STATES

        live = [i for i, s in hooks.ecs(cluster).get_instance_statuses(released).items() if s in LIVE_STATES]
        if live:
            problems.append(f"removed nodes' instances still live: {', '.join(sorted(live))}")
    return problems


def wait_for_capacity(cluster: str, item: Mapping[str, Any], *, timeout: float, poll: float) -> list[str]:
    """Poll :func:`capacity_problems` until nothing is missing or ``timeout`` seconds passed; returns what
    is still missing. Deletes the cluster's delivery secrets afterwards when the run launched nodes."""
    deadline = time.monotonic() + timeout
    problems: list[str] = []
    changed = item["added"] or item["scaled"] or item["removed"]
    if changed:
        while True:
            problems = capacity_problems(cluster, item)
            if not problems or time.monotonic() >= deadline:
                break
            log.info("verify %s: not yet (%s); again in %.0f s", cluster, "; ".join(problems), poll)
            time.sleep(poll)
    if item["added"]:  # a sold-out attempt leaves its secret too
        deleted = hooks.kms(cluster).delete_cluster_secrets(cluster)
        log.info("%s: %d delivery secret(s) deleted", cluster, len(deleted))
    return problems
