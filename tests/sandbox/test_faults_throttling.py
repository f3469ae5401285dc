"""Fault rules and API rate limits, observed as the SDK's own exceptions."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_slb20140515 import models as slb_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from darabonba.exceptions import UnretryableException
from darabonba.policy.retry import RetryOptions
from Tea.exceptions import TeaException


def _regions(client):
    return client.describe_regions(ecs_models.DescribeRegionsRequest())


def _outcomes(client, n: int) -> list[str]:
    result = []
    for _ in range(n):
        try:
            _regions(client)
            result.append("ok")
        except TeaException as error:
            result.append(error.code)
    return result


def test_error_fault_with_count(clean_sandbox):
    clean_sandbox.set_faults(
        [{"product": "ecs", "action": "DescribeRegions", "error": "InternalError", "count": 2}]
    )
    client = clean_sandbox.ecs_client()
    for _ in range(2):
        with pytest.raises(ServerException) as info:
            _regions(client)
        assert (info.value.code, info.value.status_code) == ("InternalError", 500)
    assert _regions(client).status_code == 200
    # other actions and products are untouched
    clean_sandbox.slb_client().describe_regions(slb_models.DescribeRegionsRequest())
    calls = clean_sandbox.calls()["calls"]
    assert [(c["action"], c["status"], c["error_code"]) for c in calls] == [
        ("DescribeRegions", 500, "InternalError"),
        ("DescribeRegions", 500, "InternalError"),
        ("DescribeRegions", 200, None),
        ("DescribeRegions", 200, None),
    ]
    assert [c["product"] for c in calls] == ["ecs", "ecs", "ecs", "slb"]


def test_client_error_fault_with_custom_status(clean_sandbox):
    clean_sandbox.set_faults([{"product": "*", "action": "DescribeRegions", "error": "OperationConflict"}])
    with pytest.raises(ClientException) as info:
        _regions(clean_sandbox.ecs_client())
    assert (info.value.code, info.value.status_code) == ("OperationConflict", 409)
    clean_sandbox.set_faults([{"product": "ecs", "action": "*", "error": "Throttling", "http_status": 429}])
    with pytest.raises(ClientException) as info:
        _regions(clean_sandbox.ecs_client())
    assert (info.value.code, info.value.status_code) == ("Throttling", 429)


def test_rate_is_deterministic_under_seed(clean_sandbox):
    rule = [{"product": "ecs", "action": "DescribeRegions", "error": "ServiceUnavailable", "rate": 0.5}]
    client = clean_sandbox.ecs_client()
    clean_sandbox.set_faults(rule, seed=7)
    first = _outcomes(client, 20)
    clean_sandbox.set_faults(rule, seed=7)
    second = _outcomes(client, 20)
    assert first == second
    assert 2 <= first.count("ServiceUnavailable") <= 18
    clean_sandbox.set_faults(rule, seed=8)
    assert _outcomes(client, 20) != first


def test_timeout_fault_surfaces_as_sdk_timeout(clean_sandbox):
    clean_sandbox.set_faults(
        [{"product": "ecs", "action": "DescribeRegions", "error": "timeout", "delay_ms": 3000}]
    )
    client = clean_sandbox.ecs_client(read_timeout=300)
    with pytest.raises(UnretryableException):
        _regions(client)
    clean_sandbox.clear_faults()
    assert _regions(client).status_code == 200


def test_delay_without_error(clean_sandbox):
    clean_sandbox.set_faults([{"product": "ecs", "action": "DescribeRegions", "delay_ms": 1500, "count": 1}])
    with pytest.raises(UnretryableException):
        _regions(clean_sandbox.ecs_client(read_timeout=300))
    assert _regions(clean_sandbox.ecs_client(read_timeout=300)).status_code == 200


def test_throttling_user(clean_sandbox):
    clean_sandbox.set_limits([{"product": "ecs", "action": "DescribeRegions", "qps": 0.5, "burst": 2}])
    client = clean_sandbox.ecs_client()
    _regions(client)
    _regions(client)
    with pytest.raises(ClientException) as info:
        _regions(client)
    assert (info.value.code, info.value.status_code) == ("Throttling.User", 400)
    assert info.value.data["Message"] == "Request was denied due to user flow control."
    # a different action has its own bucket
    client.describe_zones(ecs_models.DescribeZonesRequest(region_id="cn-hangzhou"))


def test_sdk_retry_options_recover_from_throttling(clean_sandbox):
    clean_sandbox.set_limits([{"product": "ecs", "action": "DescribeRegions", "qps": 5, "burst": 1}])
    retry = RetryOptions(
        {
            "retryable": True,
            "retryCondition": [
                {
                    "maxAttempts": 4,
                    "errorCode": ["Throttling.User"],
                    "backoff": {"policy": "Fixed", "period": 300},
                }
            ],
            "noRetryCondition": [],
        }
    )
    client = clean_sandbox.ecs_client(retry_options=retry)
    _regions(client)
    assert _regions(client).status_code == 200
    codes = [c["error_code"] for c in clean_sandbox.calls()["calls"]]
    assert codes[0] is None and "Throttling.User" in codes and codes[-1] is None


def test_bad_fault_rules_are_rejected(sandbox):
    with pytest.raises(AssertionError, match="product"):
        sandbox.set_faults([{"product": "oss", "error": "InternalError"}])
    with pytest.raises(AssertionError, match="needs an error"):
        sandbox.set_faults([{"product": "ecs"}])
