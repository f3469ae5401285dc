"""Fixtures for the building-block tests live in tests/fixtures/building_blocks.py."""

from tests.fixtures.building_blocks import (  # noqa: F401
    audit_store,
    cloud_env,
    fernet_key,
    postgres_url,
    registry,
    registry_engine,
    sqlite_registry_url,
    task_context,
)
from tests.fixtures.fleet_cluster import fleet_cluster  # noqa: F401
