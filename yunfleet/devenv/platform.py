"""The local Yunfleet platform: sandbox + ``airflow standalone``, as started by ``make run``.

Subcommands (``python -m yunfleet.devenv <cmd>``):

- ``prepare``: state dir, airflow.cfg, metadata DB migration, connections, pools (idempotent).
- ``run``: ``prepare``, then start the sandbox and Airflow, print where things are, stop on Ctrl-C.
- ``env``: print ``export`` lines for using the ``airflow`` CLI against the local platform.

The e2e test fixture drives the same :class:`LocalPlatform` with a temporary home and free ports.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import httpx

from yunfleet.devenv_config import (
    ADMIN_USER,
    REPO_ROOT,
    DevSettings,
    ensure_admin_password,
    process_env,
    write_airflow_cfg,
)
from yunfleet.devenv_procs import ManagedProcess, StartupError, run_checked, start, wait_until

AIRFLOW_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def sandbox_available() -> bool:
    """Whether the sandbox package ships its server entry point (``python -m sandbox``)."""
    return importlib.util.find_spec("sandbox.__main__") is not None


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class LocalPlatform:
    """Prepare, start and stop the sandbox and Airflow for one :class:`DevSettings`."""

    def __init__(self, settings: DevSettings, *, inherit_airflow_env: bool = True,
                 echo: Callable[[str], None] = print, sandbox_argv: list[str] | None = None) -> None:
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
        self.password = ensure_admin_password(s)
        started = time.monotonic()
        run_checked([str(self.bin_dir / "airflow"), "db", "migrate"], env=self.env, cwd=REPO_ROOT,
                    log_path=self.setup_log, timeout=600, what="airflow db migrate")
        self.timings["db_migrate"] = time.monotonic() - started
        started = time.monotonic()
        out = run_checked([sys.executable, "-m", "yunfleet.devenv_bootstrap"], env=self.env,
                          cwd=REPO_ROOT, log_path=self.setup_log, timeout=300,
                          what="creating connections and pools")
        self.timings["bootstrap"] = time.monotonic() - started
        for line in out.splitlines():
            if line.startswith(("connection ", "pool ", "registry ")):
                self.echo(f"  {line}")

    def check_ports(self) -> None:
        s = self.settings
        ports = {"api": s.api_port, "sandbox http": s.sandbox_http_port, "sandbox kube": s.sandbox_kube_port,
                 "worker log server": s.worker_log_port, "trigger log server": s.trigger_log_port}
        busy = [f"{name} port {port}" for name, port in ports.items() if _port_in_use(port)]
        if busy:
            raise StartupError(
                f"already in use on 127.0.0.1: {', '.join(busy)} (is another `make run` up? "
                "set YUNFLEET_API_PORT / SANDBOX_HTTP_PORT / ... to move)"
            )

    def start_sandbox(self, timeout: float = 60) -> ManagedProcess | None:
        """Start ``python -m sandbox`` and wait for ``/_sandbox/health``; None if it is not there yet."""
        argv = self.sandbox_argv or [sys.executable, "-m", "sandbox"]
        if self.sandbox_argv is None and not sandbox_available():
            self.echo("sandbox: not available yet (sandbox/__main__.py is missing); "
                      "starting Airflow without a local cloud")
            return None
        proc = start("sandbox", argv, env=self.env,
                     log_path=self.sandbox_log, cwd=REPO_ROOT)
        self.sandbox = proc
        health = f"{self.settings.sandbox_url}/_sandbox/health"
        self.timings["sandbox_ready"] = wait_until(
            proc, lambda: httpx.get(health, timeout=2).status_code == 200, timeout=timeout,
            what="answering GET /_sandbox/health",
        )
        return proc

    def start_airflow(self, timeout: float = 300) -> ManagedProcess:
        """Start ``airflow standalone`` and wait until every component reports healthy."""
        proc = start("airflow standalone", [str(self.bin_dir / "airflow"), "standalone"], env=self.env,
                     log_path=self.airflow_log, cwd=REPO_ROOT)
        self.airflow = proc
        self.timings["airflow_ready"] = wait_until(
            proc, self.airflow_healthy, timeout=timeout, what="all components healthy", interval=1.0
        )
        return proc

    def airflow_healthy(self) -> bool:
        resp = httpx.get(f"{self.settings.base_url}/api/v2/monitor/health", timeout=5)
        if resp.status_code != 200:
            return False
        body = resp.json()
        return all((body.get(c) or {}).get("status") == "healthy" for c in AIRFLOW_COMPONENTS)

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
            "  airflow CLI             : eval \"$(.venv/bin/python -m yunfleet.devenv env)\"",
            "DAGs are paused at creation: unpause one in the UI (or PATCH is_paused) before it runs.",
            "Press Ctrl-C to stop everything.",
        ]
        return "\n".join(lines)


def _run(settings: DevSettings) -> int:
    platform = LocalPlatform(settings)
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print(f"Preparing {settings.home} ...", flush=True)
        platform.prepare()
        print(f"Starting the sandbox and Airflow (follow: tail -f {platform.airflow_log}) ...", flush=True)
        platform.start_all()
        print(platform.banner(), flush=True)
        while (dead := platform.dead_process()) is None:
            time.sleep(1)
        print(dead.failure(f"exited unexpectedly (code {dead.popen.returncode})"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        return 0
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        platform.stop()
        print("Stopped.", flush=True)


def _print_env(settings: DevSettings) -> int:
    env = process_env(settings)
    names = ["AIRFLOW_HOME", "YUNFLEET_HOME", "YUNFLEET_API_HOST", "YUNFLEET_API_PORT",
             "YUNFLEET_WORKER_LOG_PORT", "YUNFLEET_TRIGGER_LOG_PORT", "SANDBOX_STATE_DIR",
             "SANDBOX_HTTP_PORT", "SANDBOX_KUBE_PORT", "SANDBOX_DNS_PORT", "NO_PROXY", "no_proxy"]
    for name in names:
        print(f"export {name}={shlex.quote(env[name])}")
    print("unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy")
    print(f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:\"$PATH\"")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yunfleet.devenv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="create state, config, DB, connections and pools")
    sub.add_parser("run", help="prepare, then run the sandbox and airflow standalone until Ctrl-C")
    sub.add_parser("env", help="print shell exports for the airflow CLI against this platform")
    args = parser.parse_args(argv)
    settings = DevSettings.from_env()
    if args.command == "prepare":
        try:
            LocalPlatform(settings).prepare()
        except StartupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "env":
        return _print_env(settings)
    return _run(settings)


if __name__ == "__main__":
    sys.exit(main())
