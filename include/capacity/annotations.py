"""Deployment annotations of the pod tier, parsed into a :class:`DeploymentView`.

Contract keys (ARCHITECTURE.md): ``yunfleet.io/autoscale: "true"``, ``yunfleet.io/min-replicas``,
``yunfleet.io/max-replicas``, ``yunfleet.io/target-cpu-utilization`` (percent of the pod's CPU request).
Ours: ``yunfleet.io/schedule-floors``, time-of-day minimums in UTC, e.g. ``"08:00-20:00=5,20:00-23:00=2"``
(a window whose end is not after its start wraps past midnight; overlapping windows: the highest wins).

A bad annotation never raises out of :func:`deployment_view`: the view carries ``error`` and the
planner leaves that Deployment as it is and reports the error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from include.capacity.model import AffinityTerm, DeploymentView, Floor, Toleration

AUTOSCALE_ANNOTATION = "yunfleet.io/autoscale"
MIN_REPLICAS_ANNOTATION = "yunfleet.io/min-replicas"
MAX_REPLICAS_ANNOTATION = "yunfleet.io/max-replicas"
TARGET_CPU_ANNOTATION = "yunfleet.io/target-cpu-utilization"
FLOORS_ANNOTATION = "yunfleet.io/schedule-floors"

#: HPA's ``minReplicas`` default
DEFAULT_MIN_REPLICAS = 1
#: ``kubectl autoscale``'s default CPU target when none is given (percent)
DEFAULT_TARGET_CPU_PERCENT = 80

_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})=(\d+)$")


class AnnotationError(ValueError):
    """An annotation value the pod tier cannot use; the message names the annotation and the fix."""


def _minute(hours: str, minutes: str, text: str) -> int:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return 1440
    if h > 23 or m > 59:
        raise AnnotationError(f"{FLOORS_ANNOTATION}: {text!r} has a time outside 00:00-24:00")
    return h * 60 + m


def parse_floors(text: str) -> tuple[Floor, ...]:
    """``"HH:MM-HH:MM=N,..."`` (UTC) into floors; empty text gives none.

    :raises AnnotationError: a window that is not ``HH:MM-HH:MM=N``, a time outside the day, or a
        window that starts where it ends.
    """
    floors = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = _WINDOW.match(part)
        if match is None:
            raise AnnotationError(
                f"{FLOORS_ANNOTATION}: {part!r} is not HH:MM-HH:MM=replicas (UTC), e.g. 08:00-20:00=5"
            )
        start = _minute(match[1], match[2], part)
        end = _minute(match[3], match[4], part)
        if start == end or start == 1440:
            raise AnnotationError(f"{FLOORS_ANNOTATION}: {part!r} is an empty window")
        floors.append(Floor(start, end % 1440 if end == 1440 and start > 0 else end, int(match[5])))
    return tuple(floors)


def _int(annotations: Mapping[str, str], key: str, default: int | None, lowest: int) -> int:
    raw = annotations.get(key)
    if raw is None or raw.strip() == "":
        if default is None:
            raise AnnotationError(f'{key} is required with {AUTOSCALE_ANNOTATION}: "true"')
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise AnnotationError(f"{key}: {raw!r} is not a whole number") from None
    if value < lowest:
        raise AnnotationError(f"{key}: {value} is below {lowest}")
    return value


def deployment_view(
    namespace: str,
    name: str,
    replicas: int,
    annotations: Mapping[str, str] | None,
    *,
    pod_cpu_request_m: int,
    pod_memory_request_b: int = 0,
    node_selector: Mapping[str, str] | None = None,
    required_terms: tuple[AffinityTerm, ...] = (),
    tolerations: tuple[Toleration, ...] = (),
) -> DeploymentView:
    """The pod tier's view of a Deployment; ``error`` set (and ``autoscale`` off) for bad annotations.

    Rules: ``max-replicas`` is required when autoscaling (as HPA's ``maxReplicas``); ``min-replicas``
    defaults to 1 and must not exceed max; the target is 1..1000 percent; the pod template must request
    CPU (HPA refuses a utilisation target without a request); floors must not exceed max.
    """
    annotations = annotations or {}
    view = DeploymentView(
        namespace=namespace,
        name=name,
        replicas=replicas,
        autoscale=False,
        min_replicas=replicas,
        max_replicas=replicas,
        target_cpu_percent=0,
        pod_cpu_request_m=pod_cpu_request_m,
        pod_memory_request_b=pod_memory_request_b,
        node_selector=dict(node_selector or {}),
        required_terms=required_terms,
        tolerations=tolerations,
    )
    if annotations.get(AUTOSCALE_ANNOTATION, "").strip().lower() != "true":
        return view
    try:
        low = _int(annotations, MIN_REPLICAS_ANNOTATION, DEFAULT_MIN_REPLICAS, 0)
        high = _int(annotations, MAX_REPLICAS_ANNOTATION, None, 1)
        target = _int(annotations, TARGET_CPU_ANNOTATION, DEFAULT_TARGET_CPU_PERCENT, 1)
        if target > 1000:
            raise AnnotationError(f"{TARGET_CPU_ANNOTATION}: {target} is above 1000 percent")
        if low > high:
            raise AnnotationError(
                f"{MIN_REPLICAS_ANNOTATION} {low} is above {MAX_REPLICAS_ANNOTATION} {high}"
            )
        if pod_cpu_request_m <= 0:
            raise AnnotationError(
                f"the pod template requests no CPU; {TARGET_CPU_ANNOTATION} is a percentage of the request"
            )
        floors = parse_floors(annotations.get(FLOORS_ANNOTATION, ""))
        over = [f for f in floors if f.replicas > high]
        if over:
            raise AnnotationError(
                f"{FLOORS_ANNOTATION}: floor {over[0].replicas} is above {MAX_REPLICAS_ANNOTATION} {high}"
            )
    except AnnotationError as error:
        return replace(
            view, error=f"{namespace}/{name}: {error}; the Deployment is left at {replicas} replicas"
        )
    return replace(
        view, autoscale=True, min_replicas=low, max_replicas=high, target_cpu_percent=target, floors=floors
    )
