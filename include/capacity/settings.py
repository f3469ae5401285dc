"""The planner's knobs and their defaults, each with the rule or published default it follows.

Sources (``../shared/notes/anchors.md``):

- HPA: https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/ (tolerance 0.1,
  downscale stabilisation 300 s, default scale-up policy ``max(100 %, 4 pods) per 15 s``,
  ``--horizontal-pod-autoscaler-cpu-initialization-period`` 5 min).
- Cluster Autoscaler FAQ (kubernetes/autoscaler ``cluster-autoscaler/FAQ.md``):
  ``scale-down-utilization-threshold`` 0.5, ``scale-down-unneeded-time`` 10 min,
  ``scale-down-delay-after-add`` 10 min, ``max-scale-down-parallelism`` 10,
  ``max-total-unready-percentage`` 45 and ``ok-total-unready-count`` 3, initial node-group back-off 5 min.
- ECS ``RunInstances``: ``Amount`` is 1..100 per call (``../shared/notes/alicloud-sdk-and-wire.md``).
- kubelet ``--max-pods`` default 110.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class CapacitySettings:
    """Every knob of the planner; times in seconds, ratios in 0..1.

    :ivar hpa_tolerance: HPA skips scaling while ``|usage/target - 1| <= tolerance`` (HPA: 0.1).
    :ivar downscale_stabilization_s: scale-down takes the highest recommendation of this window (HPA: 300).
    :ivar scale_up_percent: scale-up policy: at most ``+percent`` of current replicas per period (HPA: 100).
    :ivar scale_up_pods: scale-up policy: or at most ``+pods`` per period, whichever allows more (HPA: 4).
    :ivar scale_up_period_s: the period of the scale-up policies (HPA: 15).
    :ivar scale_down_percent: scale-down policy: at most ``-percent`` of current replicas per run (HPA: 100).
    :ivar cpu_initialization_period_s: a pod younger than this that is not ready counts as 0 % usage on
        scale-up and is left out on scale-down (HPA: 300).
    :ivar utilization_threshold: a node whose max(cpu, memory) requests / allocatable is below this is a
        scale-down candidate (CA: 0.5).
    :ivar unneeded_time_s: a candidate is removed after being unneeded this long (CA: 600).
    :ivar new_node_grace_s: nodes younger than this are never removed
        (CA ``scale-down-delay-after-add``: 600).
    :ivar max_removals_per_run: node removals per cluster per run (CA ``max-scale-down-parallelism``: 10).
    :ivar max_new_nodes_per_pool: new nodes per pool per run (RunInstances ``Amount`` maximum: 100).
    :ivar max_new_nodes_per_run: new nodes per cluster per run (CA ``max-nodes-per-scaleup``: 1000).
    :ivar backoff_s: how long a sold-out offering (zone, instance type) is skipped (CA initial back-off: 300).
    :ivar max_backoff_s: cap of the doubling back-off for an offering that keeps failing (CA: 1800).
    :ivar max_unready_percent: scale-down pauses when more nodes than this percentage are unready ...
    :ivar ok_unready_count: ... and more than this count (CA: 45 % and 3).
    :ivar default_max_pods: pods per node when a node or pool reports no pod capacity (kubelet: 110).
    """

    hpa_tolerance: float = 0.1
    downscale_stabilization_s: float = 300.0
    scale_up_percent: int = 100
    scale_up_pods: int = 4
    scale_up_period_s: float = 15.0
    scale_down_percent: int = 100
    cpu_initialization_period_s: float = 300.0
    utilization_threshold: float = 0.5
    unneeded_time_s: float = 600.0
    new_node_grace_s: float = 600.0
    max_removals_per_run: int = 10
    max_new_nodes_per_pool: int = 100
    max_new_nodes_per_run: int = 1000
    backoff_s: float = 300.0
    max_backoff_s: float = 1800.0
    max_unready_percent: float = 45.0
    ok_unready_count: int = 3
    default_max_pods: int = 110

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.hpa_tolerance < 1:
            problems.append(f"hpa_tolerance must be in [0, 1), got {self.hpa_tolerance}")
        if not 0 < self.utilization_threshold <= 1:
            problems.append(f"utilization_threshold must be in (0, 1], got {self.utilization_threshold}")
        for name in (
            "downscale_stabilization_s",
            "scale_up_period_s",
            "cpu_initialization_period_s",
            "unneeded_time_s",
            "new_node_grace_s",
            "backoff_s",
            "max_backoff_s",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0 seconds, got {getattr(self, name)}")
        for name in (
            "scale_up_percent",
            "scale_up_pods",
            "scale_down_percent",
            "max_removals_per_run",
            "max_new_nodes_per_pool",
            "max_new_nodes_per_run",
            "ok_unready_count",
            "default_max_pods",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if problems:
            raise ValueError("invalid capacity settings: " + "; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CapacitySettings:
        """Defaults overridden by ``data``; an unknown key raises ``ValueError`` naming it."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown capacity settings {unknown}; known: {sorted(known)}")
        return replace(cls(), **data)


DEFAULT_SETTINGS = CapacitySettings()
