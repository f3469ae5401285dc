"""docker-compose.yaml's airflow-init, run outside Docker: its command, with its resolved environment.

The command is taken from the resolved compose file and run as it is, with the environment that
Compose gives the container (env file and ``environment``), except where the container network
does not exist here: the ``postgres`` host becomes the PostgreSQL at 127.0.0.1:5432 (fresh databases
for this test, dropped afterwards), and the container paths become temporary folders. That is the
whole of what airflow-init does: migrate the metadata DB, create and migrate the registry database,
write the connections from the env file, create the pools, write the admin password file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, make_url, text

from include.registry.db import head_revision
from tests.deploy.conftest import FILLED_SECRETS
from tests.deploy.test_compose import _env, _services
from yunfleet.devenv.config import POOLS, REPO_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]


def _local(url: str, server: str, database: str) -> str:
    """``url`` (host ``postgres`` of the compose network) moved to the test server and database."""
    prefix = "db+" if url.startswith("db+") else ""
    parsed = make_url(url.removeprefix("db+"))
    assert parsed.host == "postgres", url
    return f"{prefix}{server}/{database}"


def test_airflow_init_prepares_an_empty_stack(resolved_compose, postgres_url, tmp_path):
    service = _services(resolved_compose)["airflow-init"]
    command = service["command"]
    env = _env(resolved_compose, "airflow-init")
    server = postgres_url.rsplit("/", 1)[0]
    tag = uuid.uuid4().hex[:10]
    metadata_db, registry_db = f"yunfleet_init_af_{tag}", f"yunfleet_init_reg_{tag}"
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = _local(
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], server, metadata_db
    )
    env["AIRFLOW__CELERY__RESULT_BACKEND"] = _local(
        env["AIRFLOW__CELERY__RESULT_BACKEND"], server, metadata_db
    )
    env["YUNFLEET_REGISTRY_URL"] = _local(env["YUNFLEET_REGISTRY_URL"], server, registry_db)
    passwords = tmp_path / "auth" / Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).name
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords)
    # What the image sets (Dockerfile ENV), here pointing at this checkout and a temporary home.
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "YUNFLEET_HOME": str(tmp_path / "yunfleet"),
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(tmp_path),
        }
    )
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{metadata_db}"'))  # the postgres image's POSTGRES_DB
    try:
        runs = [
            subprocess.run(
                command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=500, check=False
            )
            for _ in range(2)  # a second `docker compose up` runs it again
        ]
        for done in runs:
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        first, second = runs[0].stdout, runs[1].stdout
        assert "database created, schema at head" in first
        assert "connection alibaba_cloud_default: created" in first
        assert "connection alibaba_cloud_default: up to date" in second
        assert "schema at head" in second and "database created" not in second

        metadata = create_engine(f"{server}/{metadata_db}")
        with metadata.connect() as conn:
            rows = conn.execute(text("select conn_id, conn_type, login, extra from connection")).all()
            pools = dict(conn.execute(text("select pool, slots from slot_pool")).all())
        metadata.dispose()
        by_id = {r.conn_id: r for r in rows}
        assert set(by_id) == {"alibaba_cloud_default", "yunfleet_db"}  # no callback secret in the file
        cloud = by_id["alibaba_cloud_default"]
        assert (cloud.conn_type, cloud.login) == ("alibaba_cloud", env["ALIBABA_CLOUD_ACCESS_KEY_ID"])
        fernet = Fernet(FILLED_SECRETS["AIRFLOW__CORE__FERNET_KEY"].encode())
        extra = json.loads(fernet.decrypt(cloud.extra.encode()))  # encrypted with the env file's key
        assert extra["endpoint"] == "sandbox:8470"
        registry = json.loads(fernet.decrypt(by_id["yunfleet_db"].extra.encode()))
        assert make_url(registry["url"]).database == registry_db
        assert {name: pools.get(name) for name in POOLS} == POOLS

        registry_engine = create_engine(f"{server}/{registry_db}")
        with registry_engine.connect() as conn:
            version = conn.execute(text("select version_num from alembic_version")).scalar()
        assert version == head_revision(registry_engine)
        registry_engine.dispose()
        assert json.loads(passwords.read_text()) == {"admin": FILLED_SECRETS["YUNFLEET_ADMIN_PASSWORD"]}
        assert passwords.stat().st_mode & 0o077 == 0
    finally:
        with admin.connect() as conn:
            for name in (metadata_db, registry_db):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
