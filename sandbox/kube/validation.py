"""Defaulting and validation of the objects clients write (the 422 ``Invalid`` answers)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from kubernetes.utils import parse_quantity

from sandbox.kube.errors import KubeError, invalid
from sandbox.kube.resources import ResourceType
from sandbox.kube.selectors import selector_object_matches

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_KINDS = {"Namespace", "Service"}

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)

Causes = list[tuple[str, str]]


def _quote(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value)


def _check_name(kind: str, meta: dict[str, Any], causes: Causes) -> None:
    name = meta.get("name")
    if not name:
        if not meta.get("generateName"):
            causes.append(("metadata.name", "Required value: name or generateName is required"))
        return
    if kind in _LABEL_KINDS:
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            causes.append(("metadata.name", f"Invalid value: {_quote(name)}: {_LABEL_MSG}"))
    elif len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        causes.append(("metadata.name", f"Invalid value: {_quote(name)}: {_SUBDOMAIN_MSG}"))


def _check_labels(path: str, labels: Any, causes: Causes) -> None:
    if labels is None:
        return
    if not isinstance(labels, dict):
        causes.append((path, "Invalid value: must be a map of strings"))
        return
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if (
            not name
            or len(name) > 63
            or not _LABEL_NAME.match(name)
            or (prefix and not _DNS1123_SUBDOMAIN.match(prefix))
        ):
            causes.append(
                (
                    path,
                    f"Invalid value: {_quote(key)}: name part must consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                (
                    f"{path}",
                    f"Invalid value: {_quote(value)}: a valid label must be an empty string or "
                    "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                    "with an alphanumeric character",
                )
            )


def _check_quantities(path: str, values: Any, causes: Causes) -> None:
    for name, raw in (values or {}).items():
        try:
            parse_quantity(raw)
        except (ValueError, TypeError):
            causes.append(
                (
                    f"{path}[{name}]",
                    f"Invalid value: {_quote(raw)}: quantities must match the regular "
                    "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                )
            )


def _check_pod_spec(path: str, spec: Any, causes: Causes) -> None:
    if not isinstance(spec, dict):
        causes.append((path, "Required value"))
        return
    containers = spec.get("containers")
    if not containers:
        causes.append((f"{path}.containers", "Required value"))
        return
    seen: set[str] = set()
    for i, container in enumerate(containers):
        where = f"{path}.containers[{i}]"
        name = container.get("name")
        if not name:
            causes.append((f"{where}.name", "Required value"))
        elif not _DNS1123_LABEL.match(name):
            causes.append((f"{where}.name", f"Invalid value: {_quote(name)}: {_LABEL_MSG}"))
        elif name in seen:
            causes.append((f"{where}.name", f"Duplicate value: {_quote(name)}"))
        seen.add(name or "")
        if not container.get("image"):
            causes.append((f"{where}.image", "Required value"))
        resources = container.get("resources") or {}
        _check_quantities(f"{where}.resources.requests", resources.get("requests"), causes)
        _check_quantities(f"{where}.resources.limits", resources.get("limits"), causes)


def _default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for container in spec.get("containers") or []:
        container.setdefault("resources", {})
        image = str(container.get("image", ""))
        container.setdefault(
            "imagePullPolicy", "Always" if image.endswith(":latest") or ":" not in image else "IfNotPresent"
        )
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _default_tolerations(spec: dict[str, Any]) -> None:
    """What the DefaultTolerationSeconds admission plugin adds to every pod."""
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key and t.get("effect") in (None, "", "NoExecute") for t in tolerations):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )


def prepare(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None = None) -> None:
    """Default ``obj`` in place and raise 422 when it is invalid (``old`` is set on updates)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise invalid(
            rt.kind, rt.group, "", [("metadata.name", "Required value: name or generateName is required")]
        )
    causes: Causes = []
    _check_name(rt.kind, meta, causes)
    _check_labels("metadata.labels", meta.get("labels"), causes)
    spec = obj.get("spec")
    if rt.kind == "Pod":
        _check_pod_spec("spec", spec, causes)
        if not causes:
            _default_pod_spec(obj["spec"])
            if old is None:
                _default_tolerations(obj["spec"])
                obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj["spec"])}
    elif rt.kind == "Deployment":
        _prepare_deployment(obj, old, causes)
    elif rt.kind == "Service":
        _prepare_service(obj, old, causes)
    elif rt.kind == "PodDisruptionBudget":
        spec = obj.setdefault("spec", {})
        if "minAvailable" in spec and "maxUnavailable" in spec:
            causes.append(("spec", "Invalid value: minAvailable and maxUnavailable cannot be both set"))
        for field in ("minAvailable", "maxUnavailable"):
            value = spec.get(field)
            if isinstance(value, int) and value < 0:
                causes.append(
                    (f"spec.{field}", f"Invalid value: {value}: must be greater than or equal to 0")
                )
            if isinstance(value, str) and not re.fullmatch(r"\d+%", value):
                causes.append(
                    (
                        f"spec.{field}",
                        f"Invalid value: {_quote(value)}: must be an integer or percentage (e.g '5%')",
                    )
                )
        obj.setdefault(
            "status", {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
        )
    elif rt.kind == "Secret":
        _prepare_secret(obj, causes)
    elif rt.kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
    if causes:
        raise invalid(rt.kind, rt.group, meta.get("name") or meta.get("generateName") or "", causes)


def _prepare_secret(obj: dict[str, Any], causes: Causes) -> None:
    """As the API server does: ``stringData`` merged into ``data`` (base64), ``type`` defaults to Opaque."""
    data = obj.get("data") or {}
    string_data = obj.pop("stringData", None) or {}
    if not isinstance(data, dict) or not isinstance(string_data, dict):
        causes.append(("data", "Invalid value: data and stringData must be maps of strings"))
        return
    for key, value in string_data.items():
        if not isinstance(value, str):
            causes.append((f"stringData[{key}]", "Invalid value: must be a string"))
            continue
        data[key] = base64.b64encode(value.encode()).decode()
    for key in data:
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", str(key)):
            causes.append(
                (
                    f"data[{key}]",
                    "Invalid value: a valid config key must consist of alphanumeric characters, "
                    "'-', '_' or '.'",
                )
            )
    obj["data"] = data
    obj.setdefault("type", "Opaque")


def _qos_class(spec: dict[str, Any]) -> str:
    containers = spec.get("containers") or []
    guaranteed = bool(containers)
    any_set = False
    for container in containers:
        res = container.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        any_set = any_set or bool(requests) or bool(limits)
        for name in ("cpu", "memory"):
            if name not in limits or (
                name in requests and parse_quantity(requests[name]) != parse_quantity(limits[name])
            ):
                guaranteed = False
    if guaranteed:
        return "Guaranteed"
    return "Burstable" if any_set else "BestEffort"


def _prepare_deployment(obj: dict[str, Any], old: dict[str, Any] | None, causes: Causes) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        causes.append(("spec.selector", "Required value"))
        return
    replicas = spec.setdefault("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        causes.append(("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0"))
    selector = spec.get("selector")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    _check_labels("spec.template.metadata.labels", labels, causes)
    if selector and not selector_object_matches(selector, labels):
        shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {shown}: `selector` does not match template `labels`",
            )
        )
    _check_pod_spec("spec.template.spec", template.get("spec"), causes)
    if old is not None and old["spec"].get("selector") != selector:
        causes.append(("spec.selector", f"Invalid value: {json.dumps(selector)}: field is immutable"))
    if causes:
        return
    _default_pod_spec(template["spec"])
    spec.setdefault(
        "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    )
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    obj.setdefault("status", {})


def _prepare_service(obj: dict[str, Any], old: dict[str, Any] | None, causes: Causes) -> None:
    spec = obj.setdefault("spec", {})
    stype = spec.setdefault("type", "ClusterIP")
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(
            (
                "spec.type",
                f'Unsupported value: "{stype}": supported values: "ClusterIP", '
                '"ExternalName", "LoadBalancer", "NodePort"',
            )
        )
    ports = spec.get("ports") or []
    if not ports and stype != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(("spec.ports", "Required value"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                (f"spec.ports[{i}].port", f"Invalid value: {number}: must be between 1 and 65535, inclusive")
            )
        if len(ports) > 1 and not port.get("name"):
            causes.append((f"spec.ports[{i}].name", "Required value"))
        if port.get("name") in names:
            causes.append((f"spec.ports[{i}].name", f"Duplicate value: {_quote(port.get('name'))}"))
        names.add(port.get("name") or "")
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", number)
    if old is not None:
        old_ip = old["spec"].get("clusterIP")
        new_ip = spec.get("clusterIP")
        if new_ip and old_ip and new_ip != old_ip:
            causes.append(
                ("spec.clusterIPs[0]", f'Invalid value: []string{{"{new_ip}"}}: may not change once set')
            )
    spec.setdefault("sessionAffinity", "None")
    if stype != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if stype in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    obj.setdefault("status", {"loadBalancer": {}})


def check_kind(rt: ResourceType, obj: Any) -> None:
    """The body must be an object of the resource's kind (a 400 otherwise, as the decoder answers)."""
    if not isinstance(obj, dict):
        raise KubeError(400, "BadRequest", "the body of the request was not a JSON object")
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind and kind != rt.kind:
        raise KubeError(
            400,
            "BadRequest",
            f"the API version in the data ({api_version}) does not match the "
            f"expected API version ({rt.api_version})"
            if api_version != rt.api_version
            else f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})",
        )
