"""Where the ``yunfleet`` command finds the platform: the Airflow API address and a login.

The command needs nothing else (no registry database, no Airflow configuration): by default the
local platform of ``make run`` (its address and its generated admin password file); elsewhere
``YUNFLEET_API_URL``, ``YUNFLEET_API_USER`` and ``YUNFLEET_API_PASSWORD``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from yunfleet.devenv.config import ADMIN_USER, DevSettings


class ConfigError(RuntimeError):
    """The environment does not say where the platform is (the command exits 3 with the message)."""


def prepare_environment() -> DevSettings:
    """The local platform's settings (address, home); ``AIRFLOW_HOME`` defaults to its Airflow home,
    where the generated admin password file is."""
    settings = DevSettings.from_env()
    os.environ.setdefault("AIRFLOW_HOME", str(settings.airflow_home))
    return settings


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
