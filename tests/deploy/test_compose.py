"""Offline validation of docker-compose.yaml (no Docker engine where tests run)."""

from __future__ import annotations

import json

import pytest
import yaml

from yunfleet.devenv.config import POOLS, REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = {
    "airflow-init": None,
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_has_every_service(compose):
    assert set(compose["services"]) == {"postgres", "redis", "sandbox", *AIRFLOW_SERVICES}
    for name, command in AIRFLOW_SERVICES.items():
        if command is not None:
            assert compose["services"][name]["command"] == command, name


def test_airflow_services_share_one_celery_configuration(compose):
    envs = [compose["services"][name]["environment"] for name in AIRFLOW_SERVICES]
    for env in envs:
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    # Components sign and verify each other's tokens and decrypt each other's secrets: one value each.
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"):
        assert len({env[key] for env in envs}) == 1, key


def test_connections_follow_the_conventions(compose):
    env = compose["services"]["airflow-scheduler"]["environment"]
    registry = json.loads(env["AIRFLOW_CONN_YUNFLEET_DB"])
    assert registry["extra"]["url"].startswith("postgresql")
    cloud = json.loads(env["AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT"])
    assert cloud["conn_type"] == "alibaba_cloud"
    assert {"region_id", "endpoint", "protocol"} <= set(cloud["extra"])


def test_init_creates_the_pools(compose):
    script = "\n".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in script
    for pool, slots in POOLS.items():
        assert f"airflow pools set {pool} {slots} " in script


def test_sandbox_is_an_optional_profile(compose):
    sandbox = compose["services"]["sandbox"]
    assert sandbox["profiles"] == ["sandbox"]
    assert sandbox["entrypoint"] == ["python", "-m", "sandbox"]
    assert "ports" not in sandbox, "the sandbox stays on the compose network"


def test_dependencies_and_mounts(compose):
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert "./dags:/opt/airflow/dags" in services[name]["volumes"], name
    init_sql = services["postgres"]["volumes"][1].split(":")[0]
    assert (REPO_ROOT / init_sql).is_file()
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]
