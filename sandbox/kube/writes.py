"""Writes of the Kubernetes API: create, update, patch, delete (with garbage collection), the status
and scale subresources and pod eviction."""

from __future__ import annotations

import copy
import json
from typing import Any

from sandbox.kube import disruption
from sandbox.kube.cluster import SYSTEM_NAMESPACES, Cluster
from sandbox.kube.errors import (
    KubeError,
    bad_request,
    conflict,
    invalid,
    method_not_allowed,
    not_found,
    stale,
)
from sandbox.kube.patching import apply_patch
from sandbox.kube.resources import DEPLOYMENTS, ENDPOINTS, NAMESPACES, PODS, SERVICES, STORED, ResourceType
from sandbox.kube.routing import ApiRequest, ApiResponse, Target, filtered, scale_of
from sandbox.kube.validation import check_kind, prepare


def _decode(req: ApiRequest) -> Any:
    try:
        return json.loads(req.body or b"null")
    except ValueError as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def _dry_run(req: ApiRequest) -> bool:
    return req.query.get("dryRun") == "All"


def _require_namespace(cluster: Cluster, namespace: str | None) -> None:
    if namespace is not None and cluster.store.peek(NAMESPACES, "", namespace) is None:
        raise not_found("namespaces", "", namespace)


def create(cluster: Cluster, req: ApiRequest, target: Target, now: float) -> ApiResponse:
    rt = target.rt
    if target.sub is not None or (rt.namespaced and target.namespace is None):
        raise method_not_allowed()
    obj = _decode(req)
    check_kind(rt, obj)
    meta = obj.setdefault("metadata", {})
    if rt.namespaced:
        if meta.get("namespace") and meta["namespace"] != target.namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = target.namespace
    for field_name in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
        meta.pop(field_name, None)
    if rt.has_status and rt is not NAMESPACES:
        obj.pop("status", None)
    prepare(rt, obj)
    _require_namespace(cluster, target.namespace if rt.namespaced else None)
    if rt is SERVICES:
        cluster.allocate_service(obj)
    if _dry_run(req):
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        return ApiResponse(201, obj)
    created = cluster.store.create(rt, obj, now)
    return ApiResponse(201, created)


def _changed_spec(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return old.get("spec") != new.get("spec")


def _store_update(
    cluster: Cluster,
    rt: ResourceType,
    old: dict[str, Any],
    new: dict[str, Any],
    sub: str | None,
    expect_rv: str | None,
    req: ApiRequest,
) -> dict[str, Any]:
    """Apply the update rules shared by PUT and PATCH, then write (unless dry run)."""
    if sub == "status":
        merged = copy.deepcopy(old)
        merged["status"] = new.get("status")
        new = merged
    else:
        for field_name in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if field_name in old["metadata"]:
                new["metadata"][field_name] = old["metadata"][field_name]
        if rt.has_status and rt is not NAMESPACES:
            new["status"] = copy.deepcopy(old.get("status"))
        if rt is SERVICES:
            _keep_allocations(old, new)
        prepare(rt, new, old)
        if rt is SERVICES:
            cluster.allocate_service(new)
        if rt.has_status and _changed_spec(old, new) and "generation" in old["metadata"]:
            new["metadata"]["generation"] = int(old["metadata"]["generation"]) + 1
    if _dry_run(req):
        return new
    return cluster.store.replace(rt, new, expect_rv)


def _keep_allocations(old: dict[str, Any], new: dict[str, Any]) -> None:
    """An update that leaves clusterIP/nodePort empty keeps the allocated values."""
    spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"], spec["clusterIPs"] = old_spec["clusterIP"], old_spec.get("clusterIPs")
    old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
    for port in spec.get("ports") or []:
        if (
            not port.get("nodePort")
            and old_ports.get(port.get("port"))
            and spec.get("type") in ("NodePort", "LoadBalancer")
        ):
            port["nodePort"] = old_ports[port.get("port")]


def update(cluster: Cluster, req: ApiRequest, target: Target, now: float) -> ApiResponse:
    rt, name = target.rt, target.name or ""
    body = _decode(req)
    if target.sub == "scale":
        return _write_scale(cluster, target, body, req)
    check_kind(rt, body)
    meta = body.setdefault("metadata", {})
    if meta.get("name") and meta["name"] != name:
        raise bad_request(
            f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
        )
    meta["name"] = name
    if rt.namespaced:
        meta["namespace"] = target.namespace
    old = cluster.store.get(rt, target.namespace or "", name)
    expect = meta.get("resourceVersion") or None
    if expect and expect != old["metadata"]["resourceVersion"]:
        raise stale(rt.plural, rt.group, name)
    return ApiResponse(200, _store_update(cluster, rt, old, body, target.sub, expect, req))


def patch(cluster: Cluster, req: ApiRequest, target: Target, now: float) -> ApiResponse:
    rt, name = target.rt, target.name or ""
    old = cluster.store.get(rt, target.namespace or "", name)
    if target.sub == "scale":
        patched = apply_patch(scale_of(old), req.content_type, req.body)
        return _write_scale(cluster, target, patched, req)
    new = apply_patch(copy.deepcopy(old), req.content_type, req.body)
    if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
        raise bad_request("the patch removed the object's metadata")
    expect = new["metadata"].get("resourceVersion") or old["metadata"]["resourceVersion"]
    new["metadata"]["resourceVersion"] = expect
    if expect != old["metadata"]["resourceVersion"]:
        raise stale(rt.plural, rt.group, name)
    if new["metadata"].get("name") != name:
        raise bad_request(
            f"the name of the object ({new['metadata'].get('name')}) does not match the name "
            f"on the URL ({name})"
        )
    new["metadata"]["namespace"] = old["metadata"].get("namespace")
    if not rt.namespaced:
        new["metadata"].pop("namespace", None)
    return ApiResponse(200, _store_update(cluster, rt, old, new, target.sub, expect, req))


def _write_scale(cluster: Cluster, target: Target, scale: Any, req: ApiRequest) -> ApiResponse:
    if not isinstance(scale, dict):
        raise bad_request("the body of the request was not a Scale object")
    deployment = cluster.store.get(DEPLOYMENTS, target.namespace or "", target.name or "")
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid(
            "Scale",
            "autoscaling",
            target.name or "",
            [("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")],
        )
    expect = (scale.get("metadata") or {}).get("resourceVersion") or None
    if expect and expect != deployment["metadata"]["resourceVersion"]:
        raise stale(DEPLOYMENTS.plural, DEPLOYMENTS.group, target.name or "")
    new = copy.deepcopy(deployment)
    new["spec"]["replicas"] = replicas
    stored = _store_update(cluster, DEPLOYMENTS, deployment, new, None, None, req)
    return ApiResponse(200, scale_of(stored))


def evict(cluster: Cluster, req: ApiRequest, target: Target, now: float) -> ApiResponse:
    body = _decode(req)
    if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction"):
        raise bad_request("the body of the request was not an Eviction object")
    pod = cluster.store.get(PODS, target.namespace or "", target.name or "")
    name = (body.get("metadata") or {}).get("name")
    if name and name != target.name:
        raise bad_request("name in URL does not match name in Eviction object")
    disruption.check_eviction(cluster, pod)
    if not _dry_run(req):
        cluster.store.delete(PODS, target.namespace or "", target.name or "")
        cluster.record_event(
            pod, "Normal", "Killing", f"Stopping container {_first_container(pod)}", "kubelet", now
        )
    return ApiResponse(
        201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    )


def _first_container(pod: dict[str, Any]) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("name", ""))


