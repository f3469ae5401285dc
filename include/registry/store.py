"""Typed access to the fleet registry: clusters, node pools, zone states, capacity, DNS ownership.

Capacity reconciliation's own state (recommendations, unneeded nodes, back-offs) is in
:mod:`include.registry.capacity_state`; zone health's machine states, transitions and evacuations in
:mod:`include.registry.zone_state`.

Callers get frozen dataclasses, never ORM objects, so nothing leaks a session. Cluster
credentials go in and out as dicts and are stored only encrypted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from include.registry.capacity_state import CapacityStateMixin
from include.registry.crypto import CredentialCipher
from include.registry.models import (
    CapacityHistory,
    Cluster,
    DnsOwnership,
    NodePool,
    ZoneState,
    utcnow,
)
from include.registry.zone_state import ZoneFailoverStateMixin

CLUSTER_STATES = frozenset(
    {"requested", "provisioning", "ready", "degraded", "decommissioning", "deleted", "failed"}
)
#: healthy, suspect, failed, recovering are zone health's machine states (include.zones.machine)
ZONE_STATES = frozenset({"healthy", "suspect", "degraded", "failed", "recovering", "sold_out"})
TIERS = frozenset({"pod", "node", "zone"})


@dataclass(frozen=True)
class NodePoolRecord:
    cluster: str
    name: str
    zone_id: str
    role: str
    instance_type: str
    min_size: int
    max_size: int
    desired_size: int


@dataclass(frozen=True)
class ClusterRecord:
    name: str
    region_id: str
    domain: str
    state: str
    spec: dict[str, Any]
    endpoints: dict[str, Any]
    ca_cert: str | None
    ticket_id: str | None
    has_credentials: bool
    created_at: datetime
    updated_at: datetime
    node_pools: tuple[NodePoolRecord, ...] = field(default_factory=tuple)

    @property
    def api_server_name(self) -> str:
        return f"api.{self.name}.{self.domain}"


@dataclass(frozen=True)
class ZoneStateRecord:
    scope: str
    zone_id: str
    state: str
    detail: dict[str, Any]
    since: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CapacityRecord:
    cluster: str
    observed_at: datetime
    tier: str
    subject: str
    zone_id: str | None
    current: int
    desired: int
    reason: dict[str, Any]


@dataclass(frozen=True)
class DnsOwnershipRecord:
    domain: str
    rr: str
    record_type: str
    value: str
    record_id: str | None
    owner: str
    cluster: str | None


def _pool_record(cluster: str, pool: NodePool) -> NodePoolRecord:
    return NodePoolRecord(
        cluster=cluster,
        name=pool.name,
        zone_id=pool.zone_id,
        role=pool.role,
        instance_type=pool.instance_type,
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired_size=pool.desired_size,
    )


def _cluster_record(row: Cluster) -> ClusterRecord:
    return ClusterRecord(
        name=row.name,
        region_id=row.region_id,
        domain=row.domain,
        state=row.state,
        spec=dict(row.spec or {}),
        endpoints=dict(row.endpoints or {}),
        ca_cert=row.ca_cert,
        ticket_id=row.ticket_id,
        has_credentials=row.credentials_encrypted is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        node_pools=tuple(_pool_record(row.name, p) for p in row.node_pools),
    )


class FleetRegistry(CapacityStateMixin, ZoneFailoverStateMixin):
    """The registry on one engine; ``cipher`` is needed only to read or write credentials."""

    def __init__(self, engine: Engine, cipher: CredentialCipher | None = None) -> None:
        self.engine = engine
        self._cipher = cipher
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # clusters -----------------------------------------------------------------------------

    def _get(self, session: Session, name: str) -> Cluster:
        row = session.scalar(select(Cluster).where(Cluster.name == name))
        if row is None:
            raise KeyError(f"cluster {name!r} is not registered")
        return row

    def upsert_cluster(
        self,
        name: str,
        *,
        region_id: str,
        domain: str,
        spec: dict[str, Any] | None = None,
        state: str | None = None,
        ticket_id: str | None = None,
    ) -> ClusterRecord:
        """Register a cluster or update its spec; the state stays unless given."""
        if state is not None and state not in CLUSTER_STATES:
            raise ValueError(f"unknown cluster state {state!r}; expected one of {sorted(CLUSTER_STATES)}")
        with self.session() as session:
            row = session.scalar(select(Cluster).where(Cluster.name == name))
            if row is None:
                row = Cluster(name=name, region_id=region_id, domain=domain, spec=spec or {}, endpoints={})
                row.state = state or "requested"
                row.ticket_id = ticket_id
                session.add(row)
            else:
                row.region_id, row.domain = region_id, domain
                if spec is not None:
                    row.spec = spec
                if state is not None:
                    row.state = state
                if ticket_id is not None:
                    row.ticket_id = ticket_id
            session.flush()
            return _cluster_record(row)

    def get_cluster(self, name: str) -> ClusterRecord | None:
        with self.session() as session:
            row = session.scalar(select(Cluster).where(Cluster.name == name))
            return _cluster_record(row) if row is not None else None

    def require_cluster(self, name: str) -> ClusterRecord:
        record = self.get_cluster(name)
        if record is None:
            raise KeyError(f"cluster {name!r} is not registered in the fleet registry")
        return record

    def list_clusters(self, *, include_deleted: bool = False) -> list[ClusterRecord]:
        with self.session() as session:
            query = select(Cluster).order_by(Cluster.name)
            if not include_deleted:
                query = query.where(Cluster.state != "deleted")
            return [_cluster_record(row) for row in session.scalars(query)]

    def set_cluster_state(self, name: str, state: str) -> None:
        if state not in CLUSTER_STATES:
            raise ValueError(f"unknown cluster state {state!r}; expected one of {sorted(CLUSTER_STATES)}")
        with self.session() as session:
            self._get(session, name).state = state

    def update_endpoints(self, name: str, ca_cert: str | None = None, **endpoints: Any) -> None:
        """Merge endpoint facts (api_server, load_balancer_id, address, dns_name, ...)."""
        with self.session() as session:
            row = self._get(session, name)
            row.endpoints = {**(row.endpoints or {}), **endpoints}
            if ca_cert is not None:
                row.ca_cert = ca_cert

    def delete_cluster(self, name: str) -> bool:
        with self.session() as session:
            result = session.execute(delete(Cluster).where(Cluster.name == name))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # credentials --------------------------------------------------------------------------

    def _require_cipher(self) -> CredentialCipher:
        if self._cipher is None:
            raise ValueError("this registry was opened without a Fernet key; credentials are unavailable")
        return self._cipher

    def put_credentials(self, name: str, credentials: dict[str, Any]) -> None:
        """Store (replace) a cluster's credentials, encrypted."""
        token = self._require_cipher().encrypt(credentials)
        with self.session() as session:
            self._get(session, name).credentials_encrypted = token

    def get_credentials(self, name: str) -> dict[str, Any]:
        cipher = self._require_cipher()
        with self.session() as session:
            token = self._get(session, name).credentials_encrypted
        if token is None:
            raise KeyError(f"cluster {name!r} has no stored credentials")
        return cipher.decrypt(token)

    # node pools ---------------------------------------------------------------------------

    def upsert_node_pool(
        self,
        cluster: str,
        name: str,
        *,
        zone_id: str,
        instance_type: str,
        min_size: int,
        max_size: int,
        desired_size: int,
        role: str = "worker",
    ) -> NodePoolRecord:
        if not 0 <= min_size <= desired_size <= max_size:
            raise ValueError(
                f"node pool {name!r} in {zone_id}: need 0 <= min ({min_size}) <= desired "
                f"({desired_size}) <= max ({max_size})"
            )
        with self.session() as session:
            row = self._get(session, cluster)
            pool = next((p for p in row.node_pools if p.name == name and p.zone_id == zone_id), None)
            if pool is None:
                pool = NodePool(name=name, zone_id=zone_id)
                row.node_pools.append(pool)
            pool.role, pool.instance_type = role, instance_type
            pool.min_size, pool.max_size, pool.desired_size = min_size, max_size, desired_size
            session.flush()
            return _pool_record(cluster, pool)

    def set_desired_size(self, cluster: str, name: str, zone_id: str, desired_size: int) -> NodePoolRecord:
        with self.session() as session:
            row = self._get(session, cluster)
            pool = next((p for p in row.node_pools if p.name == name and p.zone_id == zone_id), None)
            if pool is None:
                raise KeyError(f"node pool {name!r} in {zone_id} is not registered for cluster {cluster!r}")
            if not pool.min_size <= desired_size <= pool.max_size:
                raise ValueError(
                    f"desired size {desired_size} for pool {name!r} is outside "
                    f"[{pool.min_size}, {pool.max_size}]"
                )
            pool.desired_size = desired_size
            session.flush()
            return _pool_record(cluster, pool)

    def list_node_pools(self, cluster: str) -> list[NodePoolRecord]:
        with self.session() as session:
            return [_pool_record(cluster, p) for p in self._get(session, cluster).node_pools]

    # zone states --------------------------------------------------------------------------

    def set_zone_state(
        self, zone_id: str, state: str, *, scope: str = "", detail: dict[str, Any] | None = None
    ) -> ZoneStateRecord:
        """Record a zone's state; ``since`` moves only when the state changes."""
        if state not in ZONE_STATES:
            raise ValueError(f"unknown zone state {state!r}; expected one of {sorted(ZONE_STATES)}")
        with self.session() as session:
            row = session.get(ZoneState, (scope, zone_id))
            now = utcnow()
            if row is None:
                row = ZoneState(scope=scope, zone_id=zone_id, state=state, detail=detail or {}, since=now)
                session.add(row)
            else:
                if row.state != state:
                    row.since = now
                row.state = state
                row.detail = detail or {}
                row.updated_at = now
            session.flush()
            return ZoneStateRecord(scope, zone_id, row.state, dict(row.detail), row.since, row.updated_at)

    def list_zone_states(self, *, scope: str = "") -> list[ZoneStateRecord]:
        with self.session() as session:
            rows = session.scalars(
                select(ZoneState).where(ZoneState.scope == scope).order_by(ZoneState.zone_id)
            )
            return [
                ZoneStateRecord(r.scope, r.zone_id, r.state, dict(r.detail), r.since, r.updated_at)
                for r in rows
            ]

    # capacity history ---------------------------------------------------------------------

    def record_capacity(
        self,
        cluster: str,
        *,
        tier: str,
        subject: str,
        current: int,
        desired: int,
        zone_id: str | None = None,
        reason: dict[str, Any] | None = None,
    ) -> None:
        if tier not in TIERS:
            raise ValueError(f"unknown capacity tier {tier!r}; expected one of {sorted(TIERS)}")
        with self.session() as session:
            session.add(
                CapacityHistory(
                    cluster=cluster,
                    tier=tier,
                    subject=subject,
                    zone_id=zone_id,
                    current=current,
                    desired=desired,
                    reason=reason or {},
                )
            )

    def capacity_history(self, cluster: str, *, limit: int = 100) -> list[CapacityRecord]:
        with self.session() as session:
            rows = session.scalars(
                select(CapacityHistory)
                .where(CapacityHistory.cluster == cluster)
                .order_by(CapacityHistory.observed_at.desc(), CapacityHistory.id.desc())
                .limit(limit)
            )
            return [
                CapacityRecord(
                    r.cluster, r.observed_at, r.tier, r.subject, r.zone_id, r.current, r.desired, r.reason
                )
                for r in rows
            ]

    # DNS ownership ------------------------------------------------------------------------

    def claim_dns(
        self,
        *,
        domain: str,
        rr: str,
        record_type: str,
        value: str,
        owner: str,
        record_id: str | None = None,
        cluster: str | None = None,
    ) -> DnsOwnershipRecord:
        with self.session() as session:
            row = session.scalar(
                select(DnsOwnership).where(
                    DnsOwnership.domain == domain,
                    DnsOwnership.rr == rr,
                    DnsOwnership.record_type == record_type,
                    DnsOwnership.value == value,
                )
            )
            if row is None:
                row = DnsOwnership(domain=domain, rr=rr, record_type=record_type, value=value, owner=owner)
                session.add(row)
            elif row.owner != owner:
                raise PermissionError(
                    f"DNS record {rr}.{domain} {record_type} {value} is owned by {row.owner!r}, not {owner!r}"
                )
            row.record_id = record_id or row.record_id
            row.cluster = cluster
            session.flush()
            return DnsOwnershipRecord(domain, rr, record_type, value, row.record_id, owner, cluster)

    def release_dns(self, *, domain: str, rr: str, record_type: str, value: str) -> bool:
        with self.session() as session:
            result = session.execute(
                delete(DnsOwnership).where(
                    DnsOwnership.domain == domain,
                    DnsOwnership.rr == rr,
                    DnsOwnership.record_type == record_type,
                    DnsOwnership.value == value,
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def list_dns_ownership(
        self, *, domain: str | None = None, owner: str | None = None, cluster: str | None = None
    ) -> list[DnsOwnershipRecord]:
        with self.session() as session:
            query = select(DnsOwnership).order_by(
                DnsOwnership.rr, DnsOwnership.record_type, DnsOwnership.value
            )
            if domain is not None:
                query = query.where(DnsOwnership.domain == domain)
            if owner is not None:
                query = query.where(DnsOwnership.owner == owner)
            if cluster is not None:
                query = query.where(DnsOwnership.cluster == cluster)
            return [
                DnsOwnershipRecord(r.domain, r.rr, r.record_type, r.value, r.record_id, r.owner, r.cluster)
                for r in session.scalars(query)
            ]
