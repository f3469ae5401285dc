"""Defaults shared by operators and sensors, read once from Airflow's configuration."""

from __future__ import annotations

from airflow.configuration import conf

#: ``[operators] default_deferrable``: wait in the triggerer unless a task says otherwise.
DEFAULT_DEFERRABLE: bool = conf.getboolean("operators", "default_deferrable", fallback=False)
