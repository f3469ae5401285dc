"""The Kubernetes API of one cluster: discovery paths, reads (get, list, watch, tables) and the
metrics API; writes live in :mod:`sandbox.kube.writes`."""

from __future__ import annotations

import copy

from sandbox.kube import discovery, lifecycle, metrics, tables, writes
from sandbox.kube.cluster import Cluster
from sandbox.kube.errors import method_not_allowed, not_found, path_not_found
from sandbox.kube.resources import COMPUTED_GROUPS
from sandbox.kube.routing import ApiRequest, ApiResponse, Target, WatchSpec, filtered, resolve, scale_of
from sandbox.kube.selectors import parse_field_selector, parse_label_selector, supported_fields

__all__ = ["ApiRequest", "ApiResponse", "WatchSpec", "handle"]


def handle(cluster: Cluster, req: ApiRequest, now: float, server_address: str) -> ApiResponse:
    static = discovery.static_path(cluster, req.parts, server_address)
    if static is not None:
        if req.method not in ("GET", "HEAD"):
            raise method_not_allowed()
        return ApiResponse(200, static)
    target = resolve(req.parts)
    if target is None:
        raise path_not_found()
    if target.rt.group in COMPUTED_GROUPS:
        return _computed(cluster, req, target, now)
    method = req.method
    if method == "GET" and target.name is None:
        return _list(cluster, req, target, now)
    if method == "GET":
        if target.sub == "scale":
            return ApiResponse(
                200, scale_of(cluster.store.get(target.rt, target.namespace or "", target.name or ""))
            )
        obj = cluster.store.get(target.rt, target.namespace or "", target.name or "")
        if tables.wants_table(req.accept):
            return ApiResponse(
                200,
                tables.to_table(
                    target.rt.kind,
                    [obj],
                    obj["metadata"]["resourceVersion"],
                    now,
                    req.query.get("includeObject", "Metadata"),
                ),
            )
        return ApiResponse(200, obj)
    if method == "POST" and target.name is None:
        return writes.create(cluster, req, target, now)
    if method == "POST" and target.sub == "eviction":
        return writes.evict(cluster, req, target, now)
    if method == "PUT" and target.name is not None:
        return writes.update(cluster, req, target, now)
    if method == "PATCH" and target.name is not None:
        return writes.patch(cluster, req, target, now)
    if method == "DELETE" and target.name is not None and target.sub is None:
        return writes.delete(cluster, req, target, now)
    if method == "DELETE" and target.name is None:
        return writes.delete_collection(cluster, req, target, now)
    raise method_not_allowed()


# -- reads ------------------------------------------------------------------------------------


def _list(cluster: Cluster, req: ApiRequest, target: Target, now: float) -> ApiResponse:
    if (req.query.get("watch") or "").lower() in ("true", "1"):
        since = req.query.get("resourceVersion")
        return ApiResponse(
            200,
            None,
            watch=WatchSpec(
                target.rt,
                target.namespace,
                parse_label_selector(req.query.get("labelSelector")),
                parse_field_selector(
                    req.query.get("fieldSelector"), supported_fields(target.rt.kind), target.rt.kind
                ),
                int(since) if since and since.isdigit() and since != "0" else None,
                float(req.query.get("timeoutSeconds") or 1800),
            ),
        )
    items = copy.deepcopy(filtered(cluster, req, target))
    rv = str(cluster.store.rv)
    if tables.wants_table(req.accept):
        return ApiResponse(
            200, tables.to_table(target.rt.kind, items, rv, now, req.query.get("includeObject", "Metadata"))
        )
    return ApiResponse(
        200,
        {
            "kind": f"{target.rt.kind}List",
            "apiVersion": target.rt.api_version,
            "metadata": {"resourceVersion": rv},
            "items": items,
        },
    )


def _computed(cluster: Cluster, req: ApiRequest, target: Target, now: float) -> ApiResponse:
    """Read-only resources made from the simulation: metrics and the nodes' heartbeat Leases."""
    if req.method != "GET":
        raise method_not_allowed()
    if target.rt.kind == "NodeMetrics":
        items = metrics.node_metrics(cluster, now)
    elif target.rt.kind == "PodMetrics":
        items = metrics.pod_metrics(cluster, target.namespace, now)
    else:
        items = lifecycle.node_leases(cluster, target.namespace, now)
    label_test = parse_label_selector(req.query.get("labelSelector"))
    items = [i for i in items if label_test(i["metadata"].get("labels") or {})]
    if target.name is not None:
        for item in items:
            if item["metadata"]["name"] == target.name:
                return ApiResponse(200, item)
        raise not_found(target.rt.plural, target.rt.group, target.name)
    return ApiResponse(
        200,
        {
            "kind": f"{target.rt.kind}List",
            "apiVersion": target.rt.api_version,
            "metadata": {},
            "items": items,
        },
    )
