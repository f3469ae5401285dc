"""Semantic validation: rules across params, and the request against observed cloud facts."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from include.provisioning.validation import CloudFacts, cloud_errors, request_errors
from tests.include.provisioning.builders import ZONES, base_conf, make_request

TYPES = ("ecs.g7.xlarge", "ecs.c7.2xlarge")


def facts(**overrides: Any) -> CloudFacts:
    base = CloudFacts(
        region_id="cn-hangzhou",
        zones=frozenset(ZONES),
        vswitches={z: f"vsw-{z[-1]}" for z in ZONES},
        stock={(z, t): "WithStock" for z in ZONES for t in TYPES},
    )
    return dataclasses.replace(base, **overrides)


def test_good_request_passes_both() -> None:
    request = make_request()
    assert request_errors(request) == []
    assert cloud_errors(request, facts()) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"zones": ["cn-shanghai-a"]}, "zones: cn-shanghai-a is not a zone of region cn-hangzhou"),
        (
            {
                "zones": ["cn-hangzhou-h"],
                "node_pools": [
                    {
                        "name": "p",
                        "instance_type": "ecs.g7.xlarge",
                        "zones": ["cn-hangzhou-i"],
                        "min_size": 0,
                        "max_size": 1,
                        "desired_size": 1,
                    }
                ],
            },
            "node_pools[p].zones: cn-hangzhou-i not among the cluster's zones (cn-hangzhou-h)",
        ),
        (
            {
                "node_pools": [
                    {
                        "name": "p",
                        "instance_type": "ecs.g7.xlarge",
                        "min_size": 0,
                        "max_size": 1,
                        "desired_size": 1,
                    },
                    {
                        "name": "p",
                        "instance_type": "ecs.g7.xlarge",
                        "min_size": 0,
                        "max_size": 1,
                        "desired_size": 1,
                    },
                ]
            },
            "node_pools: the pool name 'p' is used twice",
        ),
    ],
)
def test_request_errors(overrides: dict[str, Any], expected: str) -> None:
    assert expected in request_errors(make_request(**overrides))


def test_pool_without_zones_gets_the_cluster_zones() -> None:
    request = make_request()
    assert request.node_pools[0].zones == tuple(ZONES)
    assert request.defaulted_pool_zones == ("general",)


@pytest.mark.parametrize(
    ("fact_overrides", "expected"),
    [
        ({"zones": frozenset(ZONES[:2])}, "zones: cn-hangzhou-j not available in cn-hangzhou"),
        (
            {"vswitches": {"cn-hangzhou-h": "vsw-h", "cn-hangzhou-i": "vsw-i"}},
            "zones: no vSwitch of the cluster VPC in cn-hangzhou-j",
        ),
        (
            {
                "stock": {
                    **{(z, t): "WithStock" for z in ZONES for t in TYPES},
                    ("cn-hangzhou-i", "ecs.c7.2xlarge"): "WithoutStock",
                }
            },
            "stock: ecs.c7.2xlarge is sold out in cn-hangzhou-i (WithoutStock; needed by pool compute)",
        ),
        (
            {"stock": {(z, "ecs.c7.2xlarge"): "WithStock" for z in ZONES}},
            "stock: ecs.g7.xlarge is not offered in cn-hangzhou-h (needed by control plane, pool general)",
        ),
        (
            {"vcpu_quota_remaining": 30, "instance_vcpus": {"ecs.g7.xlarge": 4, "ecs.c7.2xlarge": 8}},
            "quota: 44 more vCPUs needed, only 30 left in cn-hangzhou",
        ),
        ({"vcpu_quota_remaining": 30}, "quota: vCPUs of ecs.g7.xlarge unknown"),
        ({"load_balancer_quota_remaining": 0}, "quota: no load balancer left in cn-hangzhou"),
        ({"region_id": "cn-beijing"}, "region_id: facts are for cn-beijing"),
    ],
)
def test_cloud_errors(fact_overrides: dict[str, Any], expected: str) -> None:
    errors = cloud_errors(make_request(), facts(**fact_overrides))
    assert any(e.startswith(expected) for e in errors), errors


def test_quota_counts_existing_instances() -> None:
    # 7 x 4 + 2 x 8 = 44 vCPUs planned, 40 exist already (a resumed run): 4 more fit in a quota of 4.
    vcpus = {"ecs.g7.xlarge": 4, "ecs.c7.2xlarge": 8}
    assert (
        cloud_errors(make_request(), facts(vcpu_quota_remaining=4, instance_vcpus=vcpus, existing_vcpus=40))
        == []
    )
    assert cloud_errors(
        make_request(), facts(vcpu_quota_remaining=3, instance_vcpus=vcpus, existing_vcpus=40)
    )


def test_name_taken_by_a_different_cluster() -> None:
    other = base_conf(zones=["cn-hangzhou-h"], ticket_id="OPS-1")
    errors = cloud_errors(make_request(), facts(registered_spec=other, registered_state="ready"))
    assert any(
        "'demo' is already used by a different cluster (registered from ticket OPS-1" in e for e in errors
    )


def test_same_request_again_is_a_converged_rerun_even_without_stock() -> None:
    spec = make_request(ticket_id="OPS-0").to_params()
    sold_out = facts(stock={}, registered_spec=spec, registered_state="ready")
    assert cloud_errors(make_request(), sold_out) == []


def test_same_request_resumed_after_partial_failure_still_checks_stock() -> None:
    spec = make_request().to_params()
    sold_out = facts(stock={}, registered_spec=spec, registered_state="provisioning")
    assert any(e.startswith("stock:") for e in cloud_errors(make_request(), sold_out))
