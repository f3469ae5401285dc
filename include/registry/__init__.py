"""The fleet registry and audit store: SQLAlchemy models, Alembic migrations, typed access."""

from include.registry.capacity_state import OfferingBackoffRecord, RecommendationRecord
from include.registry.crypto import CredentialCipher
from include.registry.db import create_registry_engine, migrate
from include.registry.store import (
    CapacityRecord,
    ClusterRecord,
    DnsOwnershipRecord,
    FleetRegistry,
    NodePoolRecord,
    ZoneStateRecord,
)

__all__ = [
    "CapacityRecord",
    "ClusterRecord",
    "CredentialCipher",
    "DnsOwnershipRecord",
    "FleetRegistry",
    "NodePoolRecord",
    "OfferingBackoffRecord",
    "RecommendationRecord",
    "ZoneStateRecord",
    "create_registry_engine",
    "migrate",
]
