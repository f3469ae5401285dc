"""The params schema: what a trigger form or a REST API conf may contain."""

from __future__ import annotations

import jsonschema
import pytest

from include.provisioning.catalog import SUPPORTED_KUBERNETES_VERSIONS
from include.provisioning.params import (
    conf_schema,
    decommission_param_specs,
    provision_param_specs,
    schema_errors,
)
from tests.include.provisioning.builders import base_conf

SPECS = provision_param_specs()


def pool(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "name": "general",
        "instance_type": "ecs.g7.xlarge",
        "min_size": 1,
        "max_size": 3,
        "desired_size": 2,
    }
    item.update(overrides)
    return item


def test_valid_request_has_no_errors() -> None:
    assert schema_errors(SPECS, base_conf()) == []


def test_minimal_request_uses_defaults() -> None:
    assert schema_errors(SPECS, {"cluster_name": "abc", "ticket_id": "T1"}) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"cluster_name": "ab"}, "cluster_name: 'ab'"),
        ({"cluster_name": "Demo"}, "cluster_name: 'Demo' does not match"),
        ({"cluster_name": "1demo"}, "cluster_name: '1demo' does not match"),
        ({"cluster_name": "demo-"}, "cluster_name: 'demo-' does not match"),
        ({"cluster_name": "de_mo"}, "cluster_name: 'de_mo' does not match"),
        ({"cluster_name": "a" * 31}, "cluster_name: "),
        ({"cluster_name": "demo;rm -rf /"}, "cluster_name: 'demo;rm -rf /' does not match"),
        ({"ticket_id": ""}, "ticket_id: '' does not match"),
        ({"ticket_id": "T" * 65}, "ticket_id: "),
        ({"ticket_id": "OPS 1"}, "ticket_id: 'OPS 1' does not match"),
        ({"ticket_id": "OPS-1$(id)"}, "does not match"),
        ({"zones": []}, "zones: [] should be non-empty"),
        (
            {"zones": ["cn-hangzhou-h", "cn-hangzhou-h"]},
            "zones: ['cn-hangzhou-h', 'cn-hangzhou-h'] has non-unique",
        ),
        ({"zones": ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j", "cn-hangzhou-k"]}, "zones: "),
        ({"zones": ["cn-hangzhou-z"]}, "zones[0]: 'cn-hangzhou-z' is not one of"),
        ({"kubernetes_version": "1.20"}, "kubernetes_version: '1.20' is not one of"),
        (
            {"control_plane": {"instance_type": "ecs.g7.xlarge", "count": 2}},
            "control_plane.count: 2 is not one of",
        ),
        (
            {"control_plane": {"instance_type": "g7", "count": 1}},
            "control_plane.instance_type: 'g7' does not match",
        ),
        ({"control_plane": {"instance_type": "ecs.g7.xlarge"}}, "'count' is a required property"),
        ({"node_pools": []}, "node_pools: [] should be non-empty"),
        ({"node_pools": [pool(name=f"p{i}") for i in range(11)]}, "node_pools: "),
        (
            {"node_pools": [pool(min_size=3, max_size=2, desired_size=2)]},
            "node_pools[0]: max_size must be at least min_size",
        ),
        (
            {"node_pools": [pool(min_size=2, max_size=5, desired_size=1)]},
            "node_pools[0]: min_size <= desired_size",
        ),
        (
            {"node_pools": [pool(min_size=0, max_size=2, desired_size=3)]},
            "node_pools[0]: min_size <= desired_size",
        ),
        (
            {"node_pools": [pool(max_size=101)]},
            "node_pools[0].max_size: 101 is greater than the maximum of 100",
        ),
        ({"node_pools": [pool(name="gpu;reboot")]}, "node_pools[0].name: 'gpu;reboot' does not match"),
        ({"node_pools": [pool(name="a`id`")]}, "does not match"),
        (
            {"node_pools": [pool(zones=["cn-hangzhou-q"])]},
            "node_pools[0].zones[0]: 'cn-hangzhou-q' is not one of",
        ),
        ({"node_pools": [pool(colour="red")]}, "Additional properties are not allowed ('colour'"),
        ({"dry_run": "yes"}, "dry_run: 'yes' is not of type 'boolean'"),
        ({"callback_url": "ftp://x"}, "callback_url: 'ftp://x' does not match"),
        ({"callback_url": "https://hooks.example.com/a b"}, "callback_url: "),
    ],
)
def test_bad_values_are_refused_with_a_pointed_message(overrides: dict[str, object], expected: str) -> None:
    errors = schema_errors(SPECS, base_conf(**overrides))
    assert errors, f"expected an error for {overrides}"
    assert any(expected in e for e in errors), errors
    assert all("\n" not in e for e in errors)


def test_required_params_are_reported_missing() -> None:
    errors = schema_errors(SPECS, {"zones": ["cn-hangzhou-h"]})
    assert "conf: 'cluster_name' is a required property" in errors
    assert "conf: 'ticket_id' is a required property" in errors


def test_size_rule_reported_once_per_pool() -> None:
    errors = schema_errors(SPECS, base_conf(node_pools=[pool(min_size=9, max_size=10, desired_size=1)]))
    assert errors == ["node_pools[0]: min_size <= desired_size <= max_size"]


@pytest.mark.parametrize(
    ("lo", "want", "hi"), [(0, 0, 1), (0, 100, 100), (5, 5, 5), (1, 50, 99), (100, 100, 100)]
)
def test_size_boundaries_accepted(lo: int, want: int, hi: int) -> None:
    assert (
        schema_errors(SPECS, base_conf(node_pools=[pool(min_size=lo, desired_size=want, max_size=hi)])) == []
    )


def test_every_param_has_title_description_and_section() -> None:
    for name, spec in SPECS.items():
        assert spec.schema.get("title"), name
        assert spec.schema.get("section"), name
        assert spec.description, name


def test_required_params_have_no_default() -> None:
    assert {n for n, s in SPECS.items() if s.required} == {"cluster_name", "ticket_id"}
    assert SPECS["dry_run"].default is False
    assert SPECS["callback_url"].default is None


def test_defaults_are_schema_valid() -> None:
    for spec in SPECS.values():
        if not spec.required:
            jsonschema.validate(spec.default, {k: v for k, v in spec.schema.items() if k != "section"})


def test_kubernetes_versions_enumerated() -> None:
    assert SPECS["kubernetes_version"].schema["enum"] == list(SUPPORTED_KUBERNETES_VERSIONS)


def test_conf_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(conf_schema(SPECS))


def test_decommission_params() -> None:
    specs = decommission_param_specs()
    assert list(specs) == ["cluster_name", "confirm_cluster_name", "ticket_id", "dry_run"]
    good = {"cluster_name": "demo", "confirm_cluster_name": "demo", "ticket_id": "OPS-9"}
    assert schema_errors(specs, good) == []
    assert schema_errors(specs, {**good, "confirm_cluster_name": "De mo"})
    assert "conf: 'ticket_id' is a required property" in schema_errors(specs, {"cluster_name": "demo"})
