"""The distributed path for real: docker-compose.yaml's topology as processes, a cluster through it.

A platform of this module's own (:class:`yunfleet.devenv.distributed.DistributedPlatform`): Airflow
on the CeleryExecutor with its metadata DB on the PostgreSQL at 127.0.0.1:5432 (a fresh database,
dropped at the end, and another one for ``yunfleet_db``), Redis at 127.0.0.1:6379 as the broker (its
own queue, deleted at the end), ``api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` and
one ``celery worker`` with two pool processes, each its own process from this environment, plus the
sandbox. Through the REST API, as a ticketing system would, a small cluster is provisioned and
decommissioned; then the metadata DB, Celery's result backend and the worker's own statistics show
who ran the tasks.

Outside CI a missing PostgreSQL or Redis skips the module with the reason; under ``CI=true`` it fails.
Startup, provisioning and decommissioning times are printed (``-s``) and kept in the test report.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.building_blocks import POSTGRES_ADMIN_URL, _postgres_available
from tests.fixtures.platform import Platform, PlatformClient
from tests.fixtures.provisioning import cluster_conf, provision, tagged_inventory
from tests.fixtures.sandbox import SandboxHandle
from yunfleet.devenv.config import ADMIN_USER, DevSettings
from yunfleet.devenv.distributed import CeleryTopology, DistributedPlatform
from yunfleet.devenv.procs import StartupError

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(900)]

REDIS_URL = os.environ.get("YUNFLEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
CLUSTER = "celery"
TICKET = "OPS-1300"
WORKER_PROCESSES = 2


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; the Celery integration test must run in CI", pytrace=False)
    pytest.skip(reason)


def _redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _drop_queue(queue: str) -> None:
    """Delete the broker's keys of this module's queue (the broker DB may be shared)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def celery_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The distributed platform, started for this module only and removed with its databases."""
    for service, problem in (
        ("PostgreSQL at 127.0.0.1:5432", _postgres_available()),
        (f"Redis at {REDIS_URL}", _redis_problem()),
    ):
        if problem:
            _unavailable(f"{service} is not reachable: {problem}")
    tag = uuid.uuid4().hex[:10]
    server = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    topology = CeleryTopology(
        metadata_url=f"{server}/yunfleet_e2e_airflow_{tag}",
        registry_url=f"{server}/yunfleet_e2e_registry_{tag}",
        broker_url=REDIS_URL,
        queue=f"yunfleet-e2e-{tag}",
        worker_concurrency=WORKER_PROCESSES,
    )
    home = tmp_path_factory.mktemp("yunfleet-celery")
    sandbox = SandboxHandle(home / "sandbox", timings="fast")
    settings = DevSettings.isolated(home).with_changes(
        sandbox_http_port=sandbox.http_port,
        sandbox_kube_port=sandbox.kube_port,
        sandbox_dns_port=sandbox.dns_port,
        sandbox_state_dir=sandbox.state_dir,
    )
    local = DistributedPlatform(settings, topology, inherit_airflow_env=False, echo=lambda _line: None)
    local.env["SANDBOX_TIMINGS"] = sandbox.timings
    started = time.monotonic()
    client: PlatformClient | None = None
    try:
        try:
            local.prepare()
            timeout = float(os.environ.get("YUNFLEET_E2E_STARTUP", 300))
            local.start_all(sandbox_timeout=60, airflow_timeout=timeout)
        except StartupError as exc:
            pytest.fail(f"distributed platform did not start: {exc}", pytrace=False)
        client = PlatformClient(settings.base_url, ADMIN_USER, local.password)
        sandbox.log_path = local.sandbox_log
        yield Platform(
            local=local,
            client=client,
            sandbox=sandbox,
            startup_seconds=time.monotonic() - started,
            timings=dict(local.timings),
        )
    finally:
        if client is not None:
            client.close()
        local.stop()
        sandbox.close()
        _drop_queue(topology.queue)
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for url in (topology.metadata_url, topology.registry_url):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def runs(celery_platform: Platform) -> dict[str, Any]:
    """Provision the small cluster, then decommission it: run ids, states, inventories, durations."""
    platform = celery_platform
    out: dict[str, Any] = {"startup_s": round(platform.startup_seconds, 1)}
    out.update({f"startup_{k}_s": round(v, 1) for k, v in platform.timings.items()})
    out.update(decommission_run=None, decommission_state=None, inventory_after_decommission=None)
    started = time.monotonic()
    conf = cluster_conf(CLUSTER, TICKET, small=True)
    out["provision_run"], out["provision_state"] = provision(platform, conf, timeout=600)
    out["provision_s"] = round(time.monotonic() - started, 1)
    out["inventory_after_provision"] = tagged_inventory(platform.sandbox, CLUSTER)
    if out["provision_state"] == "success":
        started = time.monotonic()
        confirm = {"cluster_name": CLUSTER, "confirm_cluster_name": CLUSTER, "ticket_id": TICKET}
        run_id = platform.trigger("decommission_cluster", confirm, note=f"ticket {TICKET}")
        out["decommission_run"] = run_id
        out["decommission_state"] = platform.wait("decommission_cluster", run_id, timeout=600)
        out["decommission_s"] = round(time.monotonic() - started, 1)
        out["inventory_after_decommission"] = tagged_inventory(platform.sandbox, CLUSTER)
    print(f"\ncelery e2e timings (s): { {k: v for k, v in out.items() if k.endswith('_s')} }")
    return out


def _task_instances(platform: Platform, runs: dict[str, Any]) -> list[dict[str, Any]]:
    """Task instances of both runs, from the metadata DB (fields the REST API does not show)."""
    local = platform.local
    assert isinstance(local, DistributedPlatform)
    engine = create_engine(local.topology.metadata_url)
    try:
        with engine.connect() as conn:
            rows = (
                conn.execute(
                    text(
                        "select dag_id, run_id, task_id, map_index, state, queue, hostname, pid, try_number, "
                        "external_executor_id, queued_by_job_id from task_instance where run_id in (:p, :d)"
                    ),
                    {"p": runs["provision_run"], "d": runs["decommission_run"]},
                )
                .mappings()
                .all()
            )
            meta = dict(conn.execute(text("select task_id, status from celery_taskmeta")).all())
            jobs = dict(conn.execute(text("select id, job_type from job")).all())
    finally:
        engine.dispose()
    return [
        {
            **row,
            "celery_status": meta.get(row["external_executor_id"]),
            "queued_by": jobs.get(row["queued_by_job_id"]),
        }
        for row in rows
    ]


CELERY_PENDING = {None, "PENDING", "RECEIVED", "STARTED", "RETRY"}


def _settled_task_instances(
    platform: Platform, runs: dict[str, Any], timeout: float = 60.0
) -> list[dict[str, Any]]:
    """:func:`_task_instances` once Celery has recorded a result for every finished task instance.

    The task process reports its state to Airflow's execution API before the Celery worker stores the
    result of the Celery task that ran it, so right after a run ends its last task can still read
    ``STARTED`` in the result backend for a moment. Waits up to ``timeout`` seconds, then returns what
    is there (the assertions say which task instance is still unsettled).
    """
    deadline = time.monotonic() + timeout
    while True:
        tis = _task_instances(platform, runs)
        unsettled = [ti for ti in tis if ti["state"] == "success" and ti["celery_status"] in CELERY_PENDING]
        if not unsettled or time.monotonic() > deadline:
            return tis
        time.sleep(1.0)


def test_provision_and_decommission_succeed_through_the_rest_api(celery_platform, runs):
    platform = celery_platform
    assert runs["provision_state"] == "success", platform.explain("provision_cluster", runs["provision_run"])
    assert runs["decommission_state"] == "success", platform.explain(
        "decommission_cluster", runs["decommission_run"]
    )
    created = runs["inventory_after_provision"]
    assert len(created["instances"]) == 3  # one control plane, a pool of two
    assert len(created["load_balancers"]) == 1
    gone = runs["inventory_after_decommission"]
    assert gone == {"instances": [], "load_balancers": [], "security_groups": []}


def test_every_task_ran_on_the_celery_worker(celery_platform, runs):
    platform = celery_platform
    assert runs["decommission_state"] == "success"
    local = platform.local
    assert isinstance(local, DistributedPlatform)
    tis = _settled_task_instances(platform, runs)
    executed = [ti for ti in tis if ti["state"] == "success"]
    assert len(executed) >= 10, [(t["task_id"], t["state"]) for t in tis]
    assert {ti["state"] for ti in tis} <= {"success", "skipped"}
    for ti in executed:
        where = f"{ti['dag_id']}.{ti['task_id']}[{ti['map_index']}]"
        # Queued by the scheduler onto this platform's Celery queue ...
        assert ti["queued_by"] == "SchedulerJob", where
        assert ti["queue"] == local.topology.queue, where
        # ... and executed by Celery: the Celery task id the executor gave it has a SUCCESS result in
        # Celery's result backend (written by the worker once the task process finished).
        assert ti["external_executor_id"], where
        assert ti["celery_status"] == "SUCCESS", where
        assert ti["hostname"], where
    stats = local.worker_stats()
    assert stats["total"].get("execute_workload", 0) >= len(executed), stats["total"]


def test_tasks_ran_in_more_than_one_worker_process(celery_platform, runs):
    assert runs["decommission_state"] == "success"
    local = celery_platform.local
    assert isinstance(local, DistributedPlatform)
    pool = local.worker_stats()["pool"]
    assert pool["max-concurrency"] == WORKER_PROCESSES
    assert len(pool["processes"]) == WORKER_PROCESSES
    # Celery's count of tasks handed to each pool process, e.g. "9, 8".
    per_process = [int(n) for n in pool["writes"]["raw"].split(",")]
    assert len(per_process) == WORKER_PROCESSES and min(per_process) > 0, pool["writes"]
