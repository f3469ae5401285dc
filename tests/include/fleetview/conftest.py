"""A seeded fleet (tests/fixtures/fleet_data.py) in a registry.

``fleet``: SQLite, copied for each test from one file seeded per session (migrating and issuing the
credentials once). ``fleet_any``: the same on SQLite and on the session's Postgres, for the queries
whose SQL could differ between the two (grouping, the newest row per group, table reflection).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from include.audit import AuditStore
from include.registry import CredentialCipher, FleetRegistry, create_registry_engine, migrate
from tests.fixtures.fleet_data import seed_fleet


@pytest.fixture(scope="session")
def fleet_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("fleet-template") / "registry.db"
    key = Fernet.generate_key().decode()
    engine = create_registry_engine(f"sqlite:///{path}")
    migrate(engine)
    creds = seed_fleet(FleetRegistry(engine, CredentialCipher(key)), AuditStore(engine))
    engine.dispose()
    return {"path": path, "key": key, "creds": creds}


def _opened(engine: Engine, key: str, creds: dict[str, Any]) -> dict[str, Any]:
    return {"registry": FleetRegistry(engine, CredentialCipher(key)), "engine": engine, "creds": creds}


@pytest.fixture
def fleet(fleet_template: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Any]]:
    path = tmp_path / "registry.db"
    shutil.copyfile(fleet_template["path"], path)
    engine = create_registry_engine(f"sqlite:///{path}")
    yield _opened(engine, fleet_template["key"], fleet_template["creds"])
    engine.dispose()


@pytest.fixture
def fleet_any(registry: FleetRegistry, registry_engine: Engine, fernet_key: str) -> dict[str, Any]:
    creds = seed_fleet(registry, AuditStore(registry_engine))
    return _opened(registry_engine, fernet_key, creds)
