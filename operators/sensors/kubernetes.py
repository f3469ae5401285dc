"""Sensors on a registered cluster: API server ready, nodes Ready."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from operators.sensors.base import YunfleetBaseSensor

if TYPE_CHECKING:
    from operators.triggers.kubernetes import KubernetesApiServerReadyTrigger, KubernetesNodesReadyTrigger


class _ClusterSensor(YunfleetBaseSensor):
    product = "kubernetes"
    template_fields: Sequence[str] = ("cluster",)

    def __init__(self, *, cluster: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster

    def hook_params(self) -> dict[str, Any]:
        return {**super().hook_params(), "cluster": self.cluster}

    def trigger_params(self) -> dict[str, Any]:
        return {**super().trigger_params(), **self.connection_params(), "cluster": self.cluster}

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
