"""ECS sensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from include.errors import WaiterFailureError
from operators.sensors.base import YunfleetBaseSensor
from operators.waiters import evaluate, load_waiter

if TYPE_CHECKING:
    from operators.triggers.ecs import EcsInstancesRunningTrigger


class EcsInstancesRunningSensor(YunfleetBaseSensor):
    """Wait until every instance is Running; fail at once if one is Stopped or Stopping.

    :param instance_ids: the instances to watch (a list, or an XCom of one).
    :param deferrable: hand the wait to the triggerer (:class:`EcsInstancesRunningTrigger`).
    :param poll_interval: seconds between checks.
    :param max_attempts: checks before a deferred wait gives up.
    """

    product = "ecs"
    template_fields: Sequence[str] = ("instance_ids", "alibaba_cloud_conn_id")

    def __init__(self, *, instance_ids: Sequence[str], region_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instance_ids = instance_ids
        self.region_id = region_id

    def hook_params(self) -> dict[str, Any]:
        return {**super().hook_params(), "region_id": self.region_id}

    def trigger(self) -> EcsInstancesRunningTrigger:
        from operators.triggers.ecs import EcsInstancesRunningTrigger

        return EcsInstancesRunningTrigger(
            instance_ids=list(self.instance_ids), region_id=self.region_id, **self.trigger_params()
        )

    def poke(self, context: Any) -> bool:
        waiter = load_waiter("ecs", "instances_running")
        result = self.hook.describe_instances_for_waiter(list(self.instance_ids))
        state = evaluate(waiter, result)
        if state == "failure":
            raise WaiterFailureError(f"instances will not reach Running: {result['Instances']}")
        return state == "success"

    def execute_complete(self, context: Any, event: dict[str, Any]) -> list[str]:
        self.check_event(event, "instances did not reach Running", context)
        return list(self.instance_ids)
