"""Sandbox settings read from the environment (ports, state dir, timings, seed, quota window)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Timings:
    """Seconds an ECS instance spends in each transitional state."""

    name: str
    pending_s: float
    starting_s: float
    stopping_s: float


TIMINGS = {
    "fast": Timings("fast", pending_s=0.1, starting_s=0.2, stopping_s=0.2),
    "demo": Timings("demo", pending_s=2.0, starting_s=4.0, stopping_s=3.0),
}


class SettingsError(ValueError):
    """An environment variable of the sandbox has an unusable value."""


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _names_env(name: str) -> tuple[str, ...]:
    names = tuple(part.strip().lower() for part in os.environ.get(name, "").split(",") if part.strip())
    for host in names:
        if not all(_DNS_LABEL.match(label) for label in host.split(".")):
            raise SettingsError(f"{name} must be comma-separated DNS names, got {host!r}")
    return names


@dataclass(frozen=True)
class Settings:
    host: str
    http_port: int
    kube_port: int
    dns_port: int
    state_dir: Path
    timings: Timings
    seed: int
    tick_ms: int
    quota_window_s: float = 60.0
    #: extra DNS names of the Kubernetes API's serving certificate (``SANDBOX_TLS_NAMES``, comma-separated),
    #: for clients that reach the sandbox by a host name (the ``sandbox`` service of docker-compose.yaml)
    tls_names: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("YUNFLEET_HOME") or ".yunfleet")
        state_dir = Path(os.environ.get("SANDBOX_STATE_DIR") or home / "sandbox").absolute()
        timings_name = os.environ.get("SANDBOX_TIMINGS", "demo").strip() or "demo"
        if timings_name not in TIMINGS:
            raise SettingsError(f"SANDBOX_TIMINGS must be one of {', '.join(TIMINGS)}, got {timings_name!r}")
        raw_window = os.environ.get("SANDBOX_QUOTA_WINDOW_S", "").strip() or "60"
        try:
            quota_window_s = float(raw_window)
        except ValueError as exc:
            raise SettingsError(
                f"SANDBOX_QUOTA_WINDOW_S must be a number of seconds, got {raw_window!r}"
            ) from exc
        if not 0.1 <= quota_window_s <= 3600:
            raise SettingsError(f"SANDBOX_QUOTA_WINDOW_S must be from 0.1 to 3600, got {raw_window}")
        tick_ms = _int_env("SANDBOX_TICK_MS", 100)
        if tick_ms < 10:
            raise SettingsError(f"SANDBOX_TICK_MS must be at least 10, got {tick_ms}")
        return cls(
            host=os.environ.get("SANDBOX_HOST", "127.0.0.1").strip() or "127.0.0.1",
            http_port=_int_env("SANDBOX_HTTP_PORT", 8470),
            kube_port=_int_env("SANDBOX_KUBE_PORT", 8471),
            dns_port=_int_env("SANDBOX_DNS_PORT", 8453),
            state_dir=state_dir,
            timings=TIMINGS[timings_name],
            seed=_int_env("SANDBOX_SEED", 0),
            tick_ms=tick_ms,
            quota_window_s=quota_window_s,
            tls_names=_names_env("SANDBOX_TLS_NAMES"),
        )
