"""Sensors on a registered cluster: API server ready, nodes Ready."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException

from operators.defaults import DEFAULT_DEFERRABLE
from operators.triggers.kubernetes import KubernetesApiServerReadyTrigger, KubernetesNodesReadyTrigger

if TYPE_CHECKING:
    from operators.hooks.kubernetes import FleetKubernetesHook


class _ClusterSensor(BaseSensorOperator):
    template_fields: Sequence[str] = ("cluster",)

    def __init__(
        self,
        *,
        cluster: str,
        alibaba_cloud_conn_id: str = "alibaba_cloud_default",
        yunfleet_db_conn_id: str = "yunfleet_db",
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float = 5.0,
        max_attempts: int = 120,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        kwargs.setdefault("timeout", timedelta(seconds=poll_interval * max_attempts))
        super().__init__(**kwargs)
        self.cluster = cluster
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts

    @cached_property
    def hook(self) -> FleetKubernetesHook:
        from operators.hooks.kubernetes import FleetKubernetesHook

        return FleetKubernetesHook(
            self.cluster,
            alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
        )

    def _trigger(self) -> Any:
        raise NotImplementedError

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        self.defer(trigger=self._trigger(), method_name="execute_complete")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if event.get("status") != "success":
            raise AirflowException(f"{self.task_id}: {event.get('message')}")
        return event.get("result")


class KubernetesApiServerReadySensor(_ClusterSensor):
    """Wait until the cluster's API server answers ``/readyz``."""

    def _trigger(self) -> KubernetesApiServerReadyTrigger:
        return KubernetesApiServerReadyTrigger(
            cluster=self.cluster,
            alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
            poll_interval=self.poll_interval,
            max_attempts=self.max_attempts,
        )

    def poke(self, context: Any) -> bool:
        return self.hook.api_server_ready()


class KubernetesNodesReadySensor(_ClusterSensor):
    """Wait until at least ``count`` nodes (matching ``label_selector``) are Ready."""

    template_fields: Sequence[str] = ("cluster", "count", "label_selector")

    def __init__(self, *, count: int | str, label_selector: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = count
        self.label_selector = label_selector

    def _trigger(self) -> KubernetesNodesReadyTrigger:
        return KubernetesNodesReadyTrigger(
            cluster=self.cluster,
            count=int(self.count),
            label_selector=self.label_selector,
            alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
            poll_interval=self.poll_interval,
            max_attempts=self.max_attempts,
        )

    def poke(self, context: Any) -> bool:
        return bool(self.hook.nodes_ready_for_waiter(int(self.count), self.label_selector)["Enough"])
