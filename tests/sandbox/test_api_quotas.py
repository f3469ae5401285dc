"""Per-minute API quotas (POST /_sandbox/quotas with rules): a closed window stays closed until the next."""

from __future__ import annotations

import time

import httpx
import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_slb20140515 import models as slb_models
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException

WINDOW_S = 2.0


def _regions(client):
    return client.describe_regions(ecs_models.DescribeRegionsRequest())


def _fresh_window(sandbox, rules, window_s=WINDOW_S, margin=1.2):
    """Set the rules, then wait for a new window if the current one ends within ``margin`` seconds."""
    state = sandbox.set_api_quotas(rules, window_seconds=window_s)
    if state["window_ends_in"] < margin:
        time.sleep(state["window_ends_in"] + 0.05)
    return state


def test_a_throttled_action_answers_nothing_until_the_next_window(clean_sandbox):
    state = _fresh_window(clean_sandbox, [{"product": "ecs", "action": "DescribeRegions", "per_minute": 2}])
    assert state["window_seconds"] == WINDOW_S
    client = clean_sandbox.ecs_client()
    _regions(client)
    _regions(client)
    for _ in range(3):  # every further call inside the window is refused
        with pytest.raises(ClientException) as info:
            _regions(client)
        assert (info.value.code, info.value.status_code) == ("Throttling.User", 400)
        assert info.value.data["Message"] == "Request was denied due to user flow control."
    # other actions and products have their own budget (none here)
    client.describe_zones(ecs_models.DescribeZonesRequest(region_id="cn-hangzhou"))
    clean_sandbox.slb_client().describe_regions(slb_models.DescribeRegionsRequest())
    used = clean_sandbox.api_quotas()["used"]
    assert used == {"ecs DescribeRegions": 2}

    time.sleep(clean_sandbox.api_quotas()["window_ends_in"] + 0.05)
    assert _regions(client).status_code == 200
    codes = [c["error_code"] for c in clean_sandbox.calls()["calls"] if c["action"] == "DescribeRegions"]
    assert codes[:5] == [None, None, "Throttling.User", "Throttling.User", "Throttling.User"]


def test_retry_after_header_makes_the_sdk_raise_throttling_exception(clean_sandbox):
    _fresh_window(
        clean_sandbox, [{"product": "ecs", "action": "DescribeRegions", "per_minute": 0, "retry_after": True}]
    )
    with pytest.raises(ThrottlingException) as info:
        _regions(clean_sandbox.ecs_client())
    assert info.value.code == "Throttling.User"
    assert 0 < info.value.retry_after <= WINDOW_S * 1000  # milliseconds until the window reopens


def test_delete_removes_the_rules_and_keeps_the_vcpu_quota(clean_sandbox):
    clean_sandbox.set_vcpu_quota(64)
    clean_sandbox.set_api_quotas([{"product": "*", "action": "*", "per_minute": 0}])
    with pytest.raises(ClientException):
        _regions(clean_sandbox.ecs_client())
    state = clean_sandbox.clear_api_quotas()
    assert state["rules"] == [] and state["vcpu"] == 64 and state["window_seconds"] == 60
    assert _regions(clean_sandbox.ecs_client()).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rules": [{"product": "oss", "per_minute": 1}]}, "product"),
        ({"rules": [{"action": "DescribeRegions"}]}, "per_minute"),
        ({"rules": [{"per_minute": 1, "qps": 3}]}, "unknown keys: qps"),
        ({"rules": [], "window_seconds": 0}, "window_seconds"),
        ({"window_seconds": 5}, "window_seconds comes with rules"),
        ({"rule": []}, "unknown keys: rule"),
        ({}, "vcpu"),
    ],
)
def test_malformed_quota_requests_are_refused(sandbox, body, message):
    with httpx.Client(trust_env=False) as http:
        response = http.post(f"{sandbox.control_url}/quotas", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
