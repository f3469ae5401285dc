"""A deferred sensor's trigger runs in a real ``airflow triggerer`` process.

A throwaway AIRFLOW_HOME with a migrated SQLite metadata DB holds one DAG with a deferrable
``EcsInstancesRunningSensor``. A child process runs the DAG with ``dag.test()`` but with inline
trigger execution switched off, so the task defers and its Trigger row waits in the DB; a real
``airflow triggerer`` process must pick the trigger up, run it against the sandbox and fire the
event that resumes the task.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.building_blocks import alibaba_conn_json
from tests.operators.builders import make_hook, security_group, spec

REPO = Path(__file__).resolve().parents[3]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))

DAG = """
from __future__ import annotations
import pendulum
from airflow.sdk import DAG
from operators.sensors.ecs import EcsInstancesRunningSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
with DAG("triggerer_probe", start_date=START, schedule=None, catchup=False, tags=["test"]):
    EcsInstancesRunningSensor(
        task_id="wait_running", instance_ids={ids!r}, deferrable=True, poll_interval=0.3, max_attempts=200
    )
"""

RUNNER = """
import airflow.sdk.definitions.dag as dagmod
from airflow.dag_processing.dagbag import DagBag

original = dagmod._run_task
dagmod._run_task = lambda **kw: original(**{**kw, "run_triggerer": False})  # only the triggerer may run it
bag = DagBag(dag_folder=%r, safe_mode=False)
assert not bag.import_errors, bag.import_errors
run = bag.get_dag("triggerer_probe").test()
print("RUN_STATE", run.state, flush=True)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(home: Path, sandbox: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


@pytest.mark.timeout(300)
def test_trigger_fires_in_a_real_triggerer(
    cloud_env: Any, audit_store: Any, task_context: Any, tmp_path: Path
) -> None:
    hook = make_hook(audit_store, task_context)
    ids = hook.ensure_instances(spec(security_group(hook), 2)).instance_ids
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "triggerer_probe.py").write_text(textwrap.dedent(DAG.format(ids=ids)))
    env = _env(home, cloud_env)
    subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, cwd=REPO, check=True, capture_output=True, timeout=180
    )
    # The connection lives in the metadata DB, as in a deployment: the trigger reads it through the triggerer.
    subprocess.run(
        [AIRFLOW, "connections", "add", "alibaba_cloud_default", "--conn-json", alibaba_conn_json(cloud_env)],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )

    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER % str(home / "dags")],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    triggerer_log = (tmp_path / "triggerer.log").open("w")
    triggerer: subprocess.Popen[bytes] | None = None
    try:
        # Wait until the task has deferred and its trigger sits in the DB, unassigned.
        db = home / "airflow.db"
        deadline = time.monotonic() + 120
        deferred = None
        while time.monotonic() < deadline and deferred is None:
            time.sleep(0.5)
            assert runner.poll() is None, runner.stdout.read() if runner.stdout else ""
            if db.exists():
                with sqlite3.connect(db, timeout=10) as conn:
                    deferred = conn.execute(
                        "select t.classpath, t.kwargs from task_instance ti "
                        "join trigger t on t.id = ti.trigger_id "
                        "where ti.task_id = 'wait_running' and ti.state = 'deferred'"
                    ).fetchone()
        assert deferred is not None, "the sensor never deferred"
        assert deferred[0] == "operators.triggers.ecs.EcsInstancesRunningTrigger"

        mark = cloud_env.calls()["next"]
        triggerer = subprocess.Popen(
            [AIRFLOW, "triggerer"], env=env, cwd=REPO, stdout=triggerer_log, stderr=subprocess.STDOUT
        )
        out, _ = runner.communicate(timeout=180)
        assert "RUN_STATE success" in out, out[-3000:]
        with sqlite3.connect(home / "airflow.db", timeout=10) as conn:
            (state,) = conn.execute(
                "select state from task_instance where task_id = 'wait_running'"
            ).fetchone()
            xcom = conn.execute(
                "select value from xcom where task_id = 'wait_running' and key = 'return_value'"
            ).fetchone()
            triggers_left = conn.execute("select count(*) from trigger").fetchone()[0]
        assert state == "success" and triggers_left == 0
        assert sorted(json.loads(xcom[0])) == sorted(ids)
        # while the task was deferred only the triggerer could poll the cloud
        polls = [c for c in cloud_env.calls(mark)["calls"] if c["action"] == "DescribeInstances"]
        assert polls and all(json.loads(p["params"]["InstanceIds"]) == ids for p in polls)
    finally:
        for proc in (runner, triggerer):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        triggerer_log.close()
    assert "Starting the triggerer" in (tmp_path / "triggerer.log").read_text()
