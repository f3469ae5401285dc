"""Capacity reconciliation state: HPA recommendation history, unneeded nodes, offering back-offs.

Revision ID: 0002_capacity_state
Revises: 0001_initial
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_capacity_state"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hpa_recommendations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster", sa.String(63), nullable=False),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("deployment", sa.String(253), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_hpa_recommendations_cluster_recorded_at", "hpa_recommendations", ["cluster", "recorded_at"]
    )
    op.create_table(
        "unneeded_nodes",
        sa.Column("cluster", sa.String(63), primary_key=True),
        sa.Column("node", sa.String(253), primary_key=True),
        sa.Column("since", TS, nullable=False),
    )
    op.create_table(
        "offering_backoffs",
        sa.Column("zone_id", sa.String(64), primary_key=True),
        sa.Column("instance_type", sa.String(64), primary_key=True),
        sa.Column("until", TS, nullable=False),
        sa.Column("reason", sa.String(512), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("offering_backoffs")
    op.drop_table("unneeded_nodes")
    op.drop_index("ix_hpa_recommendations_cluster_recorded_at", table_name="hpa_recommendations")
    op.drop_table("hpa_recommendations")
