"""Sensors on a registered cluster: API server ready, nodes Ready."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from operators.sensors.base import YunfleetBaseSensor

if TYPE_CHECKING:
    from operators.hooks.kubernetes import FleetKubernetesHook
    from operators.triggers.kubernetes import KubernetesApiServerReadyTrigger, KubernetesNodesReadyTrigger


class _ClusterSensor(YunfleetBaseSensor):
    template_fields: Sequence[str] = ("cluster",)

    def __init__(self, *, cluster: str, yunfleet_db_conn_id: str = "yunfleet_db", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.yunfleet_db_conn_id = yunfleet_db_conn_id

    @cached_property
    def hook(self) -> FleetKubernetesHook:
        from operators.hooks.kubernetes import FleetKubernetesHook

        return FleetKubernetesHook(
            self.cluster,
            alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
        )

    def trigger_params(self) -> dict[str, Any]:
        """The keyword arguments every cluster trigger takes."""
        return {
            "cluster": self.cluster,
            "alibaba_cloud_conn_id": self.alibaba_cloud_conn_id,
            "yunfleet_db_conn_id": self.yunfleet_db_conn_id,
            "poll_interval": self.poll_interval,
            "max_attempts": self.max_attempts,
        }

    def waiting_for(self) -> str:
        raise NotImplementedError

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        waited = int(self.poll_interval * self.max_attempts)
        self.check_event(
            event, f"{self.task_id}: gave up waiting for {self.waiting_for()} after about {waited}s"
        )
        return event.get("result")


class KubernetesApiServerReadySensor(_ClusterSensor):
    """Wait until the cluster's API server answers ``/readyz``."""

    def trigger(self) -> KubernetesApiServerReadyTrigger:
        from operators.triggers.kubernetes import KubernetesApiServerReadyTrigger

        return KubernetesApiServerReadyTrigger(**self.trigger_params())

    def waiting_for(self) -> str:
        return f"the API server of {self.cluster}"

    def poke(self, context: Any) -> bool:
        return self.hook.api_server_ready()


class KubernetesNodesReadySensor(_ClusterSensor):
    """Wait until at least ``count`` nodes (matching ``label_selector``) are Ready."""

    template_fields: Sequence[str] = ("cluster", "count", "label_selector")

    def __init__(self, *, count: int | str, label_selector: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = count
        self.label_selector = label_selector

    def trigger(self) -> KubernetesNodesReadyTrigger:
        from operators.triggers.kubernetes import KubernetesNodesReadyTrigger

        return KubernetesNodesReadyTrigger(
            count=int(self.count), label_selector=self.label_selector, **self.trigger_params()
        )

    def waiting_for(self) -> str:
        return f"{self.count} Ready nodes in {self.cluster}"

    def poke(self, context: Any) -> bool:
        return bool(self.hook.nodes_ready_for_waiter(int(self.count), self.label_selector)["Enough"])
