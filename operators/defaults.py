"""Defaults shared by operators, sensors and triggers (``default_deferrable`` from Airflow's config)."""

from __future__ import annotations

from airflow.configuration import conf

#: ``[operators] default_deferrable``: wait in the triggerer unless a task says otherwise.
DEFAULT_DEFERRABLE: bool = conf.getboolean("operators", "default_deferrable", fallback=False)

#: The connections every Yunfleet hook is built from, unless a task names others.
ALIBABA_CLOUD_CONN_ID = "alibaba_cloud_default"
YUNFLEET_DB_CONN_ID = "yunfleet_db"
