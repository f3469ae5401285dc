"""Operators on a registered cluster's Kubernetes API: scale a deployment, cordon and drain a node."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from operators.base import YunfleetBaseOperator, as_int


class FleetKubernetesBaseOperator(YunfleetBaseOperator):
    """Base for operators that act on one registered cluster (hook: ``FleetKubernetesHook``).

    :param cluster: the cluster's name in the fleet registry.
    :param dry_run: write ``dry_run`` audit rows instead of changing anything.
    """

    product = "kubernetes"
    template_fields: Sequence[str] = ("cluster", "dry_run")
    ui_color = "#326ce5"

    def __init__(self, *, cluster: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster

    def hook_params(self) -> dict[str, Any]:
        return {**super().hook_params(), "cluster": self.cluster}


class KubernetesScaleDeploymentOperator(FleetKubernetesBaseOperator):
    """Set a deployment's replicas (no call when unchanged). Returns the change as a dict."""

    template_fields: Sequence[str] = ("cluster", "dry_run", "namespace", "deployment", "replicas")

    def __init__(self, *, namespace: str, deployment: str, replicas: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.namespace = namespace
        self.deployment = deployment
        self.replicas = replicas

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        replicas = as_int(self.replicas, "replicas", minimum=0)
        return self.hook.scale_deployment(self.namespace, self.deployment, replicas)


class KubernetesCordonDrainNodeOperator(FleetKubernetesBaseOperator):
    """Cordon a node and evict its pods through the eviction API, honouring PodDisruptionBudgets.

    Waits up to ``drain_timeout`` seconds for blocked evictions; then uncordons the node and
    fails. Returns ``{"node", "cordoned", "evicted", "drained"}``.
    """

    template_fields: Sequence[str] = ("cluster", "dry_run", "node")

    def __init__(
        self, *, node: str, drain_timeout: float = 300.0, poll_interval: float = 5.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.node = node
        self.drain_timeout = drain_timeout
        self.poll_interval = poll_interval

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        return self.hook.drain(self.node, timeout=self.drain_timeout, poll_interval=self.poll_interval)
