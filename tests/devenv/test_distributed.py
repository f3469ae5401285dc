"""The distributed platform's settings and commands (its run is tests/e2e/test_celery_executor.py)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import make_url

from yunfleet.devenv.config import REPO_ROOT, DevSettings
from yunfleet.devenv.distributed import CeleryTopology, DistributedPlatform, celery_ping, distributed_settings

TOPOLOGY = CeleryTopology(
    metadata_url="postgresql+psycopg2://airflow:pw@127.0.0.1:5432/meta",
    registry_url="postgresql+psycopg2://airflow:pw@127.0.0.1:5432/registry",
    broker_url="redis://127.0.0.1:6379/5",
    queue="q1",
    worker_concurrency=3,
    worker_name="w1@host",
)


def test_the_topology_overrides_what_the_local_platform_configures():
    env = TOPOLOGY.airflow_env()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == TOPOLOGY.metadata_url
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == f"db+{TOPOLOGY.metadata_url}"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/5"
    assert env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "q1"
    assert env["YUNFLEET_REGISTRY_URL"] == TOPOLOGY.registry_url
    shown = TOPOLOGY.describe()
    assert "pw" not in shown["metadata_url"] and "pw" not in shown["registry_url"]
    assert make_url(shown["metadata_url"]).database == "meta"


def test_each_component_is_its_own_airflow_command(tmp_path):
    platform = DistributedPlatform(DevSettings(home=tmp_path), TOPOLOGY, echo=lambda _l: None)
    commands = platform.component_commands()
    assert commands["celery-worker"] == [
        "celery",
        "worker",
        "--concurrency",
        "3",
        "--queues",
        "q1",
        "--celery-hostname",
        "w1@host",
    ]
    assert {k: v for k, v in commands.items() if k != "celery-worker"} == {
        "api-server": ["api-server"],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer"],
    }
    # Every process gets the topology on top of the local platform's environment.
    assert platform.env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert platform.env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert platform.component_log("scheduler") == tmp_path / "logs" / "scheduler.log"


def test_defaults_for_run_celery():
    topology = CeleryTopology.from_env({"YUNFLEET_POSTGRES_URL": "postgresql+psycopg2://u@db:5432/"})
    assert topology.metadata_url == "postgresql+psycopg2://u@db:5432/yunfleet_airflow"
    assert topology.registry_url == "postgresql+psycopg2://u@db:5432/yunfleet"
    assert (topology.broker_url, topology.worker_concurrency) == ("redis://127.0.0.1:6379/0", 2)
    with pytest.raises(SystemExit, match="YUNFLEET_CELERY_CONCURRENCY"):
        CeleryTopology.from_env({"YUNFLEET_CELERY_CONCURRENCY": "0"})
    assert distributed_settings({}).home == (REPO_ROOT / ".yunfleet" / "celery").resolve()


@pytest.mark.redis
def test_a_worker_that_is_not_there_does_not_answer(redis_url):
    assert celery_ping(redis_url, f"nobody-{uuid.uuid4().hex[:8]}@nowhere", timeout=0.5) is False


@pytest.fixture
def redis_url() -> str:
    import redis

    url = os.environ.get("YUNFLEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {url} is required in CI: {exc}")
        pytest.skip(f"Redis at {url} not reachable: {exc}")
    return url
