"""Zone failover state: evacuations (one row per zone) and the zone state transition history.

Revision ID: 0003_zone_failover
Revises: 0002_capacity_state
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_zone_failover"
down_revision = "0002_capacity_state"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "zone_evacuations",
        sa.Column("zone_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.String(128), nullable=True),
        sa.Column("reason", sa.String(512), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("saved_weights", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("ended_by", sa.String(160), nullable=True),
    )
    op.create_table(
        "zone_transitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(63), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=False),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("reason", sa.String(512), nullable=False),
    )
    op.create_index("ix_zone_transitions_at", "zone_transitions", ["at"])
    op.create_index("ix_zone_transitions_zone_id_at", "zone_transitions", ["zone_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_zone_transitions_zone_id_at", table_name="zone_transitions")
    op.drop_index("ix_zone_transitions_at", table_name="zone_transitions")
    op.drop_table("zone_transitions")
    op.drop_table("zone_evacuations")
