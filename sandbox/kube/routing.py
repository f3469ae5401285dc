"""Requests and responses of the Kubernetes API, and how a path maps to a resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.kube.cluster import Cluster
from sandbox.kube.resources import GROUP_VERSIONS, ResourceType, lookup
from sandbox.kube.selectors import (
    parse_field_selector,
    parse_label_selector,
    selector_object_to_string,
    supported_fields,
)


@dataclass
class ApiRequest:
    method: str
    parts: list[str]
    query: dict[str, str]
    accept: str = "application/json"
    content_type: str = "application/json"
    body: bytes = b""


@dataclass
class WatchSpec:
    """A watch to stream: resource type, scope, filters, the version to start after, a time limit."""

    rt: ResourceType
    namespace: str | None
    label_test: Any
    field_test: Any
    since: int | None
    timeout_s: float


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    watch: WatchSpec | None = None


@dataclass
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    sub: str | None


def resolve(parts: list[str]) -> Target | None:
    """Map path segments (after ``/k8s/<cluster>/``) to a resource target, or None."""
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if (group, version) not in GROUP_VERSIONS or not rest:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        inner = lookup(group, version, rest[2])
        if inner is not None and inner.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = lookup(group, version, rest[0])
    if rt is None or len(rest) > 3:
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if rt.namespaced and namespace is None and name is not None:
        return None
    if sub is not None and sub not in rt.subresources:
        return None
    return Target(rt, namespace, name, sub)


def filtered(cluster: Cluster, req: ApiRequest, target: Target) -> list[dict[str, Any]]:
    """Stored objects of the target's scope that match the request's label and field selectors."""
    label_test = parse_label_selector(req.query.get("labelSelector"))
    field_test = parse_field_selector(
        req.query.get("fieldSelector"), supported_fields(target.rt.kind), target.rt.kind
    )
    return [
        o
        for o in cluster.store.items(target.rt, target.namespace)
        if label_test(o["metadata"].get("labels") or {}) and field_test(o)
    ]


def scale_of(deployment: dict[str, Any]) -> dict[str, Any]:
    """The ``autoscaling/v1`` Scale view of a Deployment."""
    meta = deployment["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        },
        "spec": {"replicas": deployment["spec"].get("replicas", 0)},
        "status": {
            "replicas": (deployment.get("status") or {}).get("replicas", 0),
            "selector": selector_object_to_string(deployment["spec"].get("selector")),
        },
    }
