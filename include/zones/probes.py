"""One probe of every availability zone, from four observations read through the cloud and Kubernetes APIs.

The flow fills the observation dataclasses from API reads (never by connecting to a simulated
address) and :func:`evaluate_zones` turns them into one :class:`ZoneProbe` per zone:

- ``ecs``: ECS instance ``Status`` of the fleet's instances in the zone (``DescribeInstances``).
  ``Running`` is healthy; ``Pending``/``Starting`` are on their way and not counted; ``Stopping``,
  ``Stopped`` and anything else are unhealthy.
- ``slb``: ``ServerHealthStatus`` of the zone's backends on the fleet's load balancers
  (``DescribeHealthStatus``), one target per (load balancer, listener port, server). ``normal`` is
  healthy, ``abnormal`` unhealthy, ``unavailable`` ("health check not completed") not counted, and a
  backend behind a stopped listener is unhealthy whatever its status says (issue 12: a stopped
  listener counts).
- ``nodes``: ``Ready`` condition of the Kubernetes nodes in the zone (label
  ``topology.kubernetes.io/zone``), all clusters pooled.
- ``apiserver``: readiness of each control-plane member of a cluster whose control plane is in the zone.

Rule: a signal's fraction is healthy / counted targets. The probe is ``good`` when every deciding signal
(``settings.signals``) that has counted targets in the zone reaches the zone's minimum healthy fraction
(0.5 by default, Envoy's panic threshold), ``bad`` when one does not, and ``unknown`` when the zone has
no counted target in any deciding signal: a zone with nothing to look at is not failing.
The threshold is per signal, not pooled, so that many healthy instances cannot hide NotReady nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from include.zones.settings import DEFAULT_SETTINGS, SIGNALS, ZoneHealthSettings

Verdict = Literal["good", "bad", "unknown"]
BackendHealth = Literal["normal", "abnormal", "unavailable"]

#: ECS statuses counted healthy / not counted (on their way up); any other status is unhealthy
HEALTHY_INSTANCE_STATUSES = frozenset({"Running"})
TRANSITIONAL_INSTANCE_STATUSES = frozenset({"Pending", "Starting"})
#: target ids named in a signal's reason, at most
REASON_TARGETS = 5


@dataclass(frozen=True)
class InstanceObservation:
    """One fleet ECS instance; ``status`` as ``DescribeInstances`` reports it (``Running``, ``Stopped``)."""

    instance_id: str
    zone: str
    status: str


@dataclass(frozen=True)
class BackendObservation:
    """One backend's health on one listener of a fleet load balancer (``DescribeHealthStatus``).

    :ivar lb_role: ``apiserver-lb`` or ``service-lb`` (tag ``yunfleet:role``).
    :ivar health: ``ServerHealthStatus``: ``normal`` | ``abnormal`` | ``unavailable``.
    :ivar listener_running: ``False`` when the listener's ``Status`` is ``stopped``.
    """

    lb_id: str
    lb_role: str
    server_id: str
    zone: str
    health: BackendHealth
    listener_port: int | None = None
    listener_running: bool = True


@dataclass(frozen=True)
class NodeObservation:
    """One Kubernetes node's ``Ready`` condition (``True`` is ready; ``False`` and ``Unknown`` are not)."""

    cluster: str
    zone: str
    name: str
    ready: bool


@dataclass(frozen=True)
class ApiServerObservation:
    """Readiness of one control-plane member (``member``: instance id or node name) in ``zone``."""

    cluster: str
    zone: str
    ready: bool
    member: str = ""


