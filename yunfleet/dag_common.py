"""What the provisioning DAG files share: the clusters asset, cloud retries, form params.

Imported at DAG parse time, so it imports nothing beyond ``airflow.sdk`` and ``include``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, Param

from include.provisioning.naming import CLUSTERS_ASSET_NAME, CLUSTERS_ASSET_URI
from include.provisioning.params import ParamSpec

#: the registry's clusters; provisioning and decommissioning emit events on it
CLUSTERS = Asset(name=CLUSTERS_ASSET_NAME, uri=CLUSTERS_ASSET_URI)

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
