"""Integrity checks for every DAG file in dags/: imports, authoring rules, parse time.

A task "calls a cloud API" when it runs in one of the API-rate pools (docs/conventions.md): that is
how a task declares it, and every such task must retry transient failures (retries >= 2).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from yunfleet.devenv.config import POOLS, REPO_ROOT

DAGS_DIR = REPO_ROOT / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if p.name != "__init__.py")

# DAG ids are a contract (ARCHITECTURE.md); smoke_* DAGs exercise the platform until real DAGs exist.
CONTRACT_DAG_IDS = {
    "provision_cluster",
    "decommission_cluster",
    "reconcile_capacity",
    "zone_health",
    "zone_failover",
    "register_services",
}
MUTATING_DAG_IDS = CONTRACT_DAG_IDS - {"zone_health"}
MIN_CLOUD_RETRIES = 2

pytestmark = pytest.mark.parametrize("dag_file", DAG_FILES, ids=[p.name for p in DAG_FILES])


@cache
def _dagbag(dag_file: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(dag_file), safe_mode=False)


def _dags(dag_file: Path):
    bag = _dagbag(dag_file)
    if bag.import_errors:
        pytest.fail(f"{dag_file.name} does not import: {bag.import_errors}", pytrace=False)
    return list(bag.dags.values())


def test_imports_and_defines_a_dag(dag_file):
    bag = _dagbag(dag_file)
    assert bag.import_errors == {}
    assert bag.dags, f"{dag_file.name} defines no DAG"


def test_dag_ids_are_known(dag_file):
    for dag in _dags(dag_file):
        assert dag.dag_id in CONTRACT_DAG_IDS or dag.dag_id.startswith("smoke_"), (
            f"{dag.dag_id} is not one of the contract DAG ids {sorted(CONTRACT_DAG_IDS)}"
        )


def test_authoring_rules(dag_file):
    from airflow.configuration import conf

    default_owner = conf.get("operators", "default_owner")
    for dag in _dags(dag_file):
        assert dag.tags, f"{dag.dag_id}: no tags"
        assert (dag.doc_md or "").strip(), f"{dag.dag_id}: no doc_md"
        assert dag.catchup is False, f"{dag.dag_id}: catchup must be False"
        for task in dag.tasks:
            assert task.owner and task.owner != default_owner, (
                f"{dag.dag_id}.{task.task_id}: owner must be set (got {task.owner!r})"
            )


def test_cloud_calling_tasks_retry(dag_file):
    for dag in _dags(dag_file):
        for task in dag.tasks:
            if task.pool in POOLS:
                assert (task.retries or 0) >= MIN_CLOUD_RETRIES, (
                    f"{dag.dag_id}.{task.task_id} runs in pool {task.pool} (calls a cloud API) "
                    f"but has retries={task.retries}; needs >= {MIN_CLOUD_RETRIES}"
                )


def test_mutating_dags_take_ticket_and_dry_run(dag_file):
    for dag in _dags(dag_file):
        if dag.dag_id in MUTATING_DAG_IDS:
            missing = {"ticket_id", "dry_run"} - set(dag.params.keys())
            assert not missing, f"{dag.dag_id}: missing params {sorted(missing)}"


def test_mutating_dags_check_their_conf_first(dag_file):
    """Every root task of a mutating DAG is a ``flows.run.entry``: undeclared conf keys stop the run there."""
    for dag in _dags(dag_file):
        if dag.dag_id in MUTATING_DAG_IDS:
            roots = [t for t in dag.tasks if not t.upstream_task_ids]
            assert roots, f"{dag.dag_id}: no root task"
            for root in roots:
                assert getattr(getattr(root, "python_callable", None), "yunfleet_entry", False), (
                    f"{dag.dag_id}.{root.task_id} is a root task but not a flows.run.entry"
                )


def test_task_code_lives_in_the_flows_module_named_after_the_dag(dag_file):
    """A reader finds task X of DAG Y as function X in flows/Y.py (sensors and operators excepted)."""
    for dag in _dags(dag_file):
        if dag.dag_id not in CONTRACT_DAG_IDS:
            continue
        for task in dag.tasks:
            fn = getattr(task, "python_callable", None)
            if fn is None:
                continue
            fn = getattr(fn, "__wrapped__", fn)
            assert fn.__module__ == f"flows.{dag.dag_id}" or fn.__module__ == "flows.run", (
                f"{dag.dag_id}.{task.task_id} runs {fn.__module__}.{fn.__name__}"
            )
            assert fn.__name__ == task.task_id, f"{dag.dag_id}.{task.task_id} runs {fn.__name__}"
