"""JSON schemas of the `provision_cluster` and `decommission_cluster` params.

One source for three readers: the DAGs wrap each entry in an Airflow ``Param`` (the trigger form and the
REST API validate from it, a bad conf is an HTTP 400 before anything runs), the ``yunfleet`` command
checks a ticket's conf before sending it, and the tests table-check the schemas directly.

Airflow validates each param on its own, so a rule that spans two params (a pool's zones must be a
subset of the cluster's) lives in :mod:`include.provisioning.validation` instead.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from include.provisioning.catalog import (
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_KUBERNETES_VERSION,
    DEFAULT_REGION_ID,
    MAX_NODE_POOLS,
    MAX_POOL_SIZE,
    MAX_ZONES,
    REGION_ZONES,
    SUPPORTED_KUBERNETES_VERSIONS,
    all_known_zones,
)

#: A lowercase DNS label of 3-30 characters that starts with a letter and does not end with a hyphen.
CLUSTER_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$"
#: A node pool name: lowercase DNS label of 1-20 characters starting with a letter.
POOL_NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$"
#: Ticket ids from the usual ticketing systems (JIRA keys, ServiceNow numbers, URLs paths).
TICKET_ID_PATTERN = r"^[A-Za-z0-9._:/-]{1,64}$"
#: ECS instance type names, e.g. ``ecs.g7.xlarge``.
INSTANCE_TYPE_PATTERN = r"^ecs\.[a-z0-9-]+\.[a-z0-9-]+$"

#: the cross-field rules of a node pool's sizes, as the REST API's 400 and the first task state them
SIZE_RULE_MIN_MAX = "max_size must be at least min_size"
SIZE_RULE_DESIRED = "min_size <= desired_size <= max_size"

NO_DEFAULT: Any = object()


@dataclass(frozen=True)
class ParamSpec:
    """One DAG param: its default (``NO_DEFAULT`` means required) and its JSON schema."""

    schema: dict[str, Any]
    default: Any = NO_DEFAULT
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT


def pool_size_errors(conf: Mapping[str, Any]) -> list[str]:
    """``min_size <= desired_size <= max_size`` for each pool of ``conf["node_pools"]``, one line per pool.

    A per-param JSON schema cannot compare two fields, so this rule is checked here, by the REST API's
    conf guard (HTTP 400) and by the run's first task. Pools whose sizes are not all integers are
    left to the schema (it names the wrong type). Returns ``[]`` when every pool is ordered, e.g.
    ``["node_pools[0]: max_size must be at least min_size"]`` otherwise.
    """
    pools = conf.get("node_pools")
    errors: list[str] = []
    for i, pool in enumerate(pools if isinstance(pools, list) else []):
        if not isinstance(pool, Mapping):
            continue
        sizes = [pool.get(k) for k in ("min_size", "desired_size", "max_size")]
        ints = [v for v in sizes if isinstance(v, int) and not isinstance(v, bool)]
        if len(ints) != 3:
            continue
        low, want, high = ints
        if high < low:
            errors.append(f"node_pools[{i}]: {SIZE_RULE_MIN_MAX}")
        elif not low <= want <= high:
            errors.append(f"node_pools[{i}]: {SIZE_RULE_DESIRED}")
    return errors


def _zone_list_schema(title: str, description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "title": title,
        "description": description,
        "items": {"type": "string", "enum": all_known_zones()},
        "minItems": 1,
        "maxItems": MAX_ZONES,
        "uniqueItems": True,
    }


#: an explicit ECS image id (``ubuntu_22_04_x64_20G_alibase_20240130.vhd``, ``m-bp1...``); optional
IMAGE_ID_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
    "title": "Image id",
    "description": "ECS image for these nodes; the connection's image family when omitted.",
}


def node_pool_schema() -> dict[str, Any]:
    """Schema of one node pool object."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "instance_type", "min_size", "max_size", "desired_size"],
        "properties": {
            "name": {"type": "string", "pattern": POOL_NAME_PATTERN, "title": "Pool name"},
            "instance_type": {"type": "string", "pattern": INSTANCE_TYPE_PATTERN, "title": "Instance type"},
            "zones": _zone_list_schema(
                "Pool zones", "Subset of the cluster's zones; all of them when omitted."
            ),
            "min_size": {"type": "integer", "minimum": 0, "maximum": MAX_POOL_SIZE},
            "max_size": {"type": "integer", "minimum": 1, "maximum": MAX_POOL_SIZE},
            "desired_size": {"type": "integer", "minimum": 0, "maximum": MAX_POOL_SIZE},
            "image_id": IMAGE_ID_SCHEMA,
        },
    }


def provision_param_specs() -> dict[str, ParamSpec]:
    """The params of ``provision_cluster``, in form order."""
    return {
        "cluster_name": ParamSpec(
            schema={
                "type": "string",
                "pattern": CLUSTER_NAME_PATTERN,
                "minLength": 3,
                "maxLength": 30,
                "title": "Cluster name",
                "section": "Cluster",
            },
            description="Lowercase DNS label, 3-30 characters, starting with a letter. "
            "The API server is published as api.<cluster>.<domain>.",
        ),
        "ticket_id": ParamSpec(
            schema={"type": "string", "pattern": TICKET_ID_PATTERN, "title": "Ticket", "section": "Cluster"},
            description="Id of the ticket this request serves (1-64 of A-Z a-z 0-9 . _ : / -); "
            "every audit row carries it.",
        ),
        "kubernetes_version": ParamSpec(
            schema={
                "type": "string",
                "enum": list(SUPPORTED_KUBERNETES_VERSIONS),
                "title": "Kubernetes version",
                "section": "Cluster",
            },
            default=DEFAULT_KUBERNETES_VERSION,
            description="Kubernetes minor version installed by kubeadm.",
        ),
        "region_id": ParamSpec(
            schema={
                "type": "string",
                "enum": sorted(REGION_ZONES),
                "title": "Region",
                "section": "Placement",
            },
            default=DEFAULT_REGION_ID,
            description="Alibaba Cloud region of every resource of the cluster.",
        ),
        "zones": ParamSpec(
            schema={
                **_zone_list_schema("Zones", ""),
                "section": "Placement",
            },
            default=[f"{DEFAULT_REGION_ID}-h"] if DEFAULT_REGION_ID.startswith("cn-") else None,
            description="1-3 distinct availability zones of the region; control-plane nodes and "
            "pools are spread over them.",
        ),
        "control_plane": ParamSpec(
            schema={
                "type": "object",
                "title": "Control plane",
                "section": "Control plane",
                "additionalProperties": False,
                "required": ["instance_type", "count"],
                "properties": {
                    "instance_type": {"type": "string", "pattern": INSTANCE_TYPE_PATTERN},
                    "count": {"type": "integer", "enum": [1, 3]},
                    "image_id": IMAGE_ID_SCHEMA,
                },
            },
            default={"instance_type": DEFAULT_INSTANCE_TYPE, "count": 1},
            description="ECS instance type and number of control-plane nodes (1, or 3 for HA); "
            "optional image_id (the connection's image family when omitted).",
        ),
        "node_pools": ParamSpec(
            schema={
                "type": "array",
                "title": "Node pools",
                "section": "Node pools",
                "minItems": 1,
                "maxItems": MAX_NODE_POOLS,
                "items": node_pool_schema(),
            },
            default=[
                {
                    "name": "default",
                    "instance_type": DEFAULT_INSTANCE_TYPE,
                    "min_size": 1,
                    "max_size": 3,
                    "desired_size": 2,
                }
            ],
            description="1-10 worker pools: name, instance_type, optional zones (subset of the "
            "cluster's), min_size <= desired_size <= max_size <= 100, optional image_id.",
        ),
        "dry_run": ParamSpec(
            schema={"type": "boolean", "title": "Dry run", "section": "Run"},
            default=False,
            description="Validate and plan only: no mutating call, audit rows marked dry_run.",
        ),
        "callback_url": ParamSpec(
            schema={
                "type": ["null", "string"],
                "pattern": r"^https?://[^\s]+$",
                "maxLength": 2048,
                "title": "Callback URL",
                "section": "Run",
            },
            default=None,
            description="Optional URL that receives the outcome as a signed JSON POST when the run ends.",
        ),
    }


def decommission_param_specs() -> dict[str, ParamSpec]:
    """The params of ``decommission_cluster``, in form order."""
    name = provision_param_specs()["cluster_name"]
    return {
        "cluster_name": name,
        "confirm_cluster_name": ParamSpec(
            schema={**name.schema, "title": "Confirm cluster name"},
            description="Type the cluster name again; the run refuses to start when they differ.",
        ),
        "ticket_id": provision_param_specs()["ticket_id"],
        "dry_run": ParamSpec(
            schema={"type": "boolean", "title": "Dry run", "section": "Run"},
            default=False,
            description="Show what would be deleted, delete nothing.",
        ),
    }


def conf_schema(specs: dict[str, ParamSpec]) -> dict[str, Any]:
    """One JSON schema for a whole conf object, equivalent to validating each param on its own."""
    properties = {}
    for name, spec in specs.items():
        schema = copy.deepcopy(spec.schema)
        schema.pop("section", None)
        properties[name] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name, spec in specs.items() if spec.required],
    }


def apply_defaults(specs: dict[str, ParamSpec], conf: dict[str, Any]) -> dict[str, Any]:
    """The conf with every missing param set to its default (as Airflow merges conf into params)."""
    merged = {name: copy.deepcopy(spec.default) for name, spec in specs.items() if not spec.required}
    merged.update(conf)
    return merged


def schema_errors(specs: dict[str, ParamSpec], conf: dict[str, Any]) -> list[str]:
    """One line per schema violation of ``conf`` (defaults applied), in a stable order, then the
    pools' size-order errors (:func:`pool_size_errors`) when the specs have ``node_pools``."""
    validator = jsonschema.Draft202012Validator(
        conf_schema(specs), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors: list[str] = []
    for error in sorted(validator.iter_errors(apply_defaults(specs, conf)), key=lambda e: list(e.path)):
        line = describe_schema_error(error)
        if line not in errors:
            errors.append(line)
    if "node_pools" in specs:
        errors += pool_size_errors(apply_defaults(specs, conf))
    return errors


def describe_schema_error(error: jsonschema.ValidationError) -> str:
    """``node_pools[0].name: 'a;b' does not match ...`` style, one line."""
    parts = list(error.absolute_path)
    message = error.message.replace("\n", " ")
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{_render_path(parts)}: {message}"


def _render_path(parts: list[str | int]) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "conf"
