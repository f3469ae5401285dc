"""A throwaway platform for the end-to-end benchmarks: `make run`'s sandbox and Airflow in a temporary home.

Started by :class:`yunfleet.devenv.platform.LocalPlatform` exactly as ``make run`` starts it (the
sandbox's ``demo`` timings unless told otherwise), on free loopback ports, and driven only through
public interfaces: the Airflow REST API (:class:`yunfleet.airflow_api.AirflowApi`), the sandbox's
control API and the kubernetes client with the admin kubeconfig ``yunfleet kubeconfig`` prints.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from yunfleet.airflow_api import AirflowApi  # noqa: E402
from yunfleet.devenv.config import ADMIN_USER, DevSettings  # noqa: E402
from yunfleet.devenv.platform import LocalPlatform  # noqa: E402


class BenchPlatform:
    """The running platform: REST client, sandbox control calls, the environment for ``yunfleet``."""

    def __init__(self, local: LocalPlatform) -> None:
        self.local = local
        self.api = AirflowApi(local.settings.base_url, ADMIN_USER, local.password)
        self.control = httpx.Client(
            base_url=f"http://127.0.0.1:{local.settings.sandbox_http_port}/_sandbox",
            trust_env=False,
            timeout=30.0,
        )

    def sandbox(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.control.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def last_call_seq(self) -> int:
        return int(self.sandbox("GET", "/calls", params={"since": 0})["next"])

    def calls(self, since: int) -> list[dict[str, Any]]:
        return list(self.sandbox("GET", "/calls", params={"since": since})["calls"])

    def run_dag(self, dag_id: str, conf: dict[str, Any], timeout: float = 900) -> str:
        """Trigger (unpausing first) and follow a run; raises when it does not succeed."""
        return self.run_dags(dag_id, [conf], timeout)[0]

    def run_dags(self, dag_id: str, confs: list[dict[str, Any]], timeout: float = 900) -> list[str]:
        """Trigger one run per conf at once, then follow each; raises when one does not succeed."""
        self.api.wait_for_dag(dag_id)
        self.api.set_paused(dag_id, False)
        run_ids = [str(self.api.trigger(dag_id, conf=conf, note="bench").dag_run_id) for conf in confs]
        for run_id in run_ids:
            state = self.api.follow(dag_id, run_id, timeout_s=timeout, poll_s=1.0)
            if state != "success":
                raise RuntimeError(f"{dag_id} {run_id} ended {state}:\n{self.api.explain(dag_id, run_id)}")
        return run_ids

    def kubeconfig(self, cluster: str, path: Path) -> Path:
        out = subprocess.run(
            [str(Path(sys.executable).parent / "yunfleet"), "kubeconfig", cluster],
            env=dict(self.local.env),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        path.write_text(out.stdout)
        return path


@contextmanager
def bench_platform(timings: str = "demo", startup_timeout: float = 600) -> Iterator[BenchPlatform]:
    """Start sandbox + Airflow in a temporary home; stop both and remove the home on exit."""
    with tempfile.TemporaryDirectory(prefix="yunfleet-bench-") as home:
        settings = DevSettings.isolated(Path(home))
        local = LocalPlatform(settings, inherit_airflow_env=False, echo=lambda _line: None)
        local.env["SANDBOX_TIMINGS"] = timings
        started = time.monotonic()
        local.prepare()
        try:
            local.start_all(sandbox_timeout=60, airflow_timeout=startup_timeout)
            print(f"platform up in {time.monotonic() - started:.0f} s", flush=True)
            platform = BenchPlatform(local)
            yield platform
        finally:
            local.stop()
