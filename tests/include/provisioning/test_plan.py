"""The provisioning plan: order, spreading over zones, tags and stable ClientTokens."""

from __future__ import annotations

import pytest

from include.fleet.contract import TAG_CLUSTER, TAG_INTENT, TAG_NODE_POOL, TAG_ROLE, api_fqdn
from include.provisioning.plan import PlannedResource, ProvisionPlan, plan_provision, spread
from tests.include.provisioning.builders import make_request


@pytest.mark.parametrize(
    ("count", "zones", "expected"),
    [
        (4, ("a", "b", "c"), [("a", 2), ("b", 1), ("c", 1)]),
        (3, ("a", "b", "c"), [("a", 1), ("b", 1), ("c", 1)]),
        (2, ("a", "b", "c"), [("a", 1), ("b", 1), ("c", 0)]),
        (0, ("a",), [("a", 0)]),
        (100, ("a", "b", "c"), [("a", 34), ("b", 33), ("c", 33)]),
    ],
)
def test_spread(count: int, zones: tuple[str, ...], expected: list[tuple[str, int]]) -> None:
    assert spread(count, zones) == expected


def test_plan_order_and_content() -> None:
    plan = plan_provision(make_request())
    assert [r.key for r in plan.resources] == [
        "pki",
        "security-group",
        "security-group/rules",
        "control-plane/0",
        "control-plane/1",
        "control-plane/2",
        "apiserver-lb",
        "apiserver-lb/listener",
        "apiserver-lb/backends",
        "dns/api",
        "pool/general/cn-hangzhou-h",
        "pool/general/cn-hangzhou-i",
        "pool/general/cn-hangzhou-j",
        "pool/compute/cn-hangzhou-h",
        "pool/compute/cn-hangzhou-i",
        "registration",
    ]
    assert [r.zone for r in plan.control_plane()] == ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    assert [(r.node_pool, r.zone, r.count) for r in plan.worker_batches()] == [
        ("general", "cn-hangzhou-h", 2),
        ("general", "cn-hangzhou-i", 1),
        ("general", "cn-hangzhou-j", 1),
        ("compute", "cn-hangzhou-h", 1),
        ("compute", "cn-hangzhou-i", 1),
    ]
    assert plan.instance_count() == 3 + 4 + 2


def test_every_dependency_comes_earlier() -> None:
    plan = plan_provision(make_request())
    seen: set[str] = set()
    for resource in plan.resources:
        assert set(resource.depends_on) <= seen, resource.key
        seen.add(resource.key)


def test_tags_follow_the_contract() -> None:
    plan = plan_provision(make_request())
    for r in plan.resources:
        if r.product in ("ecs", "slb"):
            assert r.tags[TAG_CLUSTER] == "demo"
            assert r.tags[TAG_INTENT] == r.key
    cp = plan.control_plane()[0]
    assert cp.tags[TAG_ROLE] == "control-plane" and TAG_NODE_POOL not in cp.tags
    worker = plan.worker_batches()[0]
    assert worker.tags[TAG_ROLE] == "worker" and worker.tags[TAG_NODE_POOL] == "general"
    assert plan.by_kind("load_balancer")[0].tags[TAG_ROLE] == "apiserver-lb"


def test_plan_is_stable_and_plans_no_client_token() -> None:
    """ClientTokens are derived where they are sent (tests/operators/utils/test_errors_and_retry.py)."""
    a = plan_provision(make_request(), generation="g1")
    b = plan_provision(make_request(ticket_id="OTHER-1"), generation="g1")
    c = plan_provision(make_request(), generation="g2")
    assert a == b == c
    keys = [r.key for r in a.resources]
    assert len(set(keys)) == len(keys)
    assert all("client_token" not in r.to_json() for r in a.resources)
    old = {**a.resources[0].to_json(), "client_token": "yf-planned"}  # a plan XCom from before
    assert PlannedResource.from_json(old) == a.resources[0]


def test_single_zone_single_master() -> None:
    plan = plan_provision(
        make_request(
            zones=["cn-hangzhou-h"],
            control_plane={"instance_type": "ecs.g7.xlarge", "count": 1},
            node_pools=[
                {
                    "name": "p",
                    "instance_type": "ecs.g7.xlarge",
                    "min_size": 0,
                    "max_size": 3,
                    "desired_size": 0,
                }
            ],
        )
    )
    assert [r.key for r in plan.control_plane()] == ["control-plane/0"]
    assert plan.worker_batches() == []


def test_json_round_trip() -> None:
    plan = plan_provision(make_request())
    assert ProvisionPlan.from_json(plan.to_json()) == plan


def test_dns_name() -> None:
    assert api_fqdn("demo", "fleet.example.com") == "api.demo.fleet.example.com"
    assert plan_provision(make_request()).by_kind("dns_record")[0].name == "api.demo"
