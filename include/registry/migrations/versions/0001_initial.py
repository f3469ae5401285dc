"""Initial fleet registry and audit store.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("region_id", sa.String(64), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("endpoints", sa.JSON(), nullable=False),
        sa.Column("ca_cert", sa.Text(), nullable=True),
        sa.Column("credentials_encrypted", sa.Text(), nullable=True),
        sa.Column("ticket_id", sa.String(128), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_clusters_name"),
    )
    op.create_table(
        "node_pools",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "cluster_id",
            sa.Integer(),
            sa.ForeignKey("clusters.id", ondelete="CASCADE", name="fk_node_pools_cluster_id"),
            nullable=False,
        ),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("instance_type", sa.String(64), nullable=False),
        sa.Column("min_size", sa.Integer(), nullable=False),
        sa.Column("max_size", sa.Integer(), nullable=False),
        sa.Column("desired_size", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("cluster_id", "name", "zone_id", name="uq_node_pools_cluster_name_zone"),
    )
    op.create_index("ix_node_pools_cluster_id", "node_pools", ["cluster_id"])
    op.create_table(
        "zone_states",
        sa.Column("scope", sa.String(63), primary_key=True),
        sa.Column("zone_id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "capacity_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster", sa.String(63), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(253), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("desired", sa.Integer(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
    )
    op.create_index("ix_capacity_history_cluster", "capacity_history", ["cluster"])
    op.create_index("ix_capacity_history_observed_at", "capacity_history", ["observed_at"])
    op.create_table(
        "dns_ownership",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("rr", sa.String(253), nullable=False),
        sa.Column("record_type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=True),
        sa.Column("owner", sa.String(253), nullable=False),
        sa.Column("cluster", sa.String(63), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("domain", "rr", "record_type", "value", name="uq_dns_ownership_record"),
    )
    op.create_index("ix_dns_ownership_cluster", "dns_ownership", ["cluster"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=True),
        sa.Column("run_id", sa.String(250), nullable=True),
        sa.Column("task_id", sa.String(250), nullable=True),
        sa.Column("map_index", sa.Integer(), nullable=True),
        sa.Column("try_number", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.String(128), nullable=True),
        sa.Column("actor", sa.String(250), nullable=True),
        sa.Column("cluster", sa.String(63), nullable=True),
        sa.Column("product", sa.String(32), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("target", sa.String(512), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(128), nullable=True),
        sa.Column("cloud_request_id", sa.String(128), nullable=True),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_ticket_id", "audit_events", ["ticket_id"])
    op.create_index("ix_audit_events_cluster", "audit_events", ["cluster"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("dns_ownership")
    op.drop_table("capacity_history")
    op.drop_table("zone_states")
    op.drop_index("ix_node_pools_cluster_id", table_name="node_pools")
    op.drop_table("node_pools")
    op.drop_table("clusters")
