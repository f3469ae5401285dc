"""The event trigger of zone health's fast path: probe every zone every few seconds, fire on a change.

Used through an ``AssetWatcher`` (``dags/zone_health.py``): the triggerer runs one
:class:`ZoneHealthTrigger` for the fleet. Every ``poll_interval`` seconds it runs one probe round
(:func:`operators.zone_probe.probe_round`: the fleet's reads, the verdicts, the per-zone state machine
stored in the registry) and yields an event when a zone's change starts an evacuation or a restore,
when an evacuation is past its expiry, when an evacuated zone's weights came back, or when the
all-zones guard raised an alert. Airflow turns the event into an asset event and
the scheduler queues ``zone_failover`` (which evacuates or restores) and ``register_services`` (whose
global names follow the zone states) at once, without waiting for the scheduled ``zone_health`` run.

An expired evacuation or an alert fires at most once per ``refire_after`` seconds. Imports no hook at
module level: the DAG file imports this module at parse time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import TriggerEvent

from operators.defaults import ALIBABA_CLOUD_CONN_ID, YUNFLEET_DB_CONN_ID
from operators.triggers.polling import FleetPollingTrigger

log = logging.getLogger(__name__)

#: seconds between two reads of the connections (zone health settings live in the cloud connection)
SETTINGS_REFRESH_S = 10.0


class ZoneHealthTrigger(FleetPollingTrigger):
    """Probe the fleet's zones every ``poll_interval`` seconds; fire on transitions, expiries, alerts.

    :param poll_interval: seconds between probe rounds (zone health's ``probe_interval_s``, 5).
    :param refire_after: seconds before the same expiry or alert fires again.
    :param request_timeout: seconds one read may take (a slow API never holds a round for longer).
    """

    own_fields = ("refire_after",)

    def __init__(
        self,
        *,
        poll_interval: float = 5.0,
        refire_after: float = 60.0,
        request_timeout: float = 5.0,
        alibaba_cloud_conn_id: str = ALIBABA_CLOUD_CONN_ID,
        yunfleet_db_conn_id: str = YUNFLEET_DB_CONN_ID,
    ) -> None:
        super().__init__(
            poll_interval=poll_interval,
            request_timeout=request_timeout,
            alibaba_cloud_conn_id=alibaba_cloud_conn_id,
            yunfleet_db_conn_id=yunfleet_db_conn_id,
        )
        self.refire_after = float(refire_after)

    def prober(self) -> Any:
        from operators.zone_probe import FleetProber

        return FleetProber(
            alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
            request_timeout=self.request_timeout,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        prober = None
        fired: dict[str, float] = {}
        prepared = 0.0
        while True:
            started = time.monotonic()
            try:
                if prober is None:
                    prober = await asyncio.to_thread(self.prober)
                if started - prepared >= SETTINGS_REFRESH_S:
                    await prober.aprepare()  # the connection again: settings changes apply within 10 s
                    prober.settings = None
                    prepared = started
                clusters = await asyncio.to_thread(prober.ready_clusters)
                await prober.aprepare_clusters(clusters)
                payload = await asyncio.to_thread(prober.round_payload, datetime.now(UTC))
            except Exception as exc:  # the registry or the connection is unreachable: next round
                log.warning("zone health: probe round failed: %s", str(exc)[:300])
                prober, payload = None, None
            if payload is not None:
                now = time.monotonic()
                repeated = [k for k in payload["keys"] if now - fired.get(k, -1e9) < self.refire_after]
                fresh = [k for k in payload["keys"] if k not in repeated]
                if payload["transitions"] or fresh:
                    for key in fresh:
                        fired[key] = now
                    log.info("zone health: %s", payload["summary"])
                    yield TriggerEvent({k: v for k, v in payload.items() if k != "keys"})
            await asyncio.sleep(max(0.0, self.poll_interval - (time.monotonic() - started)))
