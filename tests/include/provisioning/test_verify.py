"""The verify judgement of a provisioning run, as a table of (case, facts, expected problems)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from include.provisioning.verify import ClusterFacts, ExpectedCluster, instance_id_of, verify_problems

EXPECTED = ExpectedCluster(
    instance_ids=frozenset({"i-cp", "i-w1", "i-w2"}),
    load_balancer_id="lb-1",
    address="10.0.0.5",
    dns_name="api.alpha.fleet.example.com",
)
ALL_THERE = ClusterFacts(
    instance_status={"i-cp": "Running", "i-w1": "Running", "i-w2": "Running"},
    load_balancer_exists=True,
    backend_health={"i-cp": "normal"},
    dns_values=frozenset({"10.0.0.5"}),
    ready_instance_ids=frozenset({"i-cp", "i-w1", "i-w2"}),
)


@pytest.mark.parametrize(
    ("case", "facts", "expected"),
    [
        ("all there", ALL_THERE, []),
        (
            "instances released after an idempotency replay",
            replace(
                ALL_THERE,
                instance_status={"i-cp": "Running"},
                ready_instance_ids=frozenset({"i-cp"}),
            ),
            ["instances i-w1, i-w2 do not exist (released or never created)"],
        ),
        (
            "an instance stopped",
            replace(ALL_THERE, instance_status={**ALL_THERE.instance_status, "i-w2": "Stopped"}),
            ["instances not Running: i-w2 Stopped"],
        ),
        (
            "load balancer deleted",
            replace(ALL_THERE, load_balancer_exists=False, backend_health={}),
            ["load balancer lb-1 does not exist"],
        ),
        (
            "unhealthy backend",
            replace(ALL_THERE, backend_health={"i-cp": "abnormal"}),
            ["load balancer lb-1 backends not healthy: i-cp abnormal"],
        ),
        (
            "no backends",
            replace(ALL_THERE, backend_health={}),
            ["load balancer lb-1 has no backend servers"],
        ),
        (
            "DNS points elsewhere",
            replace(ALL_THERE, dns_values=frozenset({"10.9.9.9"})),
            ["api.alpha.fleet.example.com does not point at 10.0.0.5 (found: 10.9.9.9)"],
        ),
        (
            "DNS record missing",
            replace(ALL_THERE, dns_values=frozenset()),
            ["api.alpha.fleet.example.com does not point at 10.0.0.5 (found: no enabled A record)"],
        ),
        (
            "a node not Ready",
            replace(ALL_THERE, ready_instance_ids=frozenset({"i-cp", "i-w1"})),
            ["instances without a Ready node: i-w2"],
        ),
        (
            "everything gone",
            ClusterFacts({}, False, {}, frozenset(), frozenset()),
            [
                "instances i-cp, i-w1, i-w2 do not exist (released or never created)",
                "load balancer lb-1 does not exist",
                "api.alpha.fleet.example.com does not point at 10.0.0.5 (found: no enabled A record)",
            ],
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_verify_problems(case: str, facts: ClusterFacts, expected: list[str]) -> None:
    assert verify_problems(EXPECTED, facts) == expected


@pytest.mark.parametrize(
    ("provider_id", "instance_id"),
    [
        ("alicloud://cn-hangzhou.i-bp1abc", "i-bp1abc"),
        ("alicloud://ap-southeast-1.i-t4n9", "i-t4n9"),
        ("aws:///us-east-1a/i-0abc", None),
        ("", None),
        (None, None),
        ("alicloud://cn-hangzhou.", None),
    ],
)
def test_instance_id_of(provider_id: str | None, instance_id: str | None) -> None:
    assert instance_id_of(provider_id) == instance_id
