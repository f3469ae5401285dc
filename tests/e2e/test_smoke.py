"""End-to-end smoke test of the running platform, driven through the Airflow REST API."""

from __future__ import annotations

import pytest

from yunfleet.airflow_api import ApiError

pytestmark = pytest.mark.e2e

DAG_ID = "smoke_platform"


def test_token_is_required_and_issued(platform):
    anonymous = platform.client._client.get("/api/v2/dags")
    assert anonymous.status_code == 401
    assert platform.token().count(".") == 2  # a JWT: header.payload.signature
    resp = platform.api("GET", "/api/v2/dags", params={"dag_id_pattern": DAG_ID})
    assert resp.status_code == 200, resp.text


def test_triggered_run_calls_the_cloud_and_succeeds(platform):
    before = platform.sandbox.calls()["next"]
    run_id = platform.trigger(DAG_ID, {"ticket_id": "OPS-1", "dry_run": True}, note="ticket OPS-1")

    state = platform.wait(DAG_ID, run_id, timeout=240)

    assert state == "success", platform.explain(DAG_ID, run_id)
    run = platform.client.run(DAG_ID, run_id)
    assert run["note"] == "ticket OPS-1"
    assert run["triggered_by"] == "rest_api"
    dag = platform.api("GET", f"/api/v2/dags/{DAG_ID}").json()
    assert dag["is_paused"] is False
    calls = platform.sandbox.calls(since=before)["calls"]
    assert any(c.get("action") == "DescribeRegions" and c.get("product") == "ecs" for c in calls), calls
    xcom = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/describe_regions/xcomEntries/return_value"
    regions = platform.api("GET", xcom).json()
    assert "cn-hangzhou" in str(regions["value"])


@pytest.mark.parametrize(
    "conf",
    [
        pytest.param({"ticket_id": "not a ticket"}, id="ticket-pattern"),
        pytest.param({"ticket_id": "OPS-2", "dry_run": "yes"}, id="dry-run-type"),
        pytest.param({}, id="ticket-missing"),
    ],
)
def test_bad_conf_is_rejected_with_400(platform, conf):
    with pytest.raises(ApiError) as err:
        platform.trigger(DAG_ID, conf)
    assert err.value.status_code == 400
    assert "Invalid input for param" in str(err.value.detail)


def test_cloud_error_fails_the_run_after_retries_and_is_explained(platform):
    platform.sandbox.set_faults(
        [
            {
                "product": "ecs",
                "action": "DescribeRegions",
                "error": "ServiceUnavailable",
                "http_status": 503,
                "rate": 1.0,
            }
        ],
        seed=1,
    )
    try:
        run_id = platform.trigger(DAG_ID, {"ticket_id": "OPS-3"})
        state = platform.wait(DAG_ID, run_id, timeout=240)
    finally:
        platform.sandbox.clear_faults()

    assert state == "failed"
    (ti,) = platform.client.task_instances(DAG_ID, run_id)
    assert ti["try_number"] == 3  # the first try and two retries
    explanation = platform.explain(DAG_ID, run_id)
    assert "describe_regions[-1] try 3: failed" in explanation
    assert "ServiceUnavailable" in explanation
    assert "sandbox-secret" not in explanation
