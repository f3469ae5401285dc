"""Prepare, start and stop the local platform: the sandbox and ``airflow standalone``.

``python -m yunfleet.devenv`` (``make run``) drives one :class:`LocalPlatform` with the default
settings; the e2e test fixture drives another with a temporary home and free ports.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from yunfleet.devenv.config import (
    ADMIN_USER,
    REPO_ROOT,
    DevSettings,
    ensure_admin_password,
    process_env,
    write_airflow_cfg,
    write_local_settings,
)
from yunfleet.devenv.ports import port_in_use
from yunfleet.devenv.procs import ManagedProcess, StartupError, run_checked, start, wait_until

if TYPE_CHECKING:
    from yunfleet.airflow_api import AirflowApi

AIRFLOW_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def sandbox_available() -> bool:
    """Whether the sandbox package ships its server entry point (``python -m sandbox``)."""
    return importlib.util.find_spec("sandbox.__main__") is not None


class LocalPlatform:
    """Prepare, start and stop the sandbox and Airflow for one :class:`DevSettings`."""

    def __init__(
        self,
        settings: DevSettings,
        *,
        inherit_airflow_env: bool = True,
        echo: Callable[[str], None] = print,
        sandbox_argv: list[str] | None = None,
    ) -> None:
        self.settings = settings
        command = os.environ.get("YUNFLEET_SANDBOX_COMMAND")
        self.sandbox_argv = sandbox_argv or (shlex.split(command) if command else None)
        self.env = process_env(settings, inherit_airflow_env=inherit_airflow_env)
        self.echo = echo
        self.sandbox: ManagedProcess | None = None
        self.airflow: ManagedProcess | None = None
        self.password = ""
        self.timings: dict[str, float] = {}

    @property
    def bin_dir(self) -> Path:
        return Path(sys.executable).parent

    @property
    def sandbox_log(self) -> Path:
        return self.settings.logs_dir / "sandbox.log"

    @property
    def airflow_log(self) -> Path:
        return self.settings.logs_dir / "airflow.log"

    @property
    def setup_log(self) -> Path:
        return self.settings.logs_dir / "setup.log"

    def prepare(self) -> None:
        """State dir, airflow.cfg, admin password, DB migration, connections and pools."""
        s = self.settings
        for path in (s.home, s.airflow_home, s.logs_dir, s.sandbox_dir):
            path.mkdir(parents=True, exist_ok=True)
        write_airflow_cfg(s)
        write_local_settings(s)
        self.password = ensure_admin_password(s)
        started = time.monotonic()
        run_checked(
            [str(self.bin_dir / "airflow"), "db", "migrate"],
            env=self.env,
            cwd=REPO_ROOT,
            log_path=self.setup_log,
            timeout=600,
            what="airflow db migrate",
        )
        self.timings["db_migrate"] = time.monotonic() - started
        started = time.monotonic()
        out = run_checked(
            [sys.executable, "-m", "yunfleet.devenv.bootstrap"],
            env=self.env,
            cwd=REPO_ROOT,
            log_path=self.setup_log,
            timeout=300,
            what="creating connections and pools",
        )
        self.timings["bootstrap"] = time.monotonic() - started
        for line in out.splitlines():
            if line.startswith(("connection ", "pool ", "registry ")):
                self.echo(f"  {line}")

    def check_ports(self) -> None:
        s = self.settings
        ports = {
            "api": s.api_port,
            "sandbox http": s.sandbox_http_port,
            "sandbox kube": s.sandbox_kube_port,
            "worker log server": s.worker_log_port,
            "trigger log server": s.trigger_log_port,
        }
        busy = [f"{name} port {port}" for name, port in ports.items() if port_in_use(port)]
        if busy:
            raise StartupError(
                f"already in use on 127.0.0.1: {', '.join(busy)} (is another `make run` up? "
                "set YUNFLEET_API_PORT / SANDBOX_HTTP_PORT / ... to move)"
            )

    def start_sandbox(self, timeout: float = 60) -> ManagedProcess | None:
        """Start ``python -m sandbox`` and wait for ``/_sandbox/health``; None if it is not there yet."""
        argv = self.sandbox_argv or [sys.executable, "-m", "sandbox"]
        if self.sandbox_argv is None and not sandbox_available():
            self.echo(
                "sandbox: not available yet (sandbox/__main__.py is missing); "
                "starting Airflow without a local cloud"
            )
            return None
        proc = start("sandbox", argv, env=self.env, log_path=self.sandbox_log, cwd=REPO_ROOT)
        self.sandbox = proc
        health = f"{self.settings.sandbox_url}/_sandbox/health"
        self.timings["sandbox_ready"] = wait_until(
            proc,
            lambda: httpx.get(health, timeout=2).status_code == 200,
            timeout=timeout,
            what="answering GET /_sandbox/health",
        )
        return proc

    def start_airflow(self, timeout: float = 300) -> ManagedProcess:
        """Start ``airflow standalone`` and wait until every component reports healthy."""
        proc = start(
            "airflow standalone",
            [str(self.bin_dir / "airflow"), "standalone"],
            env=self.env,
            log_path=self.airflow_log,
            cwd=REPO_ROOT,
        )
        self.airflow = proc
        with self.api() as api:
            self.timings["airflow_ready"] = wait_until(
                proc,
                lambda: self.airflow_healthy(api),
                timeout=timeout,
                what="all components healthy",
                interval=1.0,
            )
        return proc

    def api(self) -> AirflowApi:
        """A REST client for this platform's API server, logged in as the admin on first use.

        The caller closes it. Needs :meth:`prepare` first (it sets the admin password).
        """
        from yunfleet.airflow_api import AirflowApi  # about 2 s to import; only when Airflow starts

        return AirflowApi(self.settings.base_url, ADMIN_USER, self.password, timeout_s=5.0)

    @staticmethod
    def airflow_healthy(api: AirflowApi) -> bool:
        """Whether every Airflow component reports ``healthy`` (``GET /api/v2/monitor/health``)."""
        health = api.health()
        return all(health.get(c) == "healthy" for c in AIRFLOW_COMPONENTS)

    def start_all(self, *, sandbox_timeout: float = 60, airflow_timeout: float = 300) -> None:
        """Start the sandbox, then Airflow; on failure stop whatever was started and re-raise."""
        try:
            self.check_ports()
            self.start_sandbox(sandbox_timeout)
            self.start_airflow(airflow_timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for proc in (self.airflow, self.sandbox):
            if proc is not None:
                proc.stop()
        self.airflow = self.sandbox = None

    def dead_process(self) -> ManagedProcess | None:
        for proc in (self.airflow, self.sandbox):
            if proc is not None and not proc.running():
                return proc
        return None

    def banner(self) -> str:
        s = self.settings
        lines = [
            "",
            "Yunfleet is up.",
            f"  Airflow UI and REST API : {s.base_url}   (user '{ADMIN_USER}')",
            f"  admin password file     : {s.password_file}",
            f"  Fleet view              : {s.base_url}/yunfleet/   (JSON API: {s.base_url}/yunfleet/api/)",
            f"  callback HMAC secret    : {s.callback_secret_file}   (connection yunfleet_callback)",
        ]
        if self.sandbox is not None:
            lines += [
                f"  sandbox cloud endpoint  : {s.sandbox_url}   (AccessKeyId sandbox-ak)",
                f"  sandbox Kubernetes API  : https://127.0.0.1:{s.sandbox_kube_port}/k8s/<cluster>",
                f"  sandbox DNS             : 127.0.0.1:{s.sandbox_dns_port} (udp+tcp)",
            ]
        lines += [
            f"  logs                    : {s.logs_dir}/ (airflow.log, sandbox.log, setup.log)",
            f"  state                   : {s.home}/",
            '  airflow CLI             : eval "$(.venv/bin/python -m yunfleet.devenv env)"',
            "DAGs are paused at creation: unpause one in the UI (or PATCH is_paused) before it runs.",
            "Press Ctrl-C to stop everything.",
        ]
        return "\n".join(lines)
