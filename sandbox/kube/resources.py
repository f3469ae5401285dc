"""The resource types each simulated cluster serves, and the discovery documents built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

READ = ("get", "list", "watch")
ALL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL
    categories: tuple[str, ...] = ()
    has_status: bool = True
    # name -> (group, version, kind, verbs) of subresources listed in discovery
    subresources: dict[str, tuple[str, str, str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.group or 'core'}/{self.plural}"


def _status_sub(group: str, version: str, kind: str) -> tuple[str, str, str, tuple[str, ...]]:
    return (group, version, kind, ("get", "patch", "update"))


NAMESPACES = ResourceType(
    "",
    "v1",
    "namespaces",
    "namespace",
    "Namespace",
    False,
    ("ns",),
    ("create", "delete", "get", "list", "patch", "update", "watch"),
    subresources={"status": _status_sub("", "v1", "Namespace")},
)
NODES = ResourceType(
    "", "v1", "nodes", "node", "Node", False, ("no",), subresources={"status": _status_sub("", "v1", "Node")}
)
PODS = ResourceType(
    "",
    "v1",
    "pods",
    "pod",
    "Pod",
    True,
    ("po",),
    categories=("all",),
    subresources={
        "status": _status_sub("", "v1", "Pod"),
        "eviction": ("policy", "v1", "Eviction", ("create",)),
    },
)
SERVICES = ResourceType(
    "",
    "v1",
    "services",
    "service",
    "Service",
    True,
    ("svc",),
    ("create", "delete", "get", "list", "patch", "update", "watch"),
    ("all",),
    subresources={"status": _status_sub("", "v1", "Service")},
)
ENDPOINTS = ResourceType("", "v1", "endpoints", "endpoints", "Endpoints", True, ("ep",), has_status=False)
EVENTS = ResourceType("", "v1", "events", "event", "Event", True, ("ev",), has_status=False)
SECRETS = ResourceType(
    "",
    "v1",
    "secrets",
    "secret",
    "Secret",
    True,
    (),
    ("create", "delete", "get", "list", "patch", "update", "watch"),
    has_status=False,
)
DEPLOYMENTS = ResourceType(
    "apps",
    "v1",
    "deployments",
    "deployment",
    "Deployment",
    True,
    ("deploy",),
    categories=("all",),
    subresources={
        "status": _status_sub("apps", "v1", "Deployment"),
        "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    },
)
PDBS = ResourceType(
    "policy",
    "v1",
    "poddisruptionbudgets",
    "poddisruptionbudget",
    "PodDisruptionBudget",
    True,
    ("pdb",),
    subresources={"status": _status_sub("policy", "v1", "PodDisruptionBudget")},
)
NODE_METRICS = ResourceType(
    "metrics.k8s.io", "v1beta1", "nodes", "", "NodeMetrics", False, (), READ, has_status=False
)
POD_METRICS = ResourceType(
    "metrics.k8s.io", "v1beta1", "pods", "", "PodMetrics", True, (), READ, has_status=False
)
LEASES = ResourceType(
    "coordination.k8s.io", "v1", "leases", "lease", "Lease", True, (), READ, has_status=False
)
# Groups whose objects are computed from the simulation on every read instead of stored.
COMPUTED_GROUPS = ("metrics.k8s.io", "coordination.k8s.io")

RESOURCE_TYPES: tuple[ResourceType, ...] = (
    NAMESPACES,
    NODES,
    PODS,
    SERVICES,
    ENDPOINTS,
    EVENTS,
    SECRETS,
    DEPLOYMENTS,
    PDBS,
    NODE_METRICS,
    POD_METRICS,
    LEASES,
)
STORED: tuple[ResourceType, ...] = tuple(rt for rt in RESOURCE_TYPES if rt.group not in COMPUTED_GROUPS)
GROUP_VERSIONS: dict[tuple[str, str], list[ResourceType]] = {}
for _rt in RESOURCE_TYPES:
    GROUP_VERSIONS.setdefault((_rt.group, _rt.version), []).append(_rt)
BY_KIND: dict[str, ResourceType] = {rt.kind: rt for rt in STORED}


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    for rt in GROUP_VERSIONS.get((group, version), []):
        if rt.plural == plural:
            return rt
    return None


def version_info(kubernetes_version: str) -> dict[str, str]:
    major, _, minor = kubernetes_version.partition(".")
    minor = minor.split(".")[0] or "31"
    return {
        "major": major or "1",
        "minor": minor,
        "gitVersion": f"v{major or '1'}.{minor}.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-08-13T07:28:49Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list() -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    for group, version in GROUP_VERSIONS:
        if not group:
            continue
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> dict[str, Any] | None:
    for g in api_group_list()["groups"]:
        if g["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **g}
    return None


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    types = GROUP_VERSIONS.get((group, version))
    if types is None:
        return None
    resources: list[dict[str, Any]] = []
    for rt in types:
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub, (sgroup, sversion, skind, sverbs) in rt.subresources.items():
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": skind,
                "verbs": list(sverbs),
            }
            if (sgroup, sversion) != (group, version):
                sub_entry["group"], sub_entry["version"] = sgroup, sversion
            resources.append(sub_entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def openapi_v3_index() -> dict[str, Any]:
    paths = {}
    for group, version in GROUP_VERSIONS:
        key = f"apis/{group}/{version}" if group else f"api/{version}"
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash=sandbox"}
    return {"paths": paths}


def openapi_v3_group_version(group: str, version: str) -> dict[str, Any] | None:
    """A small OpenAPI v3 document: one PATCH operation per kind advertising ``fieldValidation``.

    kubectl reads it to learn that the server validates fields itself (so it sends
    ``fieldValidation=Strict`` instead of downloading the full schema for client-side validation).
    """
    types = GROUP_VERSIONS.get((group, version))
    if types is None:
        return None
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    paths: dict[str, Any] = {}
    for rt in types:
        ns = "/namespaces/{namespace}" if rt.namespaced else ""
        gvk = {"group": group, "version": version, "kind": rt.kind}
        params = [
            {"name": p, "in": "query", "schema": {"type": "string"}}
            for p in ("dryRun", "fieldManager", "fieldValidation", "force")
        ]
        paths[f"{prefix}{ns}/{rt.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{rt.kind}",
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            },
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.31.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }
