"""SQLAlchemy 2.x models of the fleet registry and the audit store.

The schema is owned by the Alembic migrations in ``include/registry/migrations``; these models
mirror it (a test compares the two). ``audit_events`` is a contract (ARCHITECTURE.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone on the way back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class Cluster(Base):
    """One managed Kubernetes cluster: what was asked for, where it stands, how to reach it."""

    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("name", name="uq_clusters_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63))
    region_id: Mapped[str] = mapped_column(String(64))
    domain: Mapped[str] = mapped_column(String(253))
    state: Mapped[str] = mapped_column(String(32), default="requested")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    endpoints: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ca_cert: Mapped[str | None] = mapped_column(Text, nullable=True)
    credentials_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    ticket_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    node_pools: Mapped[list[NodePool]] = relationship(
        back_populates="cluster", cascade="all, delete-orphan", order_by="NodePool.id"
    )


class NodePool(Base):
    """A node pool's bounds and desired size in one zone."""

    __tablename__ = "node_pools"
    __table_args__ = (
        UniqueConstraint("cluster_id", "name", "zone_id", name="uq_node_pools_cluster_name_zone"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE", name="fk_node_pools_cluster_id"), index=True
    )
    name: Mapped[str] = mapped_column(String(63))
    zone_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32), default="worker")
    instance_type: Mapped[str] = mapped_column(String(64))
    min_size: Mapped[int] = mapped_column(Integer, default=0)
    max_size: Mapped[int] = mapped_column(Integer, default=0)
    desired_size: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    cluster: Mapped[Cluster] = relationship(back_populates="node_pools")


class ZoneState(Base):
    """Health state of an availability zone, fleet-wide (scope "") or for one cluster."""

    __tablename__ = "zone_states"

    scope: Mapped[str] = mapped_column(String(63), primary_key=True, default="")
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default="healthy")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CapacityHistory(Base):
    """One capacity decision or observation (pod, node or zone tier)."""

    __tablename__ = "capacity_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster: Mapped[str] = mapped_column(String(63), index=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    tier: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(253))
    zone_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    current: Mapped[int] = mapped_column(Integer)
    desired: Mapped[int] = mapped_column(Integer)
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HpaRecommendation(Base):
    """One pod-tier recommendation (desired replicas) of an autoscaled Deployment at one run.

    Scale-down takes the highest recommendation of the stabilisation window (HPA's
    ``--horizontal-pod-autoscaler-downscale-stabilization``, 300 s by default), so the window's
    recommendations are kept here between runs.
    """

    __tablename__ = "hpa_recommendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(253))
    deployment: Mapped[str] = mapped_column(String(253))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replicas: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_hpa_recommendations_cluster_recorded_at", "cluster", "recorded_at"),)


class UnneededNode(Base):
    """A node the node tier found removable, and since when (scale-down waits for the unneeded time)."""

    __tablename__ = "unneeded_nodes"

    cluster: Mapped[str] = mapped_column(String(63), primary_key=True)
    node: Mapped[str] = mapped_column(String(253), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OfferingBackoff(Base):
    """An (availability zone, instance type) that RunInstances refused for stock, left alone until ``until``.

    Stock is the region's, not a cluster's: one row serves every cluster of the fleet.
    """

    __tablename__ = "offering_backoffs"

    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(512))
    failures: Mapped[int] = mapped_column(Integer, default=1)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ZoneEvacuation(Base):
    """A zone's evacuation: the active one (``ended_at`` null) or the last ended one; one row per zone.

    ``saved_weights`` are the SLB backend weights before the evacuation, ``{lb_id: {server_id: weight}}``.
    Rules in :mod:`include.zones.evacuation`.
    """

    __tablename__ = "zone_evacuations"

    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str] = mapped_column(String(512))
    step: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    saved_weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(160), nullable=True)


class ZoneTransition(Base):
    """One change of a zone's health state (the Fleet view's timeline)."""

    __tablename__ = "zone_transitions"
    __table_args__ = (
        Index("ix_zone_transitions_at", "at"),
        Index("ix_zone_transitions_zone_id_at", "zone_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(63), default="")
    zone_id: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(512))


class DnsOwnership(Base):
    """A DNS record Yunfleet created and therefore may change or delete."""

    __tablename__ = "dns_ownership"
    __table_args__ = (
        UniqueConstraint("domain", "rr", "record_type", "value", name="uq_dns_ownership_record"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(253))
    rr: Mapped[str] = mapped_column(String(253))
    record_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(512))
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner: Mapped[str] = mapped_column(String(253))
    cluster: Mapped[str | None] = mapped_column(String(63), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """One mutating cloud or Kubernetes call (or one dry-run action). Contract: ARCHITECTURE.md."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    dag_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    map_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    try_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ticket_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    actor: Mapped[str | None] = mapped_column(String(250), nullable=True)
    cluster: Mapped[str | None] = mapped_column(String(63), nullable=True, index=True)
    product: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(512), nullable=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    cloud_request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
