"""Where the ``yunfleet`` command finds the platform: Airflow home, connections, REST API.

The command reads the fleet registry through the ``yunfleet_db`` connection and the cluster URL
template through ``alibaba_cloud_default``, exactly as the DAGs do, so it must see the same Airflow
configuration. Outside ``make run`` point it elsewhere with ``AIRFLOW_HOME`` / ``YUNFLEET_HOME``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yunfleet.devenv.config import ADMIN_USER, DevSettings

DEFAULT_DB_CONN = "yunfleet_db"
DEFAULT_CLOUD_CONN = "alibaba_cloud_default"


class ConfigError(RuntimeError):
    """The environment does not say where the platform is (the command exits 3 with the message)."""


def prepare_environment() -> DevSettings:
    """Default ``AIRFLOW_HOME`` to the platform's, and read connections from its metadata DB.

    ``_AIRFLOW_PROCESS_CONTEXT=server`` selects Airflow's server-side secrets chain (environment
    variables, then the metadata DB), the one its own CLI and API server use.
    """
    settings = DevSettings.from_env()
    os.environ.setdefault("AIRFLOW_HOME", str(settings.airflow_home))
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    return settings


def open_registry(conn_id: str = DEFAULT_DB_CONN) -> Any:
    """The ``YunfleetRegistryHook`` for ``conn_id``, with its registry opened (schema checked).

    Raises :class:`ConfigError` when the connection is missing or the database cannot be opened.
    """
    from operators.hooks.registry import YunfleetRegistryHook

    hook = YunfleetRegistryHook(conn_id)
    try:
        _ = hook.registry
    except Exception as exc:
        raise ConfigError(f"cannot open the fleet registry via connection {conn_id!r}: {exc}") from exc
    return hook


@dataclass(frozen=True)
class CloudSettings:
    domain: str
    kube_server_template: str | None
    kube_ca_file: str | None


def cloud_settings(conn_id: str = DEFAULT_CLOUD_CONN) -> CloudSettings:
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # Airflow raises its own NotFound; the message is what matters
        raise ConfigError(f"connection {conn_id!r} is not defined ({exc}); run `make run` once") from exc
    extra: dict[str, Any] = conn.extra_dejson or {}
    domain = extra.get("dns_domain")
    return CloudSettings(
        domain=str(domain) if domain else "",
        kube_server_template=extra.get("kube_server_template") or None,
        kube_ca_file=extra.get("kube_ca_file") or None,
    )


def api_password(settings: DevSettings, username: str) -> str:
    """The password for ``username``: ``YUNFLEET_API_PASSWORD`` or Airflow's generated password file."""
    env = os.environ.get("YUNFLEET_API_PASSWORD")
    if env:
        return env
    path = Path(os.environ.get("AIRFLOW_HOME", settings.airflow_home)) / settings.password_file.name
    if not path.exists():
        path = settings.password_file
    try:
        passwords = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"no password for {username!r}: set YUNFLEET_API_PASSWORD or start the platform (`make run`) "
            f"so that {path} exists"
        ) from exc
    if username not in passwords:
        raise ConfigError(f"{path} has no password for {username!r}; set YUNFLEET_API_PASSWORD")
    return str(passwords[username])


def default_api_url(settings: DevSettings) -> str:
    return os.environ.get("YUNFLEET_API_URL") or settings.base_url


DEFAULT_API_USER = os.environ.get("YUNFLEET_API_USER", ADMIN_USER)
