"""Triggers for a registered cluster's Kubernetes API."""

from __future__ import annotations

from typing import Any

from operators.defaults import ALIBABA_CLOUD_CONN_ID, YUNFLEET_DB_CONN_ID
from operators.triggers.base import YunfleetWaiterTrigger


class _ClusterTrigger(YunfleetWaiterTrigger):
    """A ``kubernetes`` waiter on one registered cluster; the cluster and connections are set here."""

    serialized_fields: tuple[str, ...] = ("cluster", "alibaba_cloud_conn_id", "yunfleet_db_conn_id")

    def __init__(
        self,
        *,
        waiter_name: str,
        waiter_args: dict[str, Any],
        cluster: str,
        alibaba_cloud_conn_id: str = ALIBABA_CLOUD_CONN_ID,
        yunfleet_db_conn_id: str = YUNFLEET_DB_CONN_ID,
        poll_interval: float = 5.0,
        max_attempts: int = 120,
    ) -> None:
        super().__init__(
            product="kubernetes",
            waiter_name=waiter_name,
            waiter_args=waiter_args,
            hook_params={
                "cluster": cluster,
                "alibaba_cloud_conn_id": alibaba_cloud_conn_id,
                "yunfleet_db_conn_id": yunfleet_db_conn_id,
            },
            poll_interval=poll_interval,
            max_attempts=max_attempts,
        )
        self.cluster = cluster
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id


class KubernetesApiServerReadyTrigger(_ClusterTrigger):
    """Fire when the cluster's API server answers ``/readyz`` with 200.

    :param cluster, alibaba_cloud_conn_id, yunfleet_db_conn_id, poll_interval, max_attempts: see
        :class:`_ClusterTrigger`.
    """

    def __init__(self, **cluster_args: Any) -> None:
        super().__init__(waiter_name="api_server_ready", waiter_args={}, **cluster_args)


class KubernetesNodesReadyTrigger(_ClusterTrigger):
    """Fire when at least ``count`` nodes (matching ``label_selector``) are Ready.

    :param expected: instances that should become nodes (ids or ``{"instance_id", "pool", "zone"}``),
        named in the failure message when they are missing.
    :param check_zones: end the wait early (``failure``) when a missing node is in a zone ECS reports
        closed to instances.
    """

    serialized_fields = (
        "cluster",
        "count",
        "label_selector",
        "expected",
        "check_zones",
        "alibaba_cloud_conn_id",
        "yunfleet_db_conn_id",
    )

    def __init__(
        self,
        *,
        count: int,
        label_selector: str | None = None,
        expected: list[Any] | None = None,
        check_zones: bool = True,
        **cluster_args: Any,
    ) -> None:
        super().__init__(
            waiter_name="nodes_ready",
            waiter_args={
                "count": int(count),
                "label_selector": label_selector,
                "expected": list(expected or []),
                "check_zones": bool(check_zones),
            },
            **cluster_args,
        )
        self.count = int(count)
        self.label_selector = label_selector
        self.expected = list(expected or [])
        self.check_zones = bool(check_zones)
