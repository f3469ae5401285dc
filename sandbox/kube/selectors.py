"""Label selectors (query strings and ``LabelSelector`` objects) and field selectors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.kube.errors import KubeError, bad_request

LabelTest = Callable[[Mapping[str, str]], bool]

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_./-]*)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [t for t in terms if t.strip()]


def parse_label_selector(text: str | None) -> LabelTest:
    """Compile a ``labelSelector`` query parameter; 400 BadRequest when it does not parse."""
    if not text or not text.strip():
        return lambda labels: True
    tests: list[LabelTest] = []
    for term in _split_terms(text):
        eq = _EQ_RE.match(term)
        if eq:
            key, op, value = eq.groups()
            if op == "!=":
                tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
            continue
        match = _SET_RE.match(term)
        if not match:
            raise bad_request(f"unable to parse requirement: invalid label selector term {term.strip()!r}")
        negate, key, op, values = match.groups()
        if op:
            if negate:
                raise bad_request(f"unable to parse requirement: {term.strip()!r}")
            wanted = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                tests.append(lambda labels, k=key, w=wanted: labels.get(k) in w)
            else:
                tests.append(lambda labels, k=key, w=wanted: labels.get(k) not in w)
        elif negate:
            tests.append(lambda labels, k=key: k not in labels)
        else:
            tests.append(lambda labels, k=key: k in labels)
    return lambda labels: all(test(labels) for test in tests)


def selector_object_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Match a ``metav1.LabelSelector``; an empty selector matches everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_object_to_string(selector: Mapping[str, Any] | None) -> str:
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key = expr.get("operator"), expr.get("key")
        values = ",".join(sorted(expr.get("values") or []))
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": f"{key}",
                "DoesNotExist": f"!{key}",
            }.get(op, "")
        )
    return ",".join(p for p in parts if p)


# Field labels that name another path, and defaults of boolean fields the server reports when unset.
_FIELD_ALIASES = {"source": "source.component"}
_FIELD_DEFAULTS = {"spec.unschedulable": "false"}


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in _FIELD_ALIASES.get(path, path).split("."):
        if not isinstance(value, Mapping):
            return ""
        value = value.get(part)
    if value is None:
        return _FIELD_DEFAULTS.get(path, "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_field_selector(
    text: str | None, supported: tuple[str, ...], kind: str
) -> Callable[[Mapping[str, Any]], bool]:
    """Compile a ``fieldSelector``; fields outside ``supported`` are a 400, as on a real API server."""
    if not text or not text.strip():
        return lambda obj: True
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for term in _split_terms(text):
        match = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        path, op, value = match.groups()
        if path not in supported:
            raise KubeError(400, "BadRequest", f"field label not supported: {path}")
        if op == "!=":
            tests.append(lambda obj, p=path, v=value: _field_value(obj, p) != v)
        else:
            tests.append(lambda obj, p=path, v=value: _field_value(obj, p) == v)
    return lambda obj: all(test(obj) for test in tests)


FIELD_SELECTORS: dict[str, tuple[str, ...]] = {
    "Pod": (
        "metadata.name",
        "metadata.namespace",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "Node": ("metadata.name", "spec.unschedulable"),
    "Event": (
        "metadata.name",
        "metadata.namespace",
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Namespace": ("metadata.name", "status.phase"),
}


def supported_fields(kind: str) -> tuple[str, ...]:
    return FIELD_SELECTORS.get(kind, ("metadata.name", "metadata.namespace"))
