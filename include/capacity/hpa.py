"""The pod tier: desired replicas of an autoscaled Deployment by the HPA rule, with schedule floors.

The rule and its defaults are those of the Horizontal Pod Autoscaler
(https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/, "Algorithm details",
"Default Behavior"):

1. ``ratio = utilisation / target`` where utilisation is the pods' CPU usage over their CPU requests;
   the result is ``ceil(ratio x pods counted)``; nothing changes while ``|ratio - 1| <= tolerance`` (0.1).
2. Pods that are terminal are ignored. Ready pods without metrics count as 100 % of their request (or
   of the target when it is above 100 %) when scaling down and 0 % when scaling up; pods that are not
   ready count as 0 % when scaling up and are left out otherwise. If counting them reverses the
   direction or lands within the tolerance, nothing changes.
3. Scale-down is stabilised: the result is the highest recommendation of the last 300 s
   (``downscale_stabilization_s``); the history is an input and an output.
4. Scale-up is rate-limited by the default policy: at most ``max(+100 %, +4 pods)`` per 15 s period;
   a run is at least one period after the last, so the limit applies once per run.
5. The result is clamped to ``[max(min-replicas, active floor), max-replicas]``; a Deployment below that
   minimum goes straight to it (as HPA does for ``minReplicas``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from include.capacity.model import DeploymentView, PodView, floor_at
from include.capacity.settings import DEFAULT_SETTINGS, CapacitySettings


@dataclass(frozen=True)
class Recommendation:
    """The pod tier's answer for one Deployment.

    :ivar replicas: what ``spec.replicas`` should be (equal to ``previous`` when nothing changes).
    :ivar raw: the HPA rule's result before stabilisation, rate limits and clamping (``None`` when the
        rule could not be computed: no pod has metrics).
    :ivar history: the recommendations of the stabilisation window, this one included, to store.
    :ivar reason: which rule decided, in one line.
    """

    key: str
    previous: int
    replicas: int
    raw: int | None
    history: tuple[tuple[float, int], ...]
    reason: str

    @property
    def changed(self) -> bool:
        return self.replicas != self.previous


def _ratio(usage: Iterable[float], requests: Iterable[int], target_percent: int) -> float:
    total_request = sum(requests)
    if total_request <= 0:
        return 1.0
    return (sum(usage) * 100.0 / total_request) / target_percent


def hpa_rule(
    deployment: DeploymentView, pods: Iterable[PodView], settings: CapacitySettings = DEFAULT_SETTINGS
) -> tuple[int | None, str]:
    """Step 1 and 2 of the module docstring: ``(desired, explanation)``; desired ``None`` without metrics.

    ``pods`` are the Deployment's pods; the current count is ``deployment.replicas``.
    """
    current = deployment.replicas
    target = deployment.target_cpu_percent
    measured: list[PodView] = []
    missing: list[PodView] = []
    unready: list[PodView] = []
    for pod in pods:
        if pod.terminal:
            continue
        if not pod.ready:
            unready.append(pod)
        elif pod.cpu_usage_m is None:
            missing.append(pod)
        else:
            measured.append(pod)
    if not measured:
        return None, "no ready pod has CPU metrics; replicas left as they are"
    usage = [float(p.cpu_usage_m or 0) for p in measured]
    requests = [p.requests.cpu_m for p in measured]
    ratio = _ratio(usage, requests, target)
    utilisation = round(ratio * target)
    tolerance = settings.hpa_tolerance
    if not missing and not unready:
        if abs(ratio - 1.0) <= tolerance:
            return (
                current,
                f"CPU at {utilisation}% of requests, target {target}% (within tolerance {tolerance})",
            )
        desired = math.ceil(ratio * len(measured))
        return (
            desired,
            f"CPU at {utilisation}% of requests, target {target}%: ceil({ratio:.2f} x {len(measured)})",
        )

    counted = list(measured)
    usage_all = list(usage)
    if ratio < 1.0:
        fallback = max(100, target) / 100.0
        for pod in missing:
            counted.append(pod)
            usage_all.append(pod.requests.cpu_m * fallback)
    elif ratio > 1.0:
        for pod in missing:
            counted.append(pod)
            usage_all.append(0.0)
    if ratio > 1.0:
        for pod in unready:
            counted.append(pod)
            usage_all.append(0.0)
    new_ratio = _ratio(usage_all, [p.requests.cpu_m for p in counted], target)
    extra = f"{len(missing)} without metrics, {len(unready)} not ready"
    if abs(new_ratio - 1.0) <= tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current, (
            f"CPU at {utilisation}% of requests, target {target}%; counting {extra} as HPA does "
            "leaves it within tolerance or reverses the direction"
        )
    desired = math.ceil(new_ratio * len(counted))
    if (new_ratio < 1.0 and desired > current) or (new_ratio > 1.0 and desired < current):
        return (
            current,
            f"CPU at {utilisation}% of requests, target {target}% ({extra}): no change in direction",
        )
    return desired, (
        f"CPU at {utilisation}% of requests, target {target}% ({extra}, counted as HPA does): "
        f"ceil({new_ratio:.2f} x {len(counted)})"
    )


def scale_up_limit(current: int, settings: CapacitySettings = DEFAULT_SETTINGS) -> int:
    """Highest replicas one run may reach from ``current``:
    ``max(current x (1 + percent), current + pods)``."""
    by_percent = math.ceil(current * (100 + settings.scale_up_percent) / 100)
    return max(by_percent, current + settings.scale_up_pods)


def scale_down_limit(current: int, settings: CapacitySettings = DEFAULT_SETTINGS) -> int:
    """Lowest replicas one run may reach from ``current`` (HPA default: 100 % per period, so 0)."""
    return max(0, current - math.floor(current * settings.scale_down_percent / 100))


def recommend(
    deployment: DeploymentView,
    pods: Iterable[PodView],
    now: float,
    history: Iterable[tuple[float, int]] = (),
    settings: CapacitySettings = DEFAULT_SETTINGS,
) -> Recommendation:
    """The pod tier for one autoscaled Deployment (steps 1-5 of the module docstring).

    :param pods: the Deployment's pods (``DeploymentView.owns``).
    :param now: epoch seconds (UTC): selects the floors and ages the history.
    :param history: earlier ``(time, raw recommendation)`` pairs; those older than the window are dropped.
    """
    current = deployment.replicas
    window = settings.downscale_stabilization_s
    kept = tuple((t, n) for t, n in history if now - t < window and t <= now)
    floor = floor_at(deployment.floors, now)
    low = min(max(deployment.min_replicas, floor), deployment.max_replicas)
    high = deployment.max_replicas
    floor_note = f" (floor {floor} active)" if floor > deployment.min_replicas else ""

    if current > high:
        return Recommendation(deployment.key, current, high, None, kept, f"above max-replicas {high}")
    if current < low:
        return Recommendation(
            deployment.key, current, low, None, kept, f"below the minimum {low}{floor_note}: raised to it"
        )
    if current == 0:
        return Recommendation(
            deployment.key, 0, 0, None, kept, "scaled to 0: autoscaling is off until raised"
        )

    raw, why = hpa_rule(deployment, pods, settings)
    if raw is None:
        return Recommendation(deployment.key, current, current, None, kept, why)
    new_history = (*kept, (now, raw))

    desired = raw
    reason = why
    if raw < current:
        stabilised = min(current, max(n for _, n in new_history))
        if stabilised > raw:
            reason += (
                f"; scale-down stabilised to {stabilised} (highest recommendation of the last {window:g} s)"
            )
        desired = stabilised
        lowest = scale_down_limit(current, settings)
        if desired < lowest:
            desired = lowest
            reason += f"; scale-down rate limit {lowest}"
    elif raw > current:
        limit = scale_up_limit(current, settings)
        if raw > limit:
            desired = limit
            reason += (
                f"; scale-up limited to {limit} (max of +{settings.scale_up_percent}% or "
                f"+{settings.scale_up_pods} pods per {settings.scale_up_period_s:g} s)"
            )
    if desired > high:
        desired = high
        reason += f"; clamped to max-replicas {high}"
    if desired < low:
        desired = low
        reason += f"; clamped to the minimum {low}{floor_note}"
    return Recommendation(deployment.key, current, desired, raw, new_history, reason)
