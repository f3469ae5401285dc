"""DAG file import time, measured in a fresh interpreter on top of ``import airflow.sdk``.

This is what the DAG processor pays per file beyond its own imports, so it is what a DAG file's
top-level code must keep small. Used by the DAG integrity tests and by ``bench/dag_parse_time.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Runs in the child: baseline import first, then time only the DAG module's execution.
_PROBE = r"""
import importlib.util, json, sys, time
t0 = time.perf_counter()
c0 = time.process_time()
import airflow.sdk  # noqa: F401
if sys.argv[2] == "warm":
    from airflow.sdk import DAG, BaseOperator, Param, dag, task  # noqa: F401
t1 = time.perf_counter()
c1 = time.process_time()
spec = importlib.util.spec_from_file_location("yunfleet_parse_probe", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
t2 = time.perf_counter()
c2 = time.process_time()
print(json.dumps({"sdk_import_s": t1 - t0, "dag_import_s": t2 - t1, "dag_import_cpu_s": c2 - c1}))
"""


@dataclass(frozen=True)
class ParseTiming:
    """Seconds to import one DAG file (all samples) and the ``airflow.sdk`` import itself (best)."""

    path: str
    samples: tuple[float, ...]
    sdk_import_s: float
    #: CPU seconds of the same imports (``time.process_time``): what the file costs, whatever else
    #: the machine is doing (wall-clock samples grow with the load)
    cpu_samples: tuple[float, ...] = ()

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu_samples) if self.cpu_samples else self.best

    @property
    def median(self) -> float:
        ordered = sorted(self.samples)
        return ordered[len(ordered) // 2]


def probe_env(airflow_home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A quiet, isolated environment for the probe: its own AIRFLOW_HOME, no examples."""
    env = dict(os.environ if base is None else base)
    env.update({"AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    return env


def measure_dag_import(
    path: Path,
    *,
    repeats: int = 3,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    warm: bool = False,
) -> ParseTiming:
    """Import ``path`` ``repeats`` times, each in a new interpreter; raise with stderr on failure.

    ``warm=True`` also resolves the common authoring names (``DAG``, ``dag``, ``task``, ``Param``,
    ``BaseOperator``; ``airflow.sdk`` loads them lazily) before the clock starts, isolating the
    file's own cost from what the first DAG file in a process pays for the SDK definitions.
    """
    samples = []
    cpu = []
    sdk = []
    with tempfile.TemporaryDirectory(prefix="yunfleet-parse-") as home:
        run_env = dict(env) if env is not None else probe_env(Path(home))
        for _ in range(repeats):
            result = subprocess.run(
                [sys.executable, "-c", _PROBE, str(path), "warm" if warm else "cold"],
                env=run_env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"importing {path} failed:\n{result.stderr[-2000:]}")
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            samples.append(float(figures["dag_import_s"]))
            cpu.append(float(figures["dag_import_cpu_s"]))
            sdk.append(float(figures["sdk_import_s"]))
    return ParseTiming(path=str(path), samples=tuple(samples), sdk_import_s=min(sdk), cpu_samples=tuple(cpu))
