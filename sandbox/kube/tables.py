"""Server-side printing: ``Table`` responses for kubectl's human-readable output (and ``-o wide``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.kube.store import parse_time

Row = list[Any]


def human_age(seconds: float) -> str:
    """kubectl's short duration format: 45s, 5m10s, 3h, 2d4h, 400d."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = s // 86400
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def _age(obj: dict[str, Any], now: float, field: str | None = None) -> str:
    ts = parse_time(obj.get(field) if field else obj["metadata"].get("creationTimestamp"))
    return "<unknown>" if ts is None else human_age(now - ts)


def _condition(obj: dict[str, Any], kind: str) -> str | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status"))
    return None


def _node_row(obj: dict[str, Any], now: float) -> Row:
    ready = _condition(obj, "Ready")
    status = {"True": "Ready", "False": "NotReady", "Unknown": "NotReady"}.get(ready or "", "Unknown")
    if (obj.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(
        k.split("/", 1)[1]
        for k in (obj["metadata"].get("labels") or {})
        if k.startswith("node-role.kubernetes.io/")
    )
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    addresses = {a["type"]: a["address"] for a in (obj.get("status") or {}).get("addresses") or []}
    return [
        obj["metadata"]["name"],
        status,
        ",".join(roles) or "<none>",
        _age(obj, now),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        addresses.get("ExternalIP", "<none>"),
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _pod_row(obj: dict[str, Any], now: float) -> Row:
    status = obj.get("status") or {}
    containers = (obj.get("spec") or {}).get("containers") or []
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    reason = status.get("reason") or status.get("phase", "Pending")
    if obj["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    for cstatus in statuses:
        waiting = (cstatus.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
    return [
        obj["metadata"]["name"],
        f"{ready}/{len(containers)}",
        reason,
        restarts,
        _age(obj, now),
        status.get("podIP") or "<none>",
        (obj.get("spec") or {}).get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        "<none>",
    ]


def _deployment_row(obj: dict[str, Any], now: float) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    selector = ",".join(
        f"{k}={v}" for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items()
    )
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(obj, now),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        selector,
    ]


def _service_row(obj: dict[str, Any], now: float) -> Row:
    spec = obj.get("spec") or {}
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if spec.get("type") == "LoadBalancer":
        external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or "<pending>"
    elif spec.get("type") == "ExternalName":
        external = spec.get("externalName", "<none>")
    else:
        external = ",".join(spec.get("externalIPs") or []) or "<none>"
    ports = (
        ",".join(
            f"{p['port']}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
            if p.get("nodePort")
            else f"{p['port']}/{p.get('protocol', 'TCP')}"
            for p in spec.get("ports") or []
        )
        or "<none>"
    )
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or "<none>"
    return [
        obj["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        external,
        ports,
        _age(obj, now),
        selector,
    ]


def _namespace_row(obj: dict[str, Any], now: float) -> Row:
    return [obj["metadata"]["name"], (obj.get("status") or {}).get("phase", "Active"), _age(obj, now)]


def _endpoints_row(obj: dict[str, Any], now: float) -> Row:
    pairs = [
        f"{a['ip']}:{p['port']}"
        for s in obj.get("subsets") or []
        for a in s.get("addresses") or []
        for p in s.get("ports") or []
    ]
    shown = ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")
    return [obj["metadata"]["name"], shown or "<none>", _age(obj, now)]


def _event_row(obj: dict[str, Any], now: float) -> Row:
    involved = obj.get("involvedObject") or {}
    return [
        _age(obj, now, "lastTimestamp"),
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        obj.get("message", ""),
        involved.get("fieldPath", ""),
        (obj.get("source") or {}).get("component", ""),
        obj.get("count", 1),
        _age(obj, now, "firstTimestamp"),
        obj["metadata"]["name"],
    ]


def _pdb_row(obj: dict[str, Any], now: float) -> Row:
    spec = obj.get("spec") or {}
    return [
        obj["metadata"]["name"],
        str(spec.get("minAvailable", "N/A")),
        str(spec.get("maxUnavailable", "N/A")),
        (obj.get("status") or {}).get("disruptionsAllowed", 0),
        _age(obj, now),
    ]


def _cols(*columns: tuple[str, str, int]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "type": kind,
            "format": "name" if name == "Name" else "",
            "description": name,
            "priority": priority,
        }
        for name, kind, priority in columns
    ]


_TABLES: dict[str, tuple[list[dict[str, Any]], Callable[[dict[str, Any], float], Row]]] = {
    "Node": (
        _cols(
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ),
        _node_row,
    ),
    "Pod": (
        _cols(
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ),
        _pod_row,
    ),
    "Deployment": (
        _cols(
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "string", 0),
            ("Available", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ),
        _deployment_row,
    ),
    "Service": (
        _cols(
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ),
        _service_row,
    ),
    "Namespace": (
        _cols(("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)),
        _namespace_row,
    ),
    "Endpoints": (
        _cols(("Name", "string", 0), ("Endpoints", "string", 0), ("Age", "string", 0)),
        _endpoints_row,
    ),
    "Event": (
        _cols(
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Count", "integer", 1),
            ("First Seen", "string", 1),
            ("Name", "string", 1),
        ),
        _event_row,
    ),
    "PodDisruptionBudget": (
        _cols(
            ("Name", "string", 0),
            ("Min Available", "string", 0),
            ("Max Unavailable", "string", 0),
            ("Allowed Disruptions", "integer", 0),
            ("Age", "string", 0),
        ),
        _pdb_row,
    ),
}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def to_table(
    kind: str,
    objects: list[dict[str, Any]],
    resource_version: str,
    now: float,
    include_object: str = "Metadata",
) -> dict[str, Any]:
    columns, row_fn = _TABLES.get(
        kind,
        (
            _cols(("Name", "string", 0), ("Age", "string", 0)),
            lambda o, n: [o["metadata"]["name"], _age(o, n)],
        ),
    )
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": row_fn(obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns,
        "rows": rows,
    }
