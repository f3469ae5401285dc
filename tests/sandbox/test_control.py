"""Control API: health, reset, state, call log, zones; and a restart that restores the saved world."""

from __future__ import annotations

import httpx
from alibabacloud_ecs20140526 import models as ecs_models

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import run_instances, wait_for_status


def test_health_reports_ports(sandbox):
    health = sandbox.health()
    assert health["status"] == "ok"
    assert health["ports"]["http"] == sandbox.http_port
    assert health["ports"]["dns"] == sandbox.dns_port


def test_reset_returns_to_seeded_world(clean_sandbox):
    ids = run_instances(clean_sandbox, amount=2)
    assert len(clean_sandbox.state()["ecs"]["instances"]) == 2
    clean_sandbox.reset()
    state = clean_sandbox.state()
    assert state["ecs"]["instances"] == []
    assert {z for z in state["zones"]} == {"cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"}
    # same seed, same order of creation: the same ids again
    assert run_instances(clean_sandbox, amount=2) == ids


def test_call_log_is_ordered_and_redacts_user_data(clean_sandbox):
    client = clean_sandbox.ecs_client()
    client.describe_regions(ecs_models.DescribeRegionsRequest())
    run_instances(clean_sandbox, user_data="I2Nsb3VkLWNvbmZpZwpzZWNyZXQ6IGhpZGRlbgo=")
    log = clean_sandbox.calls()
    actions = [c["action"] for c in log["calls"]]
    assert actions[0] == "DescribeRegions"
    assert "RunInstances" in actions
    run = next(c for c in log["calls"] if c["action"] == "RunInstances")
    assert run["product"] == "ecs" and run["status"] == 200
    assert "I2Nsb3Vk" not in str(run["params"])
    assert [c["seq"] for c in log["calls"]] == sorted(c["seq"] for c in log["calls"])
    later = clean_sandbox.calls(since=log["next"])
    assert later["calls"] == []


def test_state_hides_user_data(clean_sandbox):
    run_instances(clean_sandbox, user_data="I2Nsb3VkLWNvbmZpZwo=")
    instance = clean_sandbox.state()["ecs"]["instances"][0]
    assert instance["user_data"].startswith("<redacted")


def test_bad_control_requests_get_one_line_errors(sandbox):
    response = httpx.post(
        f"{sandbox.control_url}/zones/cn-hangzhou-x", json={"outage": True}, trust_env=False
    )
    assert response.status_code == 404
    assert "unknown zone" in response.json()["error"]
    response = httpx.post(f"{sandbox.control_url}/faults", json={"rules": [{"rate": 2}]}, trust_env=False)
    assert response.status_code == 400
    assert "rate" in response.json()["error"]


def test_restart_restores_state(clean_sandbox):
    ids = run_instances(clean_sandbox, amount=3)
    wait_for_status(clean_sandbox, ids, "Running")
    clean_sandbox.set_zone("cn-hangzhou-j", stock={"ecs.g7.large": 7})
    clean_sandbox.restart()
    assert clean_sandbox.health()["restored"] is True
    body = (
        clean_sandbox.ecs_client()
        .describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou", page_size=100))
        .body
    )
    assert sorted(i.instance_id for i in body.instances.instance) == sorted(ids)
    assert {i.status for i in body.instances.instance} == {"Running"}
    zones = {z["zone_id"]: z for z in clean_sandbox.state()["zones"].values()}
    assert zones["cn-hangzhou-j"]["stock"]["ecs.g7.large"] == 7
    # ids keep being unique after a restore
    assert not set(run_instances(clean_sandbox, amount=1)) & set(ids)


def test_ids_follow_the_seed(sandbox, tmp_path):
    other = SandboxHandle(tmp_path / "seeded", seed=1)
    other.start()
    try:
        sandbox.reset()
        other.reset()
        seed0 = run_instances(sandbox, amount=2)
        seed1 = run_instances(other, amount=2)
        assert seed0 != seed1
        other.reset()
        assert run_instances(other, amount=2) == seed1
        assert other.health()["seed"] == 1
    finally:
        other.close()
        sandbox.reset()
