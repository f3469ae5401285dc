"""Sensors on a registered cluster: API server ready, nodes Ready."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from include.errors import CloudError
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
            event, f"{self.task_id}: gave up waiting for {self.waiting_for()} after about {waited}s", context
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
    """Wait until at least ``count`` nodes (matching ``label_selector``) are Ready.

    A wait that ends without them says what is missing: each missing node's pool, zone, instance id
    and last Ready condition, and the nodes that are Ready (``operators.utils.node_readiness``). A
    missing node in a zone ECS reports closed to instances ends the wait at once instead of at the
    timeout (``poll_interval * max_attempts``).

    :param expected_nodes: the instances that should become nodes: ids or ``{"instance_id", "pool",
        "zone"}`` (a list, or its JSON text when rendered from a template).
    :param check_zones: stop early on a zone ECS reports closed to instances (default True).
    """

    template_fields: Sequence[str] = ("cluster", "count", "label_selector", "expected_nodes")

    def __init__(
        self,
        *,
        count: int | str,
        label_selector: str | None = None,
        expected_nodes: list[Any] | str | None = None,
        check_zones: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.count = count
        self.label_selector = label_selector
        self.expected_nodes = expected_nodes
        self.check_zones = check_zones
        self._last_summary: str | None = None

    def expected(self) -> list[Any]:
        """``expected_nodes`` as a list (rendered templates may give its JSON text)."""
        value = self.expected_nodes
        if value in (None, "", "None"):
            return []
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, list):
            raise ValueError(f"expected_nodes must be a list, got {type(value).__name__}")
        return value

    def trigger(self) -> KubernetesNodesReadyTrigger:
        from operators.triggers.kubernetes import KubernetesNodesReadyTrigger

        return KubernetesNodesReadyTrigger(
            count=int(self.count),
            label_selector=self.label_selector,
            expected=self.expected(),
            check_zones=self.check_zones,
            **self.trigger_params(),
        )

    def waiting_for(self) -> str:
        return f"{self.count} Ready nodes in {self.cluster}"

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:  # poke mode: say what is missing, not only how long
            raise AirflowSensorTimeout(
                f"{exc} Waiting for {self.waiting_for()}: {self._last_summary}"
            ) from exc

    def poke(self, context: Any) -> bool:
        try:
            report = self.hook.node_readiness(
                int(self.count), self.label_selector, self.expected(), self.check_zones
            )
        except CloudError as exc:
            if not exc.retryable:
                raise
            self.log.warning("Nodes of %s could not be read this time (%s); waiting on", self.cluster, exc)
            return False
        self._last_summary = report.summary()
        self.log.info("%s: %s", self.waiting_for(), self._last_summary)
        if report.blocking_zones:
            error = AirflowFailException if self.fail_without_retry else AirflowException
            raise error(f"{self.task_id}: stopped waiting for {self.waiting_for()}: {self._last_summary}")
        return report.enough
