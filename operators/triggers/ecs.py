"""ECS triggers."""

from __future__ import annotations

from collections.abc import Sequence

from operators.defaults import ALIBABA_CLOUD_CONN_ID
from operators.triggers.base import YunfleetWaiterTrigger


class EcsInstancesRunningTrigger(YunfleetWaiterTrigger):
    """Fire when every instance is Running (failure if one stops or is stopping)."""

    serialized_fields = ("instance_ids", "alibaba_cloud_conn_id", "region_id")

    def __init__(
        self,
        *,
        instance_ids: Sequence[str],
        alibaba_cloud_conn_id: str = ALIBABA_CLOUD_CONN_ID,
        region_id: str | None = None,
        poll_interval: float = 5.0,
        max_attempts: int = 120,
    ) -> None:
        super().__init__(
            product="ecs",
            waiter_name="instances_running",
            waiter_args={"instance_ids": list(instance_ids)},
            hook_params={"alibaba_cloud_conn_id": alibaba_cloud_conn_id, "region_id": region_id},
            poll_interval=poll_interval,
            max_attempts=max_attempts,
        )
        self.instance_ids = list(instance_ids)
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.region_id = region_id
