"""Non-resource paths: version, health checks, API discovery and the OpenAPI v3 index kubectl reads."""

from __future__ import annotations

from typing import Any

from sandbox.kube import resources
from sandbox.kube.cluster import Cluster

_HEALTH = ("healthz", "livez", "readyz")


def static_path(cluster: Cluster, parts: list[str], server_address: str) -> Any | None:
    """The body for a non-resource path, or None when ``parts`` names a resource path."""
    if not parts:
        return {
            "paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"]
            + [f"/apis/{g}/{v}" for g, v in resources.GROUP_VERSIONS if g]
        }
    head = parts[0]
    if head == "version" and len(parts) == 1:
        return resources.version_info(cluster.kubernetes_version)
    if head in _HEALTH:
        return "ok"
    if head == "api" and len(parts) == 1:
        return resources.api_versions(server_address)
    if head == "api" and len(parts) == 2:
        return resources.resource_list("", parts[1]) or _missing()
    if head == "apis" and len(parts) == 1:
        return resources.api_group_list()
    if head == "apis" and len(parts) == 2:
        return resources.api_group(parts[1]) or _missing()
    if head == "apis" and len(parts) == 3:
        return resources.resource_list(parts[1], parts[2]) or _missing()
    if head == "openapi" and parts[1:2] == ["v3"]:
        if len(parts) == 2:
            return resources.openapi_v3_index()
        rest = parts[2:]
        doc = None
        if rest[0] == "api" and len(rest) == 2:
            doc = resources.openapi_v3_group_version("", rest[1])
        elif rest[0] == "apis" and len(rest) == 3:
            doc = resources.openapi_v3_group_version(rest[1], rest[2])
        return doc or _missing()
    if head == "openapi":
        return _missing()
    return None


def _missing() -> Any:
    from sandbox.kube.errors import path_not_found

    raise path_not_found()
