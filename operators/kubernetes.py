"""Operators on a registered cluster's Kubernetes API: scale a deployment, cordon and drain a node."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from operators.base import as_bool, as_int, bind_audit_context

if TYPE_CHECKING:
    from operators.hooks.kubernetes import FleetKubernetesHook
    from operators.utils.audit import AuditContext


class FleetKubernetesBaseOperator(BaseOperator):
    """Base for operators that act on one registered cluster.

    :param cluster: the cluster's name in the fleet registry.
    :param dry_run: write ``dry_run`` audit rows instead of changing anything.
    """

    template_fields: Sequence[str] = ("cluster", "dry_run")
    ui_color = "#326ce5"

    def __init__(
        self,
        *,
        cluster: str,
        dry_run: bool | str = False,
        alibaba_cloud_conn_id: str = "alibaba_cloud_default",
        yunfleet_db_conn_id: str = "yunfleet_db",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.dry_run = dry_run
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id
        self._audit_context: AuditContext | None = None

    def bind_context(self, context: Any) -> None:
        """Remember who runs this task (ticket, actor, task identity) for the hook's audit rows."""
        bind_audit_context(self, context)

    @cached_property
    def hook(self) -> FleetKubernetesHook:
        from operators.hooks.kubernetes import FleetKubernetesHook

        return FleetKubernetesHook(
            self.cluster,
            alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
            dry_run=as_bool(self.dry_run),
            audit_context=self._audit_context,
        )


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
