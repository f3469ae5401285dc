"""ECS sensors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException

from include.errors import WaiterFailureError
from operators.defaults import DEFAULT_DEFERRABLE
from operators.triggers.ecs import EcsInstancesRunningTrigger
from operators.waiters import evaluate, load_waiter

if TYPE_CHECKING:
    from operators.hooks.ecs import EcsHook


class EcsInstancesRunningSensor(BaseSensorOperator):
    """Wait until every instance is Running; fail at once if one is Stopped or Stopping.

    :param instance_ids: the instances to watch (a list, or an XCom of one).
    :param deferrable: hand the wait to the triggerer (:class:`EcsInstancesRunningTrigger`).
    :param poll_interval: seconds between checks.
    :param max_attempts: checks before a deferred wait gives up.
    """

    template_fields: Sequence[str] = ("instance_ids", "alibaba_cloud_conn_id")

    def __init__(
        self,
        *,
        instance_ids: Sequence[str],
        alibaba_cloud_conn_id: str = "alibaba_cloud_default",
        region_id: str | None = None,
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float = 5.0,
        max_attempts: int = 120,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        kwargs.setdefault("timeout", timedelta(seconds=poll_interval * max_attempts))
        super().__init__(**kwargs)
        self.instance_ids = instance_ids
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.region_id = region_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts

    @cached_property
    def hook(self) -> EcsHook:
        from operators.hooks.ecs import EcsHook

        return EcsHook(self.alibaba_cloud_conn_id, region_id=self.region_id)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        self.defer(
            trigger=EcsInstancesRunningTrigger(
                instance_ids=list(self.instance_ids),
                alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
                region_id=self.region_id,
                poll_interval=self.poll_interval,
                max_attempts=self.max_attempts,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Any) -> bool:
        waiter = load_waiter("ecs", "instances_running")
        result = self.hook.describe_instances_for_waiter(list(self.instance_ids))
        state = evaluate(waiter, result)
        if state == "failure":
            raise WaiterFailureError(f"instances will not reach Running: {result['Instances']}")
        return state == "success"

    def execute_complete(self, context: Any, event: dict[str, Any]) -> list[str]:
        if event.get("status") != "success":
            raise AirflowException(f"instances did not reach Running: {event.get('message')}")
        return list(self.instance_ids)
