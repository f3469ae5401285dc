"""The registry migrates from empty on SQLite and Postgres, and the models match the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from include.registry.db import current_revision, downgrade, head_revision, migrate
from include.registry.models import Base

AUDIT_COLUMNS = [
    "occurred_at",
    "dag_id",
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "ticket_id",
    "actor",
    "cluster",
    "product",
    "action",
    "target",
    "request",
    "outcome",
    "error_code",
    "cloud_request_id",
]


def test_migrates_to_head_with_every_table(registry_engine: Engine) -> None:
    assert current_revision(registry_engine) == head_revision(registry_engine) == "0003_zone_failover"
    tables = set(inspect(registry_engine).get_table_names())
    assert {
        "clusters",
        "node_pools",
        "zone_states",
        "capacity_history",
        "dns_ownership",
        "audit_events",
        "hpa_recommendations",
        "unneeded_nodes",
        "offering_backoffs",
        "zone_evacuations",
        "zone_transitions",
    } <= tables


def test_audit_events_has_exactly_the_contract_columns(registry_engine: Engine) -> None:
    columns = [c["name"] for c in inspect(registry_engine).get_columns("audit_events")]
    assert columns == ["id", *AUDIT_COLUMNS]


def test_models_match_the_migrations(registry_engine: Engine) -> None:
    with registry_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrate_is_idempotent_and_downgrades(registry_engine: Engine) -> None:
    migrate(registry_engine)
    assert current_revision(registry_engine) == "0003_zone_failover"
    downgrade(registry_engine, "0002_capacity_state")
    assert "zone_evacuations" not in inspect(registry_engine).get_table_names()
    assert "zone_transitions" not in inspect(registry_engine).get_table_names()
    assert "offering_backoffs" in inspect(registry_engine).get_table_names()
    downgrade(registry_engine, "0001_initial")
    assert "offering_backoffs" not in inspect(registry_engine).get_table_names()
    assert "clusters" in inspect(registry_engine).get_table_names()
    downgrade(registry_engine, "base")
    assert "audit_events" not in inspect(registry_engine).get_table_names()
    migrate(registry_engine)
    assert "audit_events" in inspect(registry_engine).get_table_names()
