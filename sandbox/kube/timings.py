"""How long the simulated clusters take for things: fast for tests, compressed-realistic for the demo."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class KubeTimings:
    """Seconds; each can be overridden with ``SANDBOX_KUBE_TIMINGS='{"pod_eviction_s": 300}'``."""

    api_boot_s: float  # control-plane instance Running -> API server answers
    node_join_s: float  # worker instance Running -> Node registered and Ready
    pod_start_s: float  # pod bound to a node -> Running and Ready
    node_monitor_grace_s: float  # instance stopped/unreachable -> Node NotReady
    pod_eviction_s: float  # Node NotReady -> its pods evicted (rescheduled elsewhere)
    node_removal_s: float  # instance deleted -> Node object removed by the cloud controller


PRESETS = {
    "fast": KubeTimings(
        api_boot_s=0.3,
        node_join_s=0.5,
        pod_start_s=0.3,
        node_monitor_grace_s=0.6,
        pod_eviction_s=1.5,
        node_removal_s=0.5,
    ),
    "demo": KubeTimings(
        api_boot_s=8.0,
        node_join_s=6.0,
        pod_start_s=2.0,
        node_monitor_grace_s=10.0,
        pod_eviction_s=30.0,
        node_removal_s=10.0,
    ),
}


class TimingsError(ValueError):
    """SANDBOX_KUBE_TIMINGS does not parse or names an unknown timing."""


def kube_timings(preset: str) -> KubeTimings:
    """The preset named like the sandbox's timings (``fast`` or ``demo``), with env overrides applied."""
    base = PRESETS.get(preset, PRESETS["demo"])
    raw = os.environ.get("SANDBOX_KUBE_TIMINGS", "").strip()
    if not raw:
        return base
    try:
        overrides = json.loads(raw)
    except ValueError as exc:
        raise TimingsError(f"SANDBOX_KUBE_TIMINGS must be a JSON object: {exc}") from exc
    known = {f.name for f in fields(KubeTimings)}
    if not isinstance(overrides, dict) or set(overrides) - known:
        raise TimingsError(f"SANDBOX_KUBE_TIMINGS keys must be among {', '.join(sorted(known))}")
    try:
        values = {k: float(v) for k, v in overrides.items()}
    except (TypeError, ValueError) as exc:
        raise TimingsError(f"SANDBOX_KUBE_TIMINGS values must be numbers: {exc}") from exc
    negative = sorted(k for k, v in values.items() if v < 0)
    if negative:
        raise TimingsError(f"SANDBOX_KUBE_TIMINGS values must not be negative: {', '.join(negative)}")
    return replace(base, **values)
