"""Operator, sensor and trigger modules import without the SDKs, the kubernetes client or the hooks.

DAG files import these modules at parse time, so they must stay light: the heavy modules load only
when a task runs. Each module is imported in a fresh interpreter and ``sys.modules`` is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from yunfleet.devenv.config import REPO_ROOT

LIGHT_MODULES = [
    "operators.ecs",
    "operators.slb",
    "operators.dns",
    "operators.kubernetes",
    "operators.sensors.ecs",
    "operators.sensors.kubernetes",
    "operators.triggers.ecs",
    "operators.triggers.kubernetes",
]

HEAVY_MODULES = [
    "alibabacloud_ecs20140526.client",
    "alibabacloud_slb20140515.client",
    "alibabacloud_alidns20150109.client",
    "alibabacloud_tea_openapi",
    "kubernetes.client",
    "airflow.providers.cncf.kubernetes.hooks.kubernetes",
    "alembic",
    "operators.hooks.base_alibaba",
    "operators.hooks.kubernetes",
    "operators.hooks.registry",
]

PROBE = """
import json, sys
import airflow.sdk
import {module}
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(module: str) -> set[str]:
    """``sys.modules`` of a fresh interpreter after ``import airflow.sdk; import <module>``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_module_imports_without_heavy_dependencies(module: str) -> None:
    loaded = modules_loaded_by(module)
    assert module in loaded
    assert [name for name in HEAVY_MODULES if name in loaded] == []
    if ".triggers." not in module:
        # operators and sensors import their trigger (and airflow.triggers) only when they defer
        assert "operators.triggers.base" not in loaded


def test_probe_detects_a_heavy_import() -> None:
    """The hook module itself does load the heavy dependencies, so the check above can fail."""
    loaded = modules_loaded_by("operators.hooks.kubernetes")
    assert {"kubernetes.client", "airflow.providers.cncf.kubernetes.hooks.kubernetes"} <= loaded


DAG_PROBE = """
import importlib.util, json, sys
import airflow.sdk
spec = importlib.util.spec_from_file_location("yunfleet_dag_probe", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("dag_file", sorted((REPO_ROOT / "dags").glob("*.py")), ids=lambda p: p.name)
def test_dag_files_parse_without_heavy_modules(dag_file, tmp_path) -> None:
    """What a DAG file costs the DAG processor on every parse: none of the SDK clients, the kubernetes
    client, the hooks or Great Expectations (their parse time is measured by bench/dag_parse_time.py)."""
    import os

    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run(
        [sys.executable, "-c", DAG_PROBE.format(path=str(dag_file))],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    heavy = sorted(m for m in [*HEAVY_MODULES, "great_expectations"] if m in loaded)
    assert heavy == [], f"{dag_file.name} imports {heavy} at parse time; move them into the tasks"
