"""The distributed platform: Airflow's CeleryExecutor topology of docker-compose.yaml, as processes.

The same components as the compose stack, each started on its own from this environment:
``airflow api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` and ``celery worker`` (one
worker node with ``worker_concurrency`` pool processes), PostgreSQL as the metadata DB and the
registry, Redis as the Celery broker, the sandbox as the cloud. Preparation, process handling and
the sandbox are :class:`~yunfleet.devenv.platform.LocalPlatform`'s; only the Airflow part differs,
and ``make run`` (``airflow standalone``) is untouched.

Used by the Celery integration test (tests/e2e/test_celery_executor.py) and by
``python -m yunfleet.devenv run --celery``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from yunfleet.devenv.bootstrap import REGISTRY_URL_VAR, ensure_database
from yunfleet.devenv.config import REPO_ROOT, DevSettings
from yunfleet.devenv.platform import LocalPlatform
from yunfleet.devenv.procs import ManagedProcess, StartupError, start, tail

DEFAULT_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"


@dataclass(frozen=True)
class CeleryTopology:
    """Where the distributed platform's shared services are, and how big its worker is.

    :param metadata_url: SQLAlchemy URL of Airflow's metadata DB (PostgreSQL, psycopg2 driver);
        also Celery's result backend (``db+`` prefix), as in docker-compose.yaml.
    :param registry_url: SQLAlchemy URL of the fleet registry and audit store (``yunfleet_db``).
    :param broker_url: Celery broker (``redis://host:port/db``).
    :param queue: the Celery queue every task goes to (``[operators] default_queue``) and the worker
        consumes; a unique one keeps two platforms on one broker apart.
    :param worker_concurrency: pool processes of the Celery worker (tasks it runs at once).
    :param worker_name: Celery node name of the worker (``name@host``).
    """

    metadata_url: str
    registry_url: str
    broker_url: str = DEFAULT_BROKER
    queue: str = "default"
    worker_concurrency: int = 2
    worker_name: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CeleryTopology:
        """Defaults for ``run --celery``, each overridable by an environment variable.

        ``YUNFLEET_POSTGRES_URL`` (server URL, default ``postgresql+psycopg2://postgres@127.0.0.1:5432``;
        databases ``yunfleet_airflow`` and ``yunfleet`` on it), ``YUNFLEET_BROKER_URL`` (default
        ``redis://127.0.0.1:6379/0``), ``YUNFLEET_CELERY_CONCURRENCY`` (default 2).
        """
        env = os.environ if environ is None else environ
        server = (env.get("YUNFLEET_POSTGRES_URL") or DEFAULT_POSTGRES).rstrip("/")
        raw = env.get("YUNFLEET_CELERY_CONCURRENCY") or "2"
        if not raw.isdigit() or int(raw) < 1:
            raise SystemExit(f"YUNFLEET_CELERY_CONCURRENCY must be a positive integer, got {raw!r}")
        return cls(
            metadata_url=f"{server}/yunfleet_airflow",
            registry_url=f"{server}/yunfleet",
            broker_url=env.get("YUNFLEET_BROKER_URL") or DEFAULT_BROKER,
            worker_concurrency=int(raw),
        )

    @property
    def node_name(self) -> str:
        """The worker's Celery node name (``--celery-hostname``)."""
        return self.worker_name or f"yunfleet-{self.queue}@{socket.gethostname()}"

    def airflow_env(self) -> dict[str, str]:
        """AIRFLOW__* settings that turn the local platform's airflow.cfg into this topology."""
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.metadata_url}",
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            REGISTRY_URL_VAR: self.registry_url,
        }

    def describe(self) -> dict[str, str]:
        """The topology with passwords hidden, for banners and reports."""
        hide = {"metadata_url": self.metadata_url, "registry_url": self.registry_url}
        shown = {k: make_url(v).render_as_string(hide_password=True) for k, v in hide.items()}
        return {**shown, "broker_url": self.broker_url, "queue": self.queue, "worker": self.node_name}


def celery_ping(broker_url: str, node_name: str, timeout: float = 2.0) -> bool:
    """Whether the Celery worker ``node_name`` answers a ping on ``broker_url`` (compose's health check)."""
    replies = celery_control(broker_url, node_name, "ping", timeout=timeout)
    return any(node_name in reply for reply in replies)


def celery_control(
    broker_url: str, node_name: str, command: str, timeout: float = 2.0
) -> list[dict[str, Any]]:
    """One ``celery inspect <command>`` (``ping``, ``stats``, ...) sent to ``node_name``; its replies."""
    from celery import Celery

    app = Celery("yunfleet-devenv", broker=broker_url, set_as_current=False)
    try:
        inspect = app.control.inspect(destination=[node_name], timeout=timeout)
        if command == "ping":
            replies = inspect.ping()
        else:
            replies = getattr(inspect, command)()
        return [{name: body} for name, body in (replies or {}).items()]
    finally:
        app.close()


