"""What every Yunfleet sensor shares: the waiting knobs and the hand-over to a trigger.

Sensors import their trigger (and ``airflow.triggers``) only when they defer.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from include.fleet.contract import ERROR_XCOM_KEY
from operators.base import HookOwner
from operators.defaults import ALIBABA_CLOUD_CONN_ID, DEFAULT_DEFERRABLE, YUNFLEET_DB_CONN_ID

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from operators.triggers.base import YunfleetWaiterTrigger


class YunfleetBaseSensor(HookOwner, BaseSensorOperator):
    """A sensor that pokes in the worker or, when ``deferrable``, hands the wait to its trigger.

    Pokes use :attr:`hook`, built on first use for the sensor's ``product``.

    :param alibaba_cloud_conn_id: the ``alibaba_cloud`` connection (default ``alibaba_cloud_default``).
    :param yunfleet_db_conn_id: the registry connection (default ``yunfleet_db``).
    :param deferrable: wait in the triggerer (:meth:`trigger`) instead of poking in the worker.
    :param poll_interval: seconds between checks (also the poke interval).
    :param max_attempts: checks before a deferred wait gives up; ``poll_interval * max_attempts``
        is also the poke-mode ``timeout`` unless one is given.
    :param fail_without_retry: a deferred wait that ends in failure or timeout fails the task
        without Airflow retries (``AirflowFailException``).
    """

    def __init__(
        self,
        *,
        alibaba_cloud_conn_id: str = ALIBABA_CLOUD_CONN_ID,
        yunfleet_db_conn_id: str = YUNFLEET_DB_CONN_ID,
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float = 5.0,
        max_attempts: int = 120,
        fail_without_retry: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        kwargs.setdefault("timeout", timedelta(seconds=poll_interval * max_attempts))
        super().__init__(**kwargs)
        self.set_connections(alibaba_cloud_conn_id, yunfleet_db_conn_id)
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.fail_without_retry = fail_without_retry

    def trigger(self) -> YunfleetWaiterTrigger:
        """The trigger that runs this sensor's wait in the triggerer."""
        raise NotImplementedError

    def trigger_params(self) -> dict[str, Any]:
        """The keyword arguments every Yunfleet trigger takes: the cloud connection and waiting knobs."""
        return {
            "alibaba_cloud_conn_id": self.alibaba_cloud_conn_id,
            "poll_interval": self.poll_interval,
            "max_attempts": self.max_attempts,
        }

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            try:
                return super().execute(context)
            except Exception as exc:  # a poke-mode timeout or failure: say why in the run's report
                report_error(context, f"{type(exc).__name__}: {exc}")
                raise
        self.defer(trigger=self.trigger(), method_name="execute_complete")

    def check_event(self, event: dict[str, Any], what: str, context: Any = None) -> None:
        """Raise unless the trigger's event is a success; ``what`` says what was not reached.

        With ``context``, the failure is also left under XCom key ``yunfleet_error`` for the run's report.
        """
        if event.get("status") == "success":
            return
        error = AirflowFailException if self.fail_without_retry else AirflowException
        message = f"{what}: {event.get('message')}"
        if context is not None:
            report_error(context, message)
        raise error(message)


def report_error(context: Any, message: str) -> None:
    """Leave a failing task's one-line error under XCom key ``yunfleet_error`` (never raises)."""
    try:
        context["ti"].xcom_push(key=ERROR_XCOM_KEY, value=message[:2000])
    except Exception:  # reporting must never hide the original error
        log.exception("could not record the error of this wait")
