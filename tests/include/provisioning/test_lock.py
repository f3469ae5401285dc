"""The per-cluster run lock on the registry row (SQLite file; the same SQL runs on Postgres)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from include.provisioning.lock import ClusterBusy, acquire, holder, release
from include.registry import FleetRegistry, create_registry_engine, migrate


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_registry_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    migrate(engine)
    return engine


def take(engine: Engine, run_id: str, cluster: str = "demo", state: str = "provisioning"):  # type: ignore[no-untyped-def]
    return acquire(
        engine,
        cluster=cluster,
        run_id=run_id,
        busy_state=state,
        region_id="cn-hangzhou",
        domain="fleet.example.com",
        ticket_id=f"T-{run_id}",
        request={"cluster_name": cluster},
    )


def test_first_run_takes_a_new_name(engine: Engine) -> None:
    info = take(engine, "run-1")
    assert info.previous_state is None and info.generation
    assert holder(engine, "demo") == {
        "run_id": "run-1",
        "ticket_id": "T-run-1",
        "previous_state": None,
        "previous_spec": None,
    }


def test_second_run_fails_fast_and_changes_nothing(engine: Engine) -> None:
    take(engine, "run-1")
    before = FleetRegistry(engine).get_cluster("demo")
    with pytest.raises(ClusterBusy, match=r"cluster 'demo' is busy: run 'run-1' \(ticket 'T-run-1'\)"):
        take(engine, "run-2")
    assert FleetRegistry(engine).get_cluster("demo") == before


def test_same_run_retrying_gets_the_same_lock(engine: Engine) -> None:
    first = take(engine, "run-1")
    assert take(engine, "run-1") == first


def test_release_of_a_failed_new_name_removes_the_row(engine: Engine) -> None:
    take(engine, "run-1")
    assert release(engine, cluster="demo", run_id="run-1", final_state=None) is None
    assert FleetRegistry(engine).get_cluster("demo") is None


def test_rerun_of_a_ready_cluster_keeps_generation_and_restores_state(engine: Engine) -> None:
    first = take(engine, "run-1")
    release(engine, cluster="demo", run_id="run-1", final_state="ready")
    second = take(engine, "run-2")
    assert second.previous_state == "ready"
    assert second.generation == first.generation
    assert second.previous_spec == {"cluster_name": "demo"}
    release(engine, cluster="demo", run_id="run-2", final_state=second.previous_state)
    record = FleetRegistry(engine).get_cluster("demo")
    assert record is not None and record.state == "ready" and "lock" not in record.spec


def test_release_by_another_run_is_ignored(engine: Engine) -> None:
    take(engine, "run-1")
    assert release(engine, cluster="demo", run_id="run-9", final_state="failed") == "provisioning"
    assert holder(engine, "demo") is not None


def test_decommission_lock_blocks_provisioning(engine: Engine) -> None:
    take(engine, "run-1")
    release(engine, cluster="demo", run_id="run-1", final_state="ready")
    take(engine, "dec-1", state="decommissioning")
    with pytest.raises(ClusterBusy, match="decommissioning"):
        take(engine, "run-2")


def test_concurrent_takers_exactly_one_wins(engine: Engine) -> None:
    winners: list[str] = []
    losers: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(run_id: str) -> None:
        barrier.wait()
        try:
            take(engine, run_id)
            winners.append(run_id)
        except ClusterBusy:
            losers.append(run_id)

    threads = [threading.Thread(target=attempt, args=(f"run-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 5
