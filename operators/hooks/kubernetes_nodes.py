"""Node maintenance for the fleet Kubernetes hook: cordon, uncordon, drain through the eviction API."""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from operators.utils.kubernetes_errors import PRODUCT, DrainTimeoutError, translate_api_exception
from operators.utils.kubernetes_models import PodInfo


class NodeMaintenanceMixin:
    """Needs ``_read``, ``_mutate``, ``audit``, ``core_v1_client``, ``list_pods``, ``cluster``,
    ``dry_run`` and ``request_timeout`` from the hook it is mixed into."""

    _read: Any
    _mutate: Any
    audit: Any
    core_v1_client: Any
    list_pods: Any
    cluster: str
    dry_run: bool
    request_timeout: Any

    def _set_unschedulable(self, node: str, value: bool) -> bool:
        current = self._read(
            "GetNode", lambda: self.core_v1_client.read_node(node, _request_timeout=self.request_timeout)
        )
        if bool(current.spec.unschedulable) == value:
            return False
        self._mutate(
            "CordonNode" if value else "UncordonNode",
            node,
            {"node": node, "unschedulable": value},
            lambda: self.core_v1_client.patch_node(
                node, {"spec": {"unschedulable": value}}, _request_timeout=self.request_timeout
            ),
        )
        return True

    def cordon(self, node: str) -> bool:
        """Mark a node unschedulable; False when it already was."""
        return self._set_unschedulable(node, True)

    def uncordon(self, node: str) -> bool:
        return self._set_unschedulable(node, False)

    def cordon_marked(self, node: str, annotation: str, value: str) -> bool:
        """Cordon ``node`` and annotate it ``annotation: value`` (who cordoned it), in one patch.

        A node that is already unschedulable is left as it is (and not annotated): whoever cordoned it
        keeps it. Returns True when this call cordoned it.
        """
        current = self._read(
            "GetNode", lambda: self.core_v1_client.read_node(node, _request_timeout=self.request_timeout)
        )
        if current.spec.unschedulable:
            return False
        patch = {"spec": {"unschedulable": True}, "metadata": {"annotations": {annotation: value}}}
        self._mutate(
            "CordonNode",
            node,
            {"node": node, "unschedulable": True, annotation: value},
            lambda: self.core_v1_client.patch_node(node, patch, _request_timeout=self.request_timeout),
        )
        return True

    def uncordon_marked(self, node: str, annotation: str) -> bool:
        """Uncordon ``node`` only if it carries ``annotation`` (it was cordoned by that owner), and
        remove the annotation. Returns True when this call uncordoned it."""
        current = self._read(
            "GetNode", lambda: self.core_v1_client.read_node(node, _request_timeout=self.request_timeout)
        )
        annotations = (current.metadata.annotations or {}) if current.metadata else {}
        if annotation not in annotations:
            return False
        patch = {"spec": {"unschedulable": False}, "metadata": {"annotations": {annotation: None}}}
        self._mutate(
            "UncordonNode",
            node,
            {"node": node, "unschedulable": False, annotation: None},
            lambda: self.core_v1_client.patch_node(node, patch, _request_timeout=self.request_timeout),
        )
        return True

    def _evict(self, pod: PodInfo) -> bool:
        """Evict one pod; False when a PodDisruptionBudget refuses it for now (HTTP 429)."""
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod.name, namespace=pod.namespace))
        target = f"{pod.namespace}/{pod.name}"
        if self.dry_run:
            self._mutate("EvictPod", target, {"namespace": pod.namespace, "pod": pod.name}, lambda: None)
            return True
        try:
            self.core_v1_client.create_namespaced_pod_eviction(
                pod.name, pod.namespace, body, _request_timeout=self.request_timeout
            )
        except ApiException as exc:
            if exc.status == 429:
                return False
            if exc.status == 404:
                return True
            err = translate_api_exception(exc, "EvictPod", mutating=True)
            self.audit.record(
                product=PRODUCT,
                action="EvictPod",
                outcome="error",
                request={"namespace": pod.namespace, "pod": pod.name},
                target=target,
                cluster=self.cluster,
                error_code=err.code,
            )
            if err.retryable:
                return False
            raise err from exc
        self.audit.record(
            product=PRODUCT,
            action="EvictPod",
            outcome="ok",
            request={"namespace": pod.namespace, "pod": pod.name},
            target=target,
            cluster=self.cluster,
        )
        return True

    def drain(self, node: str, *, timeout: float = 300.0, poll_interval: float = 5.0) -> dict[str, Any]:
        """Cordon, then evict every pod (DaemonSet and mirror pods excepted) through the eviction API.

        PodDisruptionBudgets are honoured: a refused eviction is tried again every
        ``poll_interval`` seconds until ``timeout``; then the node is uncordoned and
        :class:`DrainTimeoutError` is raised.
        """
        cordoned = self.cordon(node)
        deadline = time.monotonic() + timeout
        evicted: list[str] = []
        while True:
            pods = [
                p
                for p in self.list_pods(node_name=node)
                if p.evictable and p.phase not in ("Succeeded", "Failed")
            ]
            if not pods or self.dry_run:
                if self.dry_run:
                    for pod in pods:
                        self._evict(pod)
                        evicted.append(f"{pod.namespace}/{pod.name}")
                return {"node": node, "cordoned": cordoned, "evicted": sorted(set(evicted)), "drained": True}
            for pod in pods:
                if self._evict(pod):
                    evicted.append(f"{pod.namespace}/{pod.name}")
            if time.monotonic() >= deadline:
                remaining = sorted(f"{p.namespace}/{p.name}" for p in pods)
                self.uncordon(node)
                raise DrainTimeoutError(
                    f"node {node} of {self.cluster} could not be drained in {timeout:.0f}s; pods still "
                    f"blocked by disruption budgets: {remaining}; the node was uncordoned"
                )
            time.sleep(poll_interval)
