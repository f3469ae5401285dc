"""The zone-events asset, with its watcher: imported by the DAG files that announce or follow zone changes.

Apart from :mod:`flows.defaults` so that the other DAG files do not import the trigger module at parse
time. The watcher (:class:`operators.triggers.zones.ZoneHealthTrigger`) probes the fleet every 5 s in
the triggerer; the scheduled ``zone_health`` run announces on the same asset every minute.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetWatcher

from include.fleet.contract import ZONE_EVENTS_ASSET_NAME, ZONE_EVENTS_ASSET_URI
from operators.triggers.zones import ZoneHealthTrigger

#: the probe interval of the watcher (zone health's ``probe_interval_s`` default)
WATCH_INTERVAL_S = 5.0

ZONE_EVENTS = Asset(
    name=ZONE_EVENTS_ASSET_NAME,
    uri=ZONE_EVENTS_ASSET_URI,
    watchers=[AssetWatcher(name="zone_health", trigger=ZoneHealthTrigger(poll_interval=WATCH_INTERVAL_S))],
)