class DistributedPlatform(LocalPlatform):
    """The sandbox plus Airflow's components as separate processes on the CeleryExecutor."""

    def __init__(
        self,
        settings: DevSettings,
        topology: CeleryTopology,
        *,
        inherit_airflow_env: bool = True,
        echo: Callable[[str], None] = print,
        sandbox_argv: list[str] | None = None,
    ) -> None:
        super().__init__(
            settings, inherit_airflow_env=inherit_airflow_env, echo=echo, sandbox_argv=sandbox_argv
        )
        self.topology = topology
        self.env.update(topology.airflow_env())
        self.components: dict[str, ManagedProcess] = {}

    def component_commands(self) -> dict[str, list[str]]:
        """Each component's ``airflow`` arguments, as docker-compose.yaml runs them."""
        t = self.topology
        worker = ["celery", "worker", "--concurrency", str(t.worker_concurrency), "--queues", t.queue]
        return {
            "api-server": ["api-server"],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer"],
            "celery-worker": [*worker, "--celery-hostname", t.node_name],
        }

    def component_log(self, name: str) -> Path:
        return self.settings.logs_dir / f"{name}.log"

    @property
    def airflow_log(self) -> Path:
        """The scheduler's log (the one that says what was queued where)."""
        return self.component_log("scheduler")

    def prepare(self) -> None:
        """Create the metadata database if missing, then what :meth:`LocalPlatform.prepare` does."""
        started = time.monotonic()
        outcome = ensure_database(self.topology.metadata_url)
        self.echo(f"  metadata database {self.topology.describe()['metadata_url']}: {outcome}")
        self.timings["metadata_database"] = time.monotonic() - started
        super().prepare()

    def start_airflow(self, timeout: float = 300) -> ManagedProcess:
        """Start every component and wait until all report healthy and the worker answers a ping."""
        airflow = str(self.bin_dir / "airflow")
        for name, argv in self.component_commands().items():
            self.components[name] = start(
                name, [airflow, *argv], env=self.env, log_path=self.component_log(name), cwd=REPO_ROOT
            )
        self.airflow = self.components["scheduler"]
        with self.api() as api:
            self.timings["airflow_ready"] = self._wait_all(
                lambda: self.airflow_healthy(api) and self.worker_ready(),
                timeout=timeout,
                what="every component healthy and the Celery worker answering",
            )
        return self.airflow

    def worker_ready(self) -> bool:
        return celery_ping(self.topology.broker_url, self.topology.node_name)

    def worker_stats(self) -> dict[str, Any]:
        """``celery inspect stats`` of the worker node: pool processes, tasks written to each, totals."""
        for reply in celery_control(self.topology.broker_url, self.topology.node_name, "stats", timeout=5):
            if self.topology.node_name in reply:
                return dict(reply[self.topology.node_name])
        raise StartupError(f"Celery worker {self.topology.node_name} did not answer 'inspect stats'")

    def _wait_all(self, ready: Callable[[], bool], *, timeout: float, what: str) -> float:
        started = time.monotonic()
        while True:
            dead = self.dead_process()
            if dead is not None:
                raise dead.failure(f"exited with code {dead.popen.returncode} before {what}")
            try:
                if ready():
                    return time.monotonic() - started
            except Exception:  # noqa: S110 - not ready yet (connection refused, partial start)
                pass
            if time.monotonic() - started > timeout:
                tails = "\n".join(
                    f"--- {p.log_path}\n{tail(p.log_path, 15)}" for p in self.components.values()
                )
                raise StartupError(f"not {what} within {timeout:.0f} s\n{tails}")
            time.sleep(1.0)

    def processes(self) -> list[ManagedProcess]:
        procs = list(self.components.values())
        return [*procs, self.sandbox] if self.sandbox is not None else procs

    def stop(self) -> None:
        """Stop the worker first (warm shutdown), then the other components, then the sandbox."""
        order = ["celery-worker", "scheduler", "triggerer", "dag-processor", "api-server"]
        for name in order:
            proc = self.components.pop(name, None)
            if proc is not None:
                proc.stop()
        for proc in self.components.values():
            proc.stop()
        self.components.clear()
        if self.sandbox is not None:
            self.sandbox.stop()
        self.airflow = self.sandbox = None

    def dead_process(self) -> ManagedProcess | None:
        for proc in self.processes():
            if not proc.running():
                return proc
        return None

    def banner(self) -> str:
        lines = [super().banner().replace("(airflow.log, ", "(one per component, ")]
        lines += ["  distributed (CeleryExecutor):"]
        lines += [f"    {key:<13}: {value}" for key, value in self.topology.describe().items()]
        return "\n".join(lines)


def distributed_settings(environ: Mapping[str, str] | None = None) -> DevSettings:
    """``make run``'s settings with its own home (``.yunfleet/celery``) unless YUNFLEET_HOME is set."""
    env = os.environ if environ is None else environ
    settings = DevSettings.from_env(env)
    if env.get("YUNFLEET_HOME"):
        return settings
    return settings.with_changes(home=(REPO_ROOT / ".yunfleet" / "celery").resolve())