@dataclass(frozen=True)
class SignalHealth:
    """One signal in one zone: ``healthy`` of ``counted`` targets; ``unhealthy`` names the bad ones
    (sorted, at most :data:`REASON_TARGETS`); ``ignored`` targets were not counted (on their way)."""

    signal: str
    healthy: int
    counted: int
    ignored: int = 0
    unhealthy: tuple[str, ...] = ()

    @property
    def fraction(self) -> float | None:
        """healthy / counted in 0..1, ``None`` without counted targets."""
        return self.healthy / self.counted if self.counted else None

    def to_json(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "healthy": self.healthy,
            "counted": self.counted,
            "ignored": self.ignored,
            "unhealthy": list(self.unhealthy),
            "fraction": self.fraction,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignalHealth:
        return cls(
            data["signal"],
            int(data["healthy"]),
            int(data["counted"]),
            int(data.get("ignored", 0)),
            tuple(data.get("unhealthy", ())),
        )


@dataclass(frozen=True)
class ZoneProbe:
    """The probe of one zone at ``at`` (UTC): ``verdict`` good | bad | unknown, the per-signal health
    (every signal of :data:`include.zones.settings.SIGNALS`), and a one-line human ``reason``."""

    zone_id: str
    at: datetime
    verdict: Verdict
    signals: Mapping[str, SignalHealth]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "at": self.at.isoformat(),
            "verdict": self.verdict,
            "signals": {k: v.to_json() for k, v in self.signals.items()},
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ZoneProbe:
        return cls(
            zone_id=data["zone_id"],
            at=datetime.fromisoformat(data["at"]),
            verdict=data["verdict"],
            signals={k: SignalHealth.from_json(v) for k, v in data["signals"].items()},
            reason=data["reason"],
        )


class _Tally:
    def __init__(self, signal: str) -> None:
        self.signal = signal
        self.healthy = 0
        self.ignored = 0
        self.bad: list[str] = []

    def add(self, target: str, healthy: bool | None) -> None:
        if healthy is None:
            self.ignored += 1
        elif healthy:
            self.healthy += 1
        else:
            self.bad.append(target)

    def result(self) -> SignalHealth:
        return SignalHealth(
            self.signal,
            self.healthy,
            self.healthy + len(self.bad),
            self.ignored,
            tuple(sorted(self.bad)[:REASON_TARGETS]),
        )


def instance_healthy(status: str) -> bool | None:
    """``True`` for Running, ``None`` (not counted) for Pending/Starting, ``False`` otherwise."""
    if status in HEALTHY_INSTANCE_STATUSES:
        return True
    if status in TRANSITIONAL_INSTANCE_STATUSES:
        return None
    return False


def backend_healthy(observation: BackendObservation) -> bool | None:
    """``False`` behind a stopped listener or when ``abnormal``; ``True`` when ``normal``; ``None``
    (not counted) when ``unavailable`` on a running listener. An unknown status raises ``ValueError``."""
    if not observation.listener_running:
        return False
    if observation.health == "normal":
        return True
    if observation.health == "abnormal":
        return False
    if observation.health == "unavailable":
        return None
    raise ValueError(
        f"backend {observation.server_id} on {observation.lb_id}: unknown ServerHealthStatus "
        f"{observation.health!r}; expected normal, abnormal or unavailable"
    )


def evaluate_zones(
    zones: Iterable[str],
    *,
    at: datetime,
    instances: Iterable[InstanceObservation] = (),
    backends: Iterable[BackendObservation] = (),
    nodes: Iterable[NodeObservation] = (),
    apiservers: Iterable[ApiServerObservation] = (),
    settings: ZoneHealthSettings = DEFAULT_SETTINGS,
) -> dict[str, ZoneProbe]:
    """``{zone_id: ZoneProbe}`` for ``zones`` and every zone an observation names, sorted by zone id.

    ``at`` is the probe time (timezone-aware). See the module docstring for the rule.
    """
    if at.tzinfo is None:
        raise ValueError("the probe time must be timezone-aware (UTC)")
    tallies: dict[str, dict[str, _Tally]] = {}

    def tally(zone: str, signal: str) -> _Tally:
        per_zone = tallies.setdefault(zone, {s: _Tally(s) for s in SIGNALS})
        return per_zone[signal]

    for zone in zones:
        tallies.setdefault(zone, {s: _Tally(s) for s in SIGNALS})
    for i in instances:
        tally(i.zone, "ecs").add(i.instance_id, instance_healthy(i.status))
    for b in backends:
        port = "" if b.listener_port is None else f":{b.listener_port}"
        tally(b.zone, "slb").add(f"{b.lb_id}{port}/{b.server_id}", backend_healthy(b))
    for n in nodes:
        tally(n.zone, "nodes").add(f"{n.cluster}/{n.name}", n.ready)
    for a in apiservers:
        member = f"/{a.member}" if a.member else ""
        tally(a.zone, "apiserver").add(f"{a.cluster}{member}", a.ready)

    return {
        zone: judge(zone, {s: t.result() for s, t in tallies[zone].items()}, at=at, settings=settings)
        for zone in sorted(tallies)
    }


def judge(
    zone_id: str,
    signals: Mapping[str, SignalHealth],
    *,
    at: datetime,
    settings: ZoneHealthSettings = DEFAULT_SETTINGS,
) -> ZoneProbe:
    """The verdict of one zone from its per-signal health (the rule of the module docstring)."""
    threshold = settings.min_healthy_for(zone_id)
    deciding = [signals[s] for s in settings.signals if s in signals and signals[s].counted]
    if not deciding:
        return ZoneProbe(zone_id, at, "unknown", dict(signals), f"{zone_id}: no target to probe")
    failing = [s for s in deciding if (s.fraction or 0.0) < threshold]
    if failing:
        parts = [
            f"{s.signal} {s.healthy}/{s.counted} healthy"
            + (f" ({', '.join(s.unhealthy)}{'...' if s.counted - s.healthy > len(s.unhealthy) else ''})")
            for s in failing
        ]
        return ZoneProbe(
            zone_id, at, "bad", dict(signals), f"{zone_id}: {'; '.join(parts)} < {threshold:.0%} required"
        )
    summary = ", ".join(f"{s.signal} {s.healthy}/{s.counted}" for s in deciding)
    return ZoneProbe(zone_id, at, "good", dict(signals), f"{zone_id}: {summary} healthy")
