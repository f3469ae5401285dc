"""Tasks of the ``zone_health`` DAG: task X is the function X below.

The scheduled probe round (every minute; the zone watcher in the triggerer probes every few seconds
with the same code, :class:`operators.zone_probe.FleetProber`): read the fleet, judge every zone,
advance the per-zone state machine stored in the registry. ``announce`` turns a state change, an
expired evacuation or an all-zones alert into an event on the zone-events asset (``zone_failover``
and ``register_services`` follow it) and is skipped, emitting nothing, when there is nothing to say.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import task
from airflow.sdk.exceptions import AirflowSkipException

from flows import hooks, run
from flows.zone_events import ZONE_EVENTS

log = logging.getLogger(__name__)


@task(retries=1, retry_delay=5)
@run.reported
def probe(**context: Any) -> dict[str, Any] | None:
    """One probe round; returns the event payload (``FleetProber.round_payload``) or None."""
    from operators.zone_probe import FleetProber, settings_from_extra

    try:
        config = settings_from_extra(hooks.cloud_extra())
    except ValueError as exc:
        run.fail(f"invalid zone_health settings in connection alibaba_cloud_default: {exc}")
    prober = FleetProber(settings=config)
    now = datetime.now(UTC)
    payload = prober.round_payload(now)
    for zone, machine in sorted(prober.registry.zone_machines().items()):
        log.info("zone %s: %s (%s)", zone, machine.state, machine.reason)
    if payload is None:
        log.info("no zone changed state")
    return payload


@task(outlets=[ZONE_EVENTS], retries=0)
def announce(payload: dict[str, Any] | None, **context: Any) -> dict[str, Any]:
    """Publish the round's changes on the zone-events asset; skipped when there are none."""
    if not payload:
        raise AirflowSkipException("nothing to announce")
    body = {k: v for k, v in payload.items() if k != "keys"}
    context["outlet_events"][ZONE_EVENTS].extra = {"payload": body}
    log.info("announced: %s", body["summary"])
    return body
