"""The three patch types the API server accepts: JSON patch, JSON merge patch, strategic merge patch."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from sandbox.kube.errors import KubeError, bad_request, unsupported_media_type

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# List fields merged element by element in a strategic merge patch, with their merge key.
# ``ports`` is keyed by containerPort in containers and by port in services (decided per list).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "addresses": "type",
    "ports": "",
    "topologySpreadConstraints": "topologyKey",
}
# Lists of scalars merged as sets.
_SET_LISTS = {"finalizers"}


def apply_patch(original: dict[str, Any], content_type: str, body: bytes) -> dict[str, Any]:
    """The object that results from applying ``body`` (of ``content_type``) to ``original``."""
    media = content_type.split(";")[0].strip().lower()
    if media == APPLY_PATCH:
        raise KubeError(
            415,
            "UnsupportedMediaType",
            "server-side apply is not supported by the sandbox API server; use kubectl apply "
            "without --server-side or a merge patch",
        )
    try:
        patch = json.loads(body or b"null")
    except ValueError as exc:
        raise bad_request(f"error decoding patch: {exc}") from exc
    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            result = jsonpatch.apply_patch(original, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise KubeError(
                422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
            ) from exc
        return result
    if not isinstance(patch, dict):
        raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    if media == MERGE_PATCH:
        return merge_patch(original, patch)
    if media == STRATEGIC_MERGE_PATCH:
        return strategic_merge(original, patch)
    raise unsupported_media_type(media or "<none>")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge for the fields Yunfleet's objects use (merge keys above, ``$patch`` directives)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in _SET_LISTS:
            current = list(result.get(key) or [])
            result[key] = current + [v for v in value if v not in current]
        elif isinstance(value, list) and key in _MERGE_KEYS:
            result[key] = _merge_list(result.get(key) or [], value, _MERGE_KEYS[key])
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    if not merge_key:
        sample = next((item for item in patch + current if isinstance(item, dict)), {})
        merge_key = "containerPort" if "containerPort" in sample else "port"
    if any(not isinstance(item, dict) for item in patch):
        return copy.deepcopy(patch)
    if len(patch) == 1 and patch[0].get("$patch") == "replace" and merge_key not in patch[0]:
        return []
    result = [copy.deepcopy(item) for item in current]
    for item in patch:
        key = item.get(merge_key)
        if key is None:
            raise bad_request(f"map: {item} does not contain declared merge key: {merge_key}")
        index = next(
            (
                i
                for i, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(merge_key) == key
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(strategic_merge({}, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result
