"""Zone health and failover knobs, their defaults, and the published default or rule each follows.

Sources (``../shared/notes/anchors.md`` and ``anchors-2.md``):

- Probe interval 5 s for the watcher: the issue's detection budget (outage to SLB weights 0 in <= 20 s
  with 3 probes to fail); faster than Azure Traffic Manager "fast failover" (10 s) and Route 53
  (10 s / 30 s). The scheduled run follows Alibaba GTM's default check interval (60 s).
- ``fail_after`` 3: Route 53 ``FailureThreshold`` default 3; the CCM's SLB unhealthy threshold 3.
- ``recover_after`` 5 over ``stable_window_s`` 60: hysteresis so a zone flapping every few seconds
  never comes back; 60 s is k8gb's ``zoneDelegationRecoverySeconds`` and AWS ELB's DNS TTL.
- ``min_healthy_fraction`` 0.5: Envoy's panic threshold default (50 %); AWS ELB and GCP take a per-zone
  minimum-healthy count or percentage the same way.
- ``evacuation_expiry_s`` 3600 within 60 s .. 72 h: AWS ARC zonal shift (every shift expires, 1 min to
  72 h, extendable).
- ``restore_steps`` (0.1, 0.5, 1.0): GCP Cloud DNS failover "trickle ratio" (typically 0.1) before full
  failback; Alibaba GTM 3.0's "batch recovery".
- SLB write quota: ``SetBackendServers`` 90 calls per 60 s per region and account, at most 20 servers
  per call (CLB quota page; ``TooManyBackendServers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from itertools import pairwise
from typing import Any

#: the probe signals, in the order they are reported (see :mod:`include.zones.probes`)
SIGNALS = ("ecs", "slb", "nodes", "apiserver")

_FLOAT_KEYS = (
    "probe_interval_s",
    "schedule_interval_s",
    "stable_window_s",
    "min_healthy_fraction",
    "evacuation_expiry_s",
    "max_evacuation_expiry_s",
    "restore_step_interval_s",
    "slb_quota_window_s",
)
_INT_KEYS = ("fail_after", "recover_after", "slb_write_quota", "max_servers_per_call")


@dataclass(frozen=True)
class ZoneHealthSettings:
    """Every knob of zone health and failover; times in seconds, fractions in 0..1.

    :ivar probe_interval_s: the event-driven watcher probes this often (5).
    :ivar schedule_interval_s: the scheduled ``zone_health`` run's period (60, GTM's default).
    :ivar fail_after: consecutive bad probes that fail a zone (3); the first bad probe makes it suspect.
    :ivar recover_after: consecutive good probes a failed zone needs to be healthy again (5) ...
    :ivar stable_window_s: ... spanning at least this long, first good probe to last (60).
    :ivar min_healthy_fraction: a probe is good when every deciding signal with targets in the zone has
        at least this fraction of them healthy (0.5, Envoy's panic threshold).
    :ivar zone_min_healthy_fraction: per-zone overrides of ``min_healthy_fraction`` (``{zone_id: f}``).
    :ivar signals: the signals that decide a probe (all four by default); the others are only reported.
    :ivar evacuation_expiry_s: expiry of an evacuation when the request gives none (3600).
    :ivar max_evacuation_expiry_s: the longest expiry accepted (72 h, as AWS zonal shift).
    :ivar restore_steps: fractions of each backend's previous weight, in order; the last is 1.0.
    :ivar restore_step_interval_s: how long each restore step holds before the health check that lets
        the next one go (30: six 5 s probes, and five SLB health checks at 2 s x 3).
    :ivar slb_write_quota: ``SetBackendServers`` calls allowed per quota window per region (90).
    :ivar slb_quota_window_s: the quota window (60).
    :ivar max_servers_per_call: backend servers per ``SetBackendServers`` call (20, the API's maximum).

    Raises ``ValueError`` listing every bad value.
    """

    probe_interval_s: float = 5.0
    schedule_interval_s: float = 60.0
    fail_after: int = 3
    recover_after: int = 5
    stable_window_s: float = 60.0
    min_healthy_fraction: float = 0.5
    zone_min_healthy_fraction: Mapping[str, float] = field(default_factory=dict)
    signals: tuple[str, ...] = SIGNALS
    evacuation_expiry_s: float = 3600.0
    max_evacuation_expiry_s: float = 72 * 3600.0
    restore_steps: tuple[float, ...] = (0.1, 0.5, 1.0)
    restore_step_interval_s: float = 30.0
    slb_write_quota: int = 90
    slb_quota_window_s: float = 60.0
    max_servers_per_call: int = 20

    def __post_init__(self) -> None:
        problems = []
        for name in ("probe_interval_s", "schedule_interval_s", "slb_quota_window_s"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0 seconds, got {getattr(self, name)}")
        for name in ("stable_window_s", "restore_step_interval_s"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0 seconds, got {getattr(self, name)}")
        for name in ("fail_after", "recover_after", "slb_write_quota"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 1 <= self.max_servers_per_call <= 20:
            problems.append(
                f"max_servers_per_call must be in 1..20 (the API's maximum), got {self.max_servers_per_call}"
            )
        if not 0 < self.min_healthy_fraction <= 1:
            problems.append(f"min_healthy_fraction must be in (0, 1], got {self.min_healthy_fraction}")
        for zone, value in sorted(self.zone_min_healthy_fraction.items()):
            if not 0 < value <= 1:
                problems.append(f"zone_min_healthy_fraction[{zone!r}] must be in (0, 1], got {value}")
        unknown = sorted(set(self.signals) - set(SIGNALS))
        if unknown or not self.signals:
            problems.append(
                f"signals must be a non-empty subset of {list(SIGNALS)}, got {list(self.signals)}"
            )
        if not 60 <= self.max_evacuation_expiry_s <= 72 * 3600:
            problems.append(
                f"max_evacuation_expiry_s must be in 60..259200, got {self.max_evacuation_expiry_s}"
            )
        if not 60 <= self.evacuation_expiry_s <= self.max_evacuation_expiry_s:
            problems.append(
                "evacuation_expiry_s must be in 60..max_evacuation_expiry_s "
                f"({self.max_evacuation_expiry_s}), got {self.evacuation_expiry_s}"
            )
        steps = self.restore_steps
        if (
            not steps
            or steps[-1] != 1.0
            or any(not 0 < s <= 1 for s in steps)
            or any(a >= b for a, b in pairwise(steps))
        ):
            problems.append(
                f"restore_steps must increase strictly within (0, 1] and end with 1.0, got {list(steps)}"
            )
        if problems:
            raise ValueError("invalid zone health settings: " + "; ".join(problems))

    def min_healthy_for(self, zone_id: str) -> float:
        """The minimum healthy fraction of ``zone_id`` (its override, else ``min_healthy_fraction``)."""
        return self.zone_min_healthy_fraction.get(zone_id, self.min_healthy_fraction)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["zone_min_healthy_fraction"] = dict(self.zone_min_healthy_fraction)
        data["signals"] = list(self.signals)
        data["restore_steps"] = list(self.restore_steps)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ZoneHealthSettings:
        """Defaults overridden by ``data`` (a connection extra's or a run's params' dict).

        Raises ``ValueError`` naming the key: unknown keys, values of the wrong type (``True`` is not a
        number), then the range checks of the class.
        """
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown zone health settings {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for key, raw in data.items():
            if key in _FLOAT_KEYS:
                values[key] = _number(key, raw)
            elif key in _INT_KEYS:
                if isinstance(raw, bool) or not isinstance(raw, int):
                    raise ValueError(f"zone health setting {key} must be an integer, got {raw!r}")
                values[key] = raw
            elif key == "restore_steps":
                values[key] = tuple(_number(f"{key}[{i}]", v) for i, v in enumerate(_sequence(key, raw)))
            elif key == "signals":
                items = _sequence(key, raw)
                if not all(isinstance(s, str) for s in items):
                    raise ValueError(f"zone health setting {key} must be a list of names, got {raw!r}")
                values[key] = tuple(items)
            else:  # zone_min_healthy_fraction
                if not isinstance(raw, Mapping):
                    raise ValueError(
                        f"zone health setting {key} must be an object {{zone_id: fraction}}, got {raw!r}"
                    )
                values[key] = {str(z): _number(f"{key}[{z!r}]", v) for z, v in raw.items()}
        return cls(**values)


def _number(key: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"zone health setting {key} must be a number, got {raw!r}")
    return float(raw)


def _sequence(key: str, raw: Any) -> list[Any]:
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise ValueError(f"zone health setting {key} must be a list, got {raw!r}")
    return list(raw)


DEFAULT_SETTINGS = ZoneHealthSettings()
