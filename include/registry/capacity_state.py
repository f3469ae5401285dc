"""What capacity reconciliation remembers between runs: recommendations, unneeded nodes, back-offs.

- HPA recommendation history per Deployment: scale-down takes the highest recommendation of the
  stabilisation window (Kubernetes HPA, ``downscaleStabilizationWindowSeconds``, 300 s by default).
- Unneeded-since times per node: a node is removed only after it has been unneeded for the
  unneeded time (Cluster Autoscaler's ``--scale-down-unneeded-time``, 10 min by default).
- Offering back-offs per (zone, instance type): an offering RunInstances refused for stock
  (``OperationDenied.NoStock``, ``Zone.NotOnSale``) is not tried again before ``until``.

Mixed into :class:`include.registry.store.FleetRegistry`; every method opens its own transaction.
Times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from include.registry.models import HpaRecommendation, OfferingBackoff, UnneededNode, utcnow

#: characters of a back-off reason kept (the column's width)
REASON_LIMIT = 512


@dataclass(frozen=True)
class RecommendationRecord:
    """One recommendation of desired replicas for ``namespace/deployment`` at ``recorded_at``."""

    cluster: str
    namespace: str
    deployment: str
    recorded_at: datetime
    replicas: int


@dataclass(frozen=True)
class OfferingBackoffRecord:
    """An offering not to be tried before ``until`` (UTC), with the error that put it there."""

    zone_id: str
    instance_type: str
    until: datetime
    reason: str
    recorded_at: datetime
    #: failures in a row that led here (a back-off that keeps failing grows)
    failures: int = 1


def _aware(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class CapacityStateMixin:
    """Capacity state on the registry; needs ``session()`` from the class it is mixed into."""

    def session(self) -> AbstractContextManager[Session]:  # pragma: no cover - provided by FleetRegistry
        raise NotImplementedError

    # recommendations ----------------------------------------------------------------------

    def record_recommendations(
        self, cluster: str, replicas: Mapping[tuple[str, str], int], *, at: datetime | None = None
    ) -> int:
        """Keep one recommendation per ``(namespace, deployment)`` of ``replicas`` at ``at`` (now).

        Returns the number of rows written. Negative replicas are refused (``ValueError``).
        """
        when = _aware(at) if at else utcnow()
        bad = {f"{ns}/{name}": n for (ns, name), n in replicas.items() if n < 0}
        if bad:
            raise ValueError(f"recommended replicas must be >= 0, got {bad}")
        with self.session() as session:
            session.add_all(
                HpaRecommendation(
                    cluster=cluster, namespace=ns, deployment=name, recorded_at=when, replicas=int(n)
                )
                for (ns, name), n in sorted(replicas.items())
            )
        return len(replicas)

    def recommendations(
        self, cluster: str, *, since: datetime
    ) -> dict[tuple[str, str], list[RecommendationRecord]]:
        """The cluster's recommendations recorded at or after ``since``, oldest first, per Deployment."""
        found: dict[tuple[str, str], list[RecommendationRecord]] = {}
        with self.session() as session:
            rows = session.scalars(
                select(HpaRecommendation)
                .where(HpaRecommendation.cluster == cluster, HpaRecommendation.recorded_at >= _aware(since))
                .order_by(HpaRecommendation.recorded_at, HpaRecommendation.id)
            )
            for r in rows:
                found.setdefault((r.namespace, r.deployment), []).append(
                    RecommendationRecord(r.cluster, r.namespace, r.deployment, r.recorded_at, r.replicas)
                )
        return found

    def prune_recommendations(self, *, before: datetime, cluster: str | None = None) -> int:
        """Drop recommendations older than ``before`` (of one cluster, or all); returns how many."""
        query = delete(HpaRecommendation).where(HpaRecommendation.recorded_at < _aware(before))
        if cluster is not None:
            query = query.where(HpaRecommendation.cluster == cluster)
        with self.session() as session:
            return int(session.execute(query).rowcount)  # type: ignore[attr-defined]

    # unneeded nodes -----------------------------------------------------------------------

    def unneeded_nodes(self, cluster: str) -> dict[str, datetime]:
        """``{node name: unneeded since}`` of the cluster."""
        with self.session() as session:
            rows = session.scalars(select(UnneededNode).where(UnneededNode.cluster == cluster))
            return {r.node: r.since for r in rows}

    def set_unneeded_nodes(self, cluster: str, since: Mapping[str, datetime]) -> dict[str, datetime]:
        """Make ``since`` (``{node: unneeded since}``) the cluster's unneeded set: nodes not in it are
        dropped, the others get the given time. Returns the set as stored."""
        wanted = {name: _aware(when) for name, when in since.items()}
        with self.session() as session:
            rows = {
                r.node: r
                for r in session.scalars(select(UnneededNode).where(UnneededNode.cluster == cluster))
            }
            for name, row in rows.items():
                if name not in wanted:
                    session.delete(row)
                else:
                    row.since = wanted[name]
            for name in sorted(set(wanted) - set(rows)):
                session.add(UnneededNode(cluster=cluster, node=name, since=wanted[name]))
        return wanted

    # offering back-offs -------------------------------------------------------------------

    def record_backoff(
        self,
        zone_id: str,
        instance_type: str,
        *,
        until: datetime,
        reason: str,
        failures: int = 1,
        at: datetime | None = None,
    ) -> OfferingBackoffRecord:
        """Back off from an offering until ``until`` after ``failures`` failures in a row; an existing
        back-off is updated, its end never moved earlier."""
        when = _aware(at) if at else utcnow()
        until = _aware(until)
        text = reason[:REASON_LIMIT]
        with self.session() as session:
            row = session.get(OfferingBackoff, (zone_id, instance_type))
            if row is None:
                row = OfferingBackoff(
                    zone_id=zone_id,
                    instance_type=instance_type,
                    until=until,
                    reason=text,
                    failures=failures,
                    recorded_at=when,
                )
                session.add(row)
            else:
                row.until = max(_aware(row.until), until)
                row.reason, row.recorded_at, row.failures = text, when, failures
            session.flush()
            return OfferingBackoffRecord(
                zone_id, instance_type, _aware(row.until), row.reason, when, failures
            )

    def active_backoffs(self, *, now: datetime | None = None) -> list[OfferingBackoffRecord]:
        """Back-offs still running at ``now`` (default: now), by zone and type."""
        when = _aware(now) if now else utcnow()
        return [b for b in self.backoffs() if b.until > when]

    def backoffs(self) -> list[OfferingBackoffRecord]:
        """Every back-off kept, ended ones too (their ``failures`` tell how the next one grows)."""
        with self.session() as session:
            rows = session.scalars(
                select(OfferingBackoff).order_by(OfferingBackoff.zone_id, OfferingBackoff.instance_type)
            )
            return [
                OfferingBackoffRecord(
                    r.zone_id, r.instance_type, r.until, r.reason, r.recorded_at, r.failures
                )
                for r in rows
            ]

    def clear_backoffs(self, *, expired_before: datetime | None = None) -> int:
        """Drop back-offs that ended before ``expired_before`` (default: now); returns how many."""
        when = _aware(expired_before) if expired_before else utcnow()
        with self.session() as session:
            result = session.execute(delete(OfferingBackoff).where(OfferingBackoff.until <= when))
            return int(result.rowcount)  # type: ignore[attr-defined]
