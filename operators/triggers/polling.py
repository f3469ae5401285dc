"""The base of the fleet's event triggers: the triggers behind ``AssetWatcher`` s that poll the fleet.

A subclass names its own constructor arguments in ``own_fields``; the common ones (the poll interval,
the per-read timeout and the two connection ids) and the serialization that lets the triggerer
rebuild it are here. Imports no hook: the DAG files import the triggers at parse time.
"""

from __future__ import annotations

from typing import Any

from airflow.triggers.base import BaseEventTrigger

from operators.defaults import ALIBABA_CLOUD_CONN_ID, YUNFLEET_DB_CONN_ID


class FleetPollingTrigger(BaseEventTrigger):
    """An event trigger that reads the fleet every ``poll_interval`` seconds.

    :param poll_interval: seconds between two looks at the fleet.
    :param request_timeout: seconds one read may take (a slow API never holds a look for longer).
    :param alibaba_cloud_conn_id: the cloud connection (credentials, region, endpoints).
    :param yunfleet_db_conn_id: the fleet registry's connection.
    """

    #: the subclass's own constructor arguments, serialized with the common ones (same names as the
    #: attributes that hold them)
    own_fields: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        poll_interval: float,
        request_timeout: float,
        alibaba_cloud_conn_id: str = ALIBABA_CLOUD_CONN_ID,
        yunfleet_db_conn_id: str = YUNFLEET_DB_CONN_ID,
    ) -> None:
        super().__init__()
        self.poll_interval = float(poll_interval)
        self.request_timeout = float(request_timeout)
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        fields = ("poll_interval", *self.own_fields, "request_timeout")
        kwargs = {name: getattr(self, name) for name in fields}
        kwargs["alibaba_cloud_conn_id"] = self.alibaba_cloud_conn_id
        kwargs["yunfleet_db_conn_id"] = self.yunfleet_db_conn_id
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs
