"""The bootstrap's deployment mode: what it takes from the environment, what it refuses, databases."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from yunfleet.devenv.bootstrap import (
    BootstrapError,
    check_shared_secrets,
    cloud_connection_from_env,
    ensure_database,
    registry_url,
)
from yunfleet.devenv.config import REPO_ROOT, DevSettings

CLOUD = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI-example",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret-example",
    "YUNFLEET_DNS_DOMAIN": "fleet.example.org",
}


def test_cloud_connection_takes_only_the_variables_that_are_set():
    conn = cloud_connection_from_env({**CLOUD, "ALIBABA_CLOUD_ENDPOINT": "", "ALIBABA_CLOUD_PROTOCOL": " "})
    assert conn == {
        "conn_type": "alibaba_cloud",
        "login": "LTAI-example",
        "password": "secret-example",
        "extra": {"region_id": "cn-hangzhou", "dns_domain": "fleet.example.org"},
    }
    sandbox = cloud_connection_from_env(
        {
            **CLOUD,
            "ALIBABA_CLOUD_REGION_ID": "cn-shanghai",
            "ALIBABA_CLOUD_ENDPOINT": "sandbox:8470",
            "ALIBABA_CLOUD_PROTOCOL": "http",
            "YUNFLEET_KUBE_SERVER_TEMPLATE": "https://sandbox:8471/k8s/{cluster}",
            "YUNFLEET_KUBE_CA_FILE": "/opt/yunfleet/sandbox/ca.crt",
        }
    )
    assert sandbox["extra"] == {
        "region_id": "cn-shanghai",
        "dns_domain": "fleet.example.org",
        "endpoint": "sandbox:8470",
        "protocol": "http",
        "kube_server_template": "https://sandbox:8471/k8s/{cluster}",
        "kube_ca_file": "/opt/yunfleet/sandbox/ca.crt",
    }


@pytest.mark.parametrize("missing", sorted(CLOUD))
def test_each_required_cloud_variable_is_named_when_missing(missing):
    with pytest.raises(BootstrapError, match=f"^{missing} is not set"):
        cloud_connection_from_env({k: v for k, v in CLOUD.items() if k != missing})


def test_shared_secrets_must_be_a_fernet_key_and_a_jwt_secret():
    key = Fernet.generate_key().decode()
    check_shared_secrets({"AIRFLOW__CORE__FERNET_KEY": key, "AIRFLOW__API_AUTH__JWT_SECRET": "s"})
    with pytest.raises(BootstrapError, match=r"^AIRFLOW__CORE__FERNET_KEY is not set: generate one"):
        check_shared_secrets({"AIRFLOW__API_AUTH__JWT_SECRET": "s"})
    with pytest.raises(BootstrapError, match="not a Fernet key"):
        check_shared_secrets({"AIRFLOW__CORE__FERNET_KEY": "short", "AIRFLOW__API_AUTH__JWT_SECRET": "s"})
    with pytest.raises(BootstrapError, match=r"^AIRFLOW__API_AUTH__JWT_SECRET is not set"):
        check_shared_secrets({"AIRFLOW__CORE__FERNET_KEY": key})


def test_from_env_refuses_an_incomplete_environment_before_touching_anything(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ALIBABA", "YUNFLEET"))}
    env.update({"AIRFLOW_HOME": str(tmp_path), "YUNFLEET_HOME": str(tmp_path), **CLOUD})
    done = subprocess.run(
        [sys.executable, "-m", "yunfleet.devenv.bootstrap", "--from-env"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: AIRFLOW__CORE__FERNET_KEY is not set")
    assert list(tmp_path.iterdir()) == []


def test_registry_url_defaults_to_the_sqlite_file_of_the_home(tmp_path):
    settings = DevSettings(home=tmp_path)
    assert registry_url(settings, {}) == f"sqlite:///{tmp_path / 'yunfleet.db'}"
    assert registry_url(settings, {"YUNFLEET_REGISTRY_URL": " postgresql://x/y "}) == "postgresql://x/y"


def test_ensure_database_makes_the_sqlite_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'registry.db'}"
    assert ensure_database(url) == "created"
    assert (tmp_path / "a" / "b").is_dir()


@pytest.mark.postgres
def test_ensure_database_creates_a_postgres_database_once(postgres_url):
    server = postgres_url.rsplit("/", 1)[0]
    name = f"yunfleet_boot_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        assert ensure_database(f"{server}/{name}") == "created"
        assert ensure_database(f"{server}/{name}") == "exists"
        with create_engine(f"{server}/{name}").connect() as conn:
            assert conn.execute(text("select current_database()")).scalar() == name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    with pytest.raises(BootstrapError, match="plain identifier"):
        ensure_database(f"{server}/bad-name;drop")


def test_the_local_callback_connection_keeps_a_secret_set_by_hand():
    # the metadata-DB model the bootstrap writes, on an in-memory database holding just its table
    from airflow.models import Connection
    from sqlalchemy.orm import Session

    from yunfleet.devenv.bootstrap import CALLBACK_CONN_ID, _upsert_connection

    meta = Connection.metadata  # noqa: AIR311
    engine = create_engine("sqlite://")
    meta.create_all(engine, tables=[meta.tables[t] for t in ("team", "connection") if t in meta.tables])
    generated = {"conn_type": "generic", "password": "generated-secret"}
    with Session(engine) as session:

        def stored() -> str:
            return str(session.query(Connection).one().password)  # noqa: AIR311

        assert _upsert_connection(session, CALLBACK_CONN_ID, generated) == "created"
        session.flush()
        assert _upsert_connection(session, CALLBACK_CONN_ID, generated) == "up to date"
        session.query(Connection).one().set_password("set-by-hand")  # noqa: AIR311
        assert _upsert_connection(session, CALLBACK_CONN_ID, generated) == "kept (its secret was set by hand)"
        assert stored() == "set-by-hand"
        deployed = {"conn_type": "generic", "password": "from-the-env-file"}
        assert _upsert_connection(session, CALLBACK_CONN_ID, deployed, authoritative=True) == "up to date"
        assert stored() == "from-the-env-file"
