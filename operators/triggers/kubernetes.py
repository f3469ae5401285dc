"""Triggers for a registered cluster's Kubernetes API."""

from __future__ import annotations

from typing import Any

from operators.triggers.base import YunfleetWaiterTrigger


def _hook_params(cluster: str, alibaba_cloud_conn_id: str, yunfleet_db_conn_id: str) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "alibaba_cloud_conn_id": alibaba_cloud_conn_id,
        "yunfleet_db_conn_id": yunfleet_db_conn_id,
    }


class KubernetesApiServerReadyTrigger(YunfleetWaiterTrigger):
    """Fire when the cluster's API server answers ``/readyz`` with 200."""

    def __init__(
        self,
        *,
        cluster: str,
        alibaba_cloud_conn_id: str = "alibaba_cloud_default",
        yunfleet_db_conn_id: str = "yunfleet_db",
        poll_interval: float = 5.0,
        max_attempts: int = 120,
    ) -> None:
        super().__init__(
            product="kubernetes",
            waiter_name="api_server_ready",
            waiter_args={},
            hook_params=_hook_params(cluster, alibaba_cloud_conn_id, yunfleet_db_conn_id),
            poll_interval=poll_interval,
            max_attempts=max_attempts,
        )
        self.cluster = cluster
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "cluster": self.cluster,
                "alibaba_cloud_conn_id": self.alibaba_cloud_conn_id,
                "yunfleet_db_conn_id": self.yunfleet_db_conn_id,
                "poll_interval": self.poll_interval,
                "max_attempts": self.max_attempts,
            },
        )


class KubernetesNodesReadyTrigger(YunfleetWaiterTrigger):
    """Fire when at least ``count`` nodes (matching ``label_selector``) are Ready."""

    def __init__(
        self,
        *,
        cluster: str,
        count: int,
        label_selector: str | None = None,
        alibaba_cloud_conn_id: str = "alibaba_cloud_default",
        yunfleet_db_conn_id: str = "yunfleet_db",
        poll_interval: float = 5.0,
        max_attempts: int = 120,
    ) -> None:
        super().__init__(
            product="kubernetes",
            waiter_name="nodes_ready",
            waiter_args={"count": int(count), "label_selector": label_selector},
            hook_params=_hook_params(cluster, alibaba_cloud_conn_id, yunfleet_db_conn_id),
            poll_interval=poll_interval,
            max_attempts=max_attempts,
        )
        self.cluster = cluster
        self.count = int(count)
        self.label_selector = label_selector
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "cluster": self.cluster,
                "count": self.count,
                "label_selector": self.label_selector,
                "alibaba_cloud_conn_id": self.alibaba_cloud_conn_id,
                "yunfleet_db_conn_id": self.yunfleet_db_conn_id,
                "poll_interval": self.poll_interval,
                "max_attempts": self.max_attempts,
            },
        )
