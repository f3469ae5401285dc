"""What every Yunfleet DAG file shares: the start date, the clusters asset, cloud retries, form params.

Imported at DAG parse time, so it imports nothing beyond ``airflow.sdk`` and ``include``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, Param

from include.fleet.contract import (
    CLUSTERS_ASSET_NAME,
    CLUSTERS_ASSET_URI,
    ZONES_ASSET_NAME,
    ZONES_ASSET_URI,
)
from include.provisioning.params import ParamSpec

#: static, timezone-aware start date of every Yunfleet DAG (they run from triggers and schedules)
START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

#: the registry's clusters; provisioning and decommissioning emit events on it
CLUSTERS = Asset(name=CLUSTERS_ASSET_NAME, uri=CLUSTERS_ASSET_URI)

#: zone states; zone health and failover emit events on it, ``register_services`` follows them
ZONES = Asset(name=ZONES_ASSET_NAME, uri=ZONES_ASSET_URI)

#: Airflow retries for tasks that call the cloud (on top of the hooks' own retries)
CLOUD_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=2),
}


def as_param(spec: ParamSpec) -> Param:
    """A trigger-form ``Param`` for one parameter spec (required ones have no default)."""
    schema = {k: v for k, v in spec.schema.items() if k != "description"}
    if spec.required:
        return Param(description=spec.description, **schema)
    return Param(spec.default, description=spec.description, **schema)


def params_from(specs: dict[str, ParamSpec]) -> dict[str, Param]:
    """The DAG's ``params`` from its parameter specs (one schema for the form, the REST API and the CLI)."""
    return {name: as_param(spec) for name, spec in specs.items()}
