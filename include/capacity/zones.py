"""The zone tier: a pool's new nodes spread over its zones, fallbacks for sold-out offerings, back-off,
and the ClientToken of each launch attempt.

- Balance: new nodes go, one by one, to the allowed zone where the pool has the fewest nodes (ties in
  the pool's zone order), so that the per-zone counts end with skew <= 1 whenever the constraints allow;
  nodes whose pods are pinned to a zone are placed first and never moved (balance never overrides a
  constraint). Zones that zone health marks failed get nothing and do not count for the balance.
- Fallback: ``RunInstances`` answers ``OperationDenied.NoStock`` / ``Zone.NotOnSale`` synchronously, so the
  apply step tries :func:`fallback_offerings` in the same run instead of waiting (Cluster Autoscaler
  waits ``max-node-provision-time``, 15 min, then backs off the whole group: kubernetes/autoscaler#3490).
- Back-off: the failed offering is skipped for ``backoff_s`` (300 s, CA's initial node-group back-off),
  doubling on each further failure up to ``max_backoff_s`` (1800 s, CA's maximum).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from include.capacity.model import Backoff, NodeView, Offering, PoolView, Snapshot
from include.capacity.settings import DEFAULT_SETTINGS, CapacitySettings
from include.fleet.contract import TaskIdentity, derive_client_token

#: RunInstances error codes that mean "this offering has no stock now": fall back, then back off
STOCK_ERRORS = ("OperationDenied.NoStock", "Zone.NotOnSale")


def pool_nodes(pool: str, snapshot: Snapshot) -> list[NodeView]:
    """The managed nodes of ``pool`` and its upcoming (launched, not yet registered) instances."""
    return [n for n in (*snapshot.nodes, *snapshot.upcoming) if n.pool == pool and n.managed]


def zone_counts(pool: PoolView, snapshot: Snapshot) -> dict[str, int]:
    """Nodes (and upcoming instances) of ``pool`` per zone of the pool; zones without nodes count 0."""
    counts = dict.fromkeys(pool.zones, 0)
    for node in pool_nodes(pool.name, snapshot):
        counts[node.zone] = counts.get(node.zone, 0) + 1
    return counts


def skew(counts: Mapping[str, int], zones: Iterable[str]) -> int:
    """max - min of ``counts`` over ``zones`` (0 for no zone)."""
    values = [counts.get(z, 0) for z in zones]
    return max(values) - min(values) if values else 0


def assign_zones(
    candidates: Sequence[frozenset[str]], counts: Mapping[str, int], order: Sequence[str]
) -> list[str | None]:
    """A zone for each new node: ``candidates[i]`` are the zones node ``i`` may go to (already without
    failed or backed-off ones); ``counts`` the pool's current nodes per zone; ``order`` breaks ties.

    Nodes with fewer candidates are placed first; each goes to its candidate with the fewest nodes so far.
    ``None`` for a node with no candidate.
    """
    rank = {z: i for i, z in enumerate(order)}
    running = dict(counts)
    result: list[str | None] = [None] * len(candidates)
    for i in sorted(range(len(candidates)), key=lambda i: (len(candidates[i]), i)):
        zones = candidates[i]
        if not zones:
            continue
        zone = min(zones, key=lambda z: (running.get(z, 0), rank.get(z, len(rank)), z))
        result[i] = zone
        running[zone] = running.get(zone, 0) + 1
    return result


def usable_zones(pool: PoolView, snapshot: Snapshot) -> tuple[str, ...]:
    """The pool's zones that zone health has not failed."""
    return tuple(z for z in pool.zones if z not in snapshot.failed_zones)


def fallback_offerings(
    pool: PoolView,
    zone: str,
    instance_type: str,
    snapshot: Snapshot,
    excluded: Iterable[Offering] = (),
    *,
    allowed: frozenset[Offering] | None = None,
    planned: Mapping[str, int] | None = None,
) -> tuple[Offering, ...]:
    """What to try, in order, when ``(zone, instance_type)`` is sold out in this run.

    First the same type in the pool's other zones, fewest nodes first (``planned`` adds this run's new
    nodes per zone to the counts), keeping balance; then the pool's other instance types by priority,
    each in ``zone`` first and then the other zones. Only types whose allocatable is at least that of
    ``instance_type`` in every dimension are offered, so the same node count still holds the pods.
    Never: failed zones, offerings in back-off, ``excluded`` (already tried this run), offerings outside
    ``allowed`` (what the pods' constraints permit, when given).
    """
    blocked = set(excluded) | set(snapshot.active_backoffs()) | {Offering(zone, instance_type)}
    counts = zone_counts(pool, snapshot)
    for z, n in (planned or {}).items():
        counts[z] = counts.get(z, 0) + n
    rank = {z: i for i, z in enumerate(pool.zones)}
    others = sorted(
        (z for z in usable_zones(pool, snapshot) if z != zone), key=lambda z: (counts.get(z, 0), rank[z])
    )
    base = pool.allocatable.get(instance_type)
    types = [
        t
        for t in pool.instance_types
        if t != instance_type
        and (base is None or (t in pool.allocatable and base.fits_in(pool.allocatable[t])))
    ]
    ordered = [Offering(z, instance_type) for z in others]
    zone_first = [zone] if zone not in snapshot.failed_zones else []
    for t in types:
        ordered.extend(Offering(z, t) for z in (*zone_first, *others))
    return tuple(o for o in ordered if o not in blocked and (allowed is None or o in allowed))


def backoff_for(
    offering: Offering,
    now: float,
    settings: CapacitySettings = DEFAULT_SETTINGS,
    *,
    reason: str = "OperationDenied.NoStock",
    previous: Backoff | None = None,
) -> Backoff:
    """The back-off to record after ``offering`` failed at ``now`` with ``reason`` (an error code).

    ``backoff_s`` after the first failure, doubled for each failure in a row (``previous`` still known),
    capped at ``max_backoff_s``.
    """
    failures = (previous.failures + 1) if previous is not None else 1
    delay = min(settings.backoff_s * 2 ** (failures - 1), settings.max_backoff_s)
    return Backoff(offering, now + delay, reason, failures)


def client_token(
    cluster: str,
    pool: str,
    zone: str,
    instance_type: str,
    batch: int,
    generation: int | str,
    *,
    count: int | None = None,
    identity: TaskIdentity | None = None,
) -> str:
    """The ClientToken of one RunInstances attempt (``include.fleet.contract.derive_client_token``).

    Every parameter that changes what is asked for is in the token: a fallback to another zone or type,
    another batch, another count or another plan ``generation`` gets a token of its own, so a token is
    never sent again with changed parameters; the same attempt retried (same task, same plan) sends the
    same token and the cloud answers with the first result.
    """
    intent = f"run-instances:{cluster}:{pool}:{zone}:{instance_type}:batch{batch}:gen{generation}"
    if count is not None:
        intent += f":n{count}"
    return derive_client_token(identity or TaskIdentity(dag_id="reconcile_capacity"), intent)
