"""SLB backend weight plans: evacuate a zone (weights to 0) and restore it gradually to the previous weights.

``SetBackendServers`` (SLB 2014-05-15) changes the weights of servers already attached to one load
balancer, at most 20 servers per call (``TooManyBackendServers``), and is limited to 90 calls per 60 s
per region and account (CLB quota page; ``../shared/notes/anchors-2.md`` 1d). A weight is 0..100 and 0
sends no traffic. So:

- A call covers one load balancer; the fewest calls are ``ceil(changed servers / 20)`` per load balancer,
  which is what the plans produce. Servers already at their target weight are left out: a converged
  plan has no call.
- Load balancers of role ``apiserver-lb`` come first (a cluster's control plane before its services),
  then ``service-lb``, then any other role; within a role by cluster and load balancer id.
- Each call carries the quota window it falls in, in plan order (``index // quota``); the plan's
  :attr:`WeightPlan.minutes` is ``ceil(calls / quota) * window`` (the ``ceil(N/90)`` minutes of a large
  fleet).

Weights remembered: :func:`plan_evacuation` returns ``saved_weights`` ``{lb_id: {server_id: weight}}``,
the weights before the evacuation. A weight remembered by an earlier run of the same evacuation wins
over the current one, so a re-run after a lost response (the weights already 0) or during a restore
(the weights partly back) never remembers 0 or a trickle over the real weight. Store ``saved_weights``
before sending the calls.

Restore: step ``i`` of ``settings.restore_steps`` sets each remembered backend in the zone to
:func:`restore_weight` (``max(1, round(previous * f))``, 0 stays 0); the last step (1.0) restores exactly
the previous weight. Backends the evacuation never touched are left alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from include.zones.settings import DEFAULT_SETTINGS, ZoneHealthSettings

API_SERVER_LB = "apiserver-lb"
SERVICE_LB = "service-lb"
#: the order in which load balancer roles are changed; other roles follow
ROLE_ORDER = (API_SERVER_LB, SERVICE_LB)

#: ``{lb_id: {server_id: weight}}``
SavedWeights = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Backend:
    """A backend server attached to a load balancer: its current ``weight`` (0..100) and its zone.

    ``DescribeLoadBalancerAttribute`` gives ``ServerId`` and ``Weight``; the zone is the instance's
    ``ZoneId`` from ``DescribeInstances``.
    """

    server_id: str
    weight: int
    zone: str


@dataclass(frozen=True)
class LoadBalancer:
    """A fleet load balancer (``DescribeLoadBalancerAttribute``) with its role (tag ``yunfleet:role``)."""

    lb_id: str
    role: str
    backends: tuple[Backend, ...]
    cluster: str = ""


@dataclass(frozen=True)
class WeightCall:
    """One ``SetBackendServers`` call: ``weights`` ((server_id, weight), at most 20) on ``lb_id``.

    :ivar window: the 0-based quota window the call falls in when calls are sent in plan order.
    """

    lb_id: str
    role: str
    cluster: str
    weights: tuple[tuple[str, int], ...]
    window: int = 0

    def backend_servers(self) -> list[dict[str, str]]:
        """The ``BackendServers`` parameter (before JSON encoding): ``[{"ServerId", "Weight"}]``,
        values as strings as the API documents them."""
        return [{"ServerId": server, "Weight": str(weight)} for server, weight in self.weights]

    def to_json(self) -> dict[str, Any]:
        return {
            "lb_id": self.lb_id,
            "role": self.role,
            "cluster": self.cluster,
            "weights": [[s, w] for s, w in self.weights],
            "window": self.window,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WeightCall:
        return cls(
            data["lb_id"],
            data["role"],
            data.get("cluster", ""),
            tuple((str(s), int(w)) for s, w in data["weights"]),
            int(data.get("window", 0)),
        )


@dataclass(frozen=True)
class WeightPlan:
    """The ordered ``SetBackendServers`` calls of one evacuation or restore step of ``zone_id``.

    :ivar fraction: 0.0 for an evacuation, the step's fraction for a restore.
    :ivar step: the restore step's index (``None`` for an evacuation).
    :ivar saved_weights: the weights before the evacuation (evacuate: to store; restore: used).
    :ivar quota: calls per quota window; :ivar window_s: the window in seconds.
    """

    zone_id: str
    action: Literal["evacuate", "restore"]
    fraction: float
    calls: tuple[WeightCall, ...]
    saved_weights: SavedWeights = field(default_factory=dict)
    step: int | None = None
    quota: int = 90
    window_s: float = 60.0

    @property
    def servers(self) -> int:
        """Backend weight changes in the plan."""
        return sum(len(c.weights) for c in self.calls)

    @property
    def minutes(self) -> float:
        """Expected minutes to send every call within the quota (see :func:`quota_minutes`)."""
        return quota_minutes(len(self.calls), quota=self.quota, window_s=self.window_s)

    def to_json(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "action": self.action,
            "fraction": self.fraction,
            "step": self.step,
            "calls": [c.to_json() for c in self.calls],
            "saved_weights": {lb: dict(s) for lb, s in self.saved_weights.items()},
            "quota": self.quota,
            "window_s": self.window_s,
            "servers": self.servers,
            "minutes": self.minutes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WeightPlan:
        return cls(
            zone_id=data["zone_id"],
            action=data["action"],
            fraction=float(data["fraction"]),
            calls=tuple(WeightCall.from_json(c) for c in data["calls"]),
            saved_weights=normalize_saved_weights(data.get("saved_weights")),
            step=data.get("step"),
            quota=int(data.get("quota", 90)),
            window_s=float(data.get("window_s", 60.0)),
        )


def quota_minutes(calls: int, *, quota: int = 90, window_s: float = 60.0) -> float:
    """Minutes to send ``calls`` at ``quota`` calls per ``window_s``: ``ceil(calls / quota)`` windows
    (the calls of the last window go out at once). 0 calls take 0 minutes.

    >>> quota_minutes(45), quota_minutes(90), quota_minutes(91), quota_minutes(0)
    (1.0, 1.0, 2.0, 0.0)
    """
    if quota < 1:
        raise ValueError(f"quota must be >= 1 call per window, got {quota}")
    return math.ceil(calls / quota) * window_s / 60.0


def restore_weight(previous: int, fraction: float) -> int:
    """Weight of a backend at restore fraction ``fraction`` of its ``previous`` weight.

    ``max(1, round(previous * fraction))`` (half up), never above ``previous``; 0 stays 0; 1.0 gives
    ``previous`` exactly.

    >>> [restore_weight(100, f) for f in (0.1, 0.5, 1.0)], [restore_weight(3, f) for f in (0.1, 0.5, 1.0)]
    ([10, 50, 100], [1, 2, 3])
    """
    if previous <= 0:
        return 0
    if fraction >= 1.0:
        return previous
    return min(previous, max(1, math.floor(previous * fraction + 0.5)))


def merge_saved_weights(
    old: Mapping[str, Mapping[str, int]] | None, new: Mapping[str, Mapping[str, int]] | None
) -> SavedWeights:
    """``new`` with ``old`` on top: a weight remembered earlier is never replaced."""
    merged: SavedWeights = {lb: dict(servers) for lb, servers in (new or {}).items()}
    for lb, servers in (old or {}).items():
        merged.setdefault(lb, {}).update(servers)
    return {lb: dict(sorted(s.items())) for lb, s in sorted(merged.items())}


def normalize_saved_weights(data: Any) -> SavedWeights:
    """Saved weights read back from JSON, with every weight an ``int``."""
    return {str(lb): {str(s): int(w) for s, w in servers.items()} for lb, servers in (data or {}).items()}


def order_load_balancers(lbs: Iterable[LoadBalancer]) -> list[LoadBalancer]:
    """API-server load balancers first, then service ones, then other roles; by cluster and id within."""
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    return sorted(lbs, key=lambda lb: (rank.get(lb.role, len(ROLE_ORDER)), lb.role, lb.cluster, lb.lb_id))


def batch_calls(
    changes: Iterable[tuple[LoadBalancer, Mapping[str, int]]],
    *,
    settings: ZoneHealthSettings = DEFAULT_SETTINGS,
) -> tuple[WeightCall, ...]:
    """Calls for ``changes`` (load balancer, ``{server_id: new weight}``): load balancers in
    :func:`order_load_balancers` order, servers by id, at most ``settings.max_servers_per_call`` per
    call, each call stamped with its quota window."""
    by_id = {lb.lb_id: (lb, weights) for lb, weights in changes if weights}
    calls: list[WeightCall] = []
    size = settings.max_servers_per_call
    for lb in order_load_balancers(lb for lb, _ in by_id.values()):
        items = sorted(by_id[lb.lb_id][1].items())
        for start in range(0, len(items), size):
            index = len(calls)
            calls.append(
                WeightCall(
                    lb.lb_id,
                    lb.role,
                    lb.cluster,
                    tuple(items[start : start + size]),
                    index // settings.slb_write_quota,
                )
            )
    return tuple(calls)


def plan_evacuation(
    zone_id: str,
    lbs: Iterable[LoadBalancer],
    *,
    remembered: Mapping[str, Mapping[str, int]] | None = None,
    settings: ZoneHealthSettings = DEFAULT_SETTINGS,
) -> WeightPlan:
    """Weight 0 for every backend in ``zone_id`` on every load balancer in ``lbs``.

    ``remembered``: the saved weights of the zone's active evacuation (``None`` for a new one). The
    plan's ``saved_weights`` are ``remembered`` plus the current weight of every backend in the zone it
    does not hold yet (0 for a backend that was already 0 before any evacuation: it stays 0 on restore).
    """
    lbs = list(lbs)
    seen: SavedWeights = {}
    changes = []
    for lb in lbs:
        previous = (remembered or {}).get(lb.lb_id, {})
        targets = {}
        for b in lb.backends:
            if b.zone != zone_id:
                continue
            seen.setdefault(lb.lb_id, {})[b.server_id] = previous.get(b.server_id, b.weight)
            if b.weight != 0:
                targets[b.server_id] = 0
        changes.append((lb, targets))
    return WeightPlan(
        zone_id=zone_id,
        action="evacuate",
        fraction=0.0,
        calls=batch_calls(changes, settings=settings),
        saved_weights=merge_saved_weights(remembered, seen),
        quota=settings.slb_write_quota,
        window_s=settings.slb_quota_window_s,
    )


def plan_restore(
    zone_id: str,
    lbs: Iterable[LoadBalancer],
    saved_weights: Mapping[str, Mapping[str, int]],
    *,
    step: int,
    settings: ZoneHealthSettings = DEFAULT_SETTINGS,
) -> WeightPlan:
    """Restore step ``step`` (index into ``settings.restore_steps``) of ``zone_id``'s backends.

    Each backend in the zone that ``saved_weights`` remembers goes to
    ``restore_weight(saved, restore_steps[step])``; backends not remembered, and remembered servers no
    longer attached, are left out. ``IndexError`` for a step outside the settings' steps.
    """
    steps = settings.restore_steps
    if not 0 <= step < len(steps):
        raise IndexError(f"restore step {step} is outside 0..{len(steps) - 1} ({list(steps)})")
    fraction = steps[step]
    changes = []
    for lb in lbs:
        remembered = saved_weights.get(lb.lb_id, {})
        targets = {}
        for b in lb.backends:
            if b.zone != zone_id or b.server_id not in remembered:
                continue
            target = restore_weight(int(remembered[b.server_id]), fraction)
            if b.weight != target:
                targets[b.server_id] = target
        changes.append((lb, targets))
    return WeightPlan(
        zone_id=zone_id,
        action="restore",
        fraction=fraction,
        calls=batch_calls(changes, settings=settings),
        saved_weights=normalize_saved_weights(saved_weights),
        step=step,
        quota=settings.slb_write_quota,
        window_s=settings.slb_quota_window_s,
    )
