"""The Great Expectations gate over the request and the plan."""

from __future__ import annotations

import dataclasses

import pytest

from include.provisioning.plan import plan_provision
from include.provisioning.quality import check_quality
from tests.include.provisioning.builders import make_request


@pytest.fixture(scope="module")
def good():  # type: ignore[no-untyped-def]
    request = make_request()
    return request, plan_provision(request)


def test_good_request_and_plan_pass(good) -> None:  # type: ignore[no-untyped-def]
    report = check_quality(*good)
    assert report.success, report.failures
    assert report.evaluated >= 15


def test_duplicate_intent_and_wrong_count_fail(good) -> None:  # type: ignore[no-untyped-def]
    request, plan = good
    broken = dataclasses.replace(plan, resources=(*plan.resources, plan.worker_batches()[0]))
    report = check_quality(request, broken)
    assert not report.success
    text = "\n".join(report.failures)
    assert "expect_column_values_to_be_unique" in text and "'key'" in text
    assert "expect_column_sum_to_be_between" in text


def test_foreign_tag_and_zone_fail(good) -> None:  # type: ignore[no-untyped-def]
    request, plan = good
    stray = dataclasses.replace(
        plan.worker_batches()[0],
        key="pool/x/cn-beijing-a",
        zone="cn-beijing-a",
        count=0,
        tags={"yunfleet:cluster": "prod"},
    )
    report = check_quality(request, dataclasses.replace(plan, resources=(*plan.resources, stray)))
    text = "\n".join(report.failures)
    assert "cn-beijing-a" in text and "'prod'" in text
    assert "expect_column_values_to_be_between" in text  # count 0


def test_request_rules_fail(good) -> None:  # type: ignore[no-untyped-def]
    _, plan = good
    request = make_request()
    bad_pool = dataclasses.replace(request.node_pools[0], min_size=5, desired_size=4, max_size=3)
    report = check_quality(dataclasses.replace(request, node_pools=(bad_pool,)), plan)
    text = "\n".join(report.failures)
    assert "expect_column_pair_values_a_to_be_greater_than_b" in text