def _delete_options(req: ApiRequest) -> dict[str, Any]:
    options = _decode(req) if req.body else {}
    options = options if isinstance(options, dict) else {}
    if "propagationPolicy" in req.query:
        options["propagationPolicy"] = req.query["propagationPolicy"]
    return options


def delete_object(
    cluster: Cluster, rt: ResourceType, namespace: str, name: str, policy: str | None, now: float
) -> dict[str, Any]:
    """Delete one object and what garbage collection takes with it."""
    obj = cluster.store.delete(rt, namespace, name)
    uid = obj["metadata"]["uid"]
    if rt is NAMESPACES:
        for other in STORED:
            if other.namespaced:
                for item in list(cluster.store.items(other, name)):
                    cluster.store.delete(other, name, item["metadata"]["name"])
        obj["status"] = {"phase": "Terminating"}
        obj["metadata"]["deletionTimestamp"] = obj["metadata"]["creationTimestamp"]
        return obj
    if rt is SERVICES and cluster.store.peek(ENDPOINTS, namespace, name) is not None:
        cluster.store.delete(ENDPOINTS, namespace, name)
    if policy != "Orphan":
        for other in STORED:
            if not other.namespaced:
                continue
            for item in list(cluster.store.items(other, namespace)):
                refs = item["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    delete_object(cluster, other, namespace, item["metadata"]["name"], policy, now)
    return obj


def delete(cluster: Cluster, req: ApiRequest, target: Target, now: float) -> ApiResponse:
    rt, name, namespace = target.rt, target.name or "", target.namespace or ""
    current = cluster.store.get(rt, namespace, name)
    options = _delete_options(req)
    pre = options.get("preconditions") or {}
    if pre.get("uid") and pre["uid"] != current["metadata"]["uid"]:
        raise conflict(
            rt.plural,
            rt.group,
            name,
            f"Precondition failed: UID in precondition: {pre['uid']}, "
            f"UID in object meta: {current['metadata']['uid']}",
        )
    if pre.get("resourceVersion") and pre["resourceVersion"] != current["metadata"]["resourceVersion"]:
        raise stale(rt.plural, rt.group, name)
    if rt is NAMESPACES and name in SYSTEM_NAMESPACES:
        raise KubeError(
            403,
            "Forbidden",
            f'namespaces "{name}" is forbidden: this namespace may not be deleted',
            {"name": name, "kind": "namespaces"},
        )
    if _dry_run(req):
        return ApiResponse(200, current)
    deleted = delete_object(cluster, rt, namespace, name, options.get("propagationPolicy"), now)
    if rt in (PODS, NAMESPACES):
        return ApiResponse(200, deleted)
    return ApiResponse(
        200,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": rt.group,
                "kind": rt.plural,
                "uid": deleted["metadata"]["uid"],
            },
        },
    )


def delete_collection(cluster: Cluster, req: ApiRequest, target: Target, now: float) -> ApiResponse:
    rt = target.rt
    if "deletecollection" not in rt.verbs:
        raise method_not_allowed()
    options = _delete_options(req)
    victims = copy.deepcopy(filtered(cluster, req, target))
    if not _dry_run(req):
        for obj in victims:
            meta = obj["metadata"]
            if cluster.store.peek(rt, meta.get("namespace", ""), meta["name"]) is not None:
                delete_object(
                    cluster,
                    rt,
                    meta.get("namespace", ""),
                    meta["name"],
                    options.get("propagationPolicy"),
                    now,
                )
    return ApiResponse(
        200,
        {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(cluster.store.rv)},
            "items": victims,
        },
    )
