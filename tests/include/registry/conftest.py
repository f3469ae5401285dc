"""Registry fixtures come from tests/fixtures/building_blocks.py."""

from tests.fixtures.building_blocks import (  # noqa: F401
    fernet_key,
    postgres_url,
    registry,
    registry_engine,
)
