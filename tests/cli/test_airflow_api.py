"""The shared Airflow REST client (``yunfleet.airflow_api``) against a fake API server on loopback.

The official client sends real HTTP here, so these tests see what goes over the wire: the login,
the bearer token, the trigger body, and how error answers become one ``ApiError``.
"""

from __future__ import annotations

import socket

import pytest

from yunfleet.airflow_api import AirflowApi, ApiError, one_line


@pytest.fixture
def api(fake_airflow):
    fake_airflow.add_dag("provision_cluster")
    client = AirflowApi(fake_airflow.base_url, fake_airflow.username, fake_airflow.password, timeout_s=5)
    yield client
    client.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_trigger_logs_in_once_and_sends_a_null_logical_date(api, fake_airflow):
    run = api.trigger("provision_cluster", conf={"ticket_id": "OPS-1"}, note="ticket OPS-1", run_id="r1")
    assert api.get_run("provision_cluster", "r1").note == "ticket OPS-1"

    assert run.dag_run_id == "r1"
    (sent,) = fake_airflow.calls("POST", "/dagRuns")
    assert sent.body == {
        "dag_run_id": "r1",
        "conf": {"ticket_id": "OPS-1"},
        "note": "ticket OPS-1",
        "logical_date": None,
    }
    assert len(fake_airflow.calls("POST", "/auth/token")) == 1
    assert sent.headers["Authorization"] == f"Bearer {api.token()}"


def test_trigger_without_note_or_run_id_leaves_them_to_the_server(api, fake_airflow):
    run = api.trigger("provision_cluster", conf={})
    (sent,) = fake_airflow.calls("POST", "/dagRuns")
    assert sent.body == {"conf": {}, "logical_date": None}
    assert run.dag_run_id.startswith("manual__")


def test_an_expired_token_is_renewed_once(api, fake_airflow):
    first = api.token()
    fake_airflow.revoke_tokens()
    assert api.get_dag("provision_cluster").is_paused is False
    assert api.token() != first
    assert len(fake_airflow.calls("POST", "/auth/token")) == 2


def test_wrong_password_is_one_line_with_status_401(fake_airflow):
    fake_airflow.add_dag("provision_cluster")
    with AirflowApi(fake_airflow.base_url, "admin", "wrong") as client, pytest.raises(ApiError) as err:
        client.get_dag("provision_cluster")
    assert err.value.status_code == 401
    assert str(err.value) == "login as 'admin' refused: Invalid credentials"


def test_bad_conf_answer_becomes_one_line_with_the_servers_detail(api, fake_airflow):
    fake_airflow.trigger_error = (400, "Invalid input for param cluster_name: 'Bad' does not match\n'^[a-z]'")
    with pytest.raises(ApiError) as err:
        api.trigger("provision_cluster", conf={"cluster_name": "Bad"})
    assert err.value.status_code == 400
    assert str(err.value) == "Invalid input for param cluster_name: 'Bad' does not match '^[a-z]'"
    assert "does not match" in err.value.detail


def test_validation_error_lists_are_flattened(api, fake_airflow):
    fake_airflow.trigger_error = (
        422,
        [
            {"loc": ["body", "conf"], "msg": "Input should be a valid dictionary", "type": "dict_type"},
            {"loc": ["body", "note"], "msg": "Input should be a valid string", "type": "string_type"},
        ],
    )
    with pytest.raises(ApiError) as err:
        api.trigger("provision_cluster", conf={})
    assert err.value.status_code == 422
    assert str(err.value) == (
        "body.conf: Input should be a valid dictionary; body.note: Input should be a valid string"
    )


def test_unknown_dag_is_404(api):
    with pytest.raises(ApiError) as err:
        api.get_dag("nope")
    assert err.value.status_code == 404
    assert "nope" in str(err.value)


def test_unreachable_server_is_status_0():
    port = _closed_port()
    with AirflowApi(f"http://127.0.0.1:{port}", "admin", "pw", timeout_s=2) as client:
        with pytest.raises(ApiError) as err:
            client.get_dag("provision_cluster")
    assert err.value.status_code == 0
    assert str(err.value).startswith(f"cannot reach the Airflow API at http://127.0.0.1:{port}: ")
    assert "\n" not in str(err.value)


def test_proxy_variables_do_not_apply_to_a_loopback_server(fake_airflow, monkeypatch):
    dead_proxy = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    fake_airflow.add_dag("provision_cluster")
    with AirflowApi(fake_airflow.base_url, fake_airflow.username, fake_airflow.password) as client:
        assert client.get_dag("provision_cluster").dag_id == "provision_cluster"


def test_health_needs_no_login(api, fake_airflow):
    assert api.health() == {
        "metadatabase": "healthy",
        "scheduler": "healthy",
        "triggerer": "healthy",
        "dag_processor": "unhealthy",
    }
    assert fake_airflow.calls("POST", "/auth/token") == []


def test_set_paused_patches_only_is_paused(api, fake_airflow):
    fake_airflow.add_dag("decommission_cluster", paused=True)
    api.set_paused("decommission_cluster", False)
    (patch,) = fake_airflow.calls("PATCH")
    assert patch.body == {"is_paused": False}
    assert patch.query == {"update_mask": ["is_paused"]}
    assert api.get_dag("decommission_cluster").is_paused is False


def test_follow_reports_each_task_state_change_once(api, fake_airflow):
    fake_airflow.run_states = ["queued", "running", "running", "success"]
    fake_airflow.ti_states = [
        [("validate", None)],
        [("validate", "running")],
        [("validate", "success"), ("workers", "running", 0), ("workers", "running", 1)],
        [("validate", "success"), ("workers", "success", 0), ("workers", "failed", 1)],
    ]
    lines: list[str] = []
    state = api.follow("provision_cluster", "r1", timeout_s=30, poll_s=0.01, on_change=lines.append)
    assert state == "success"
    assert lines == [
        "validate: none",
        "validate: running",
        "validate: success",
        "workers[0]: running",
        "workers[1]: running",
        "workers[0]: success",
        "workers[1]: failed",
    ]


def test_follow_gives_up_after_the_timeout(api, fake_airflow):
    fake_airflow.run_states = ["running"]
    with pytest.raises(TimeoutError, match=r"run r1 of provision_cluster still running after 0s"):
        api.follow("provision_cluster", "r1", timeout_s=0, poll_s=0.01)


def test_wait_for_dag_waits_for_the_dag_processor(api, fake_airflow):
    fake_airflow.pending_dags["late_dag"] = 2
    assert api.wait_for_dag("late_dag", timeout_s=10, poll_s=0.01).dag_id == "late_dag"
    assert len(fake_airflow.calls("GET", "/importErrors")) == 2


def test_wait_for_dag_reports_the_import_error(api, fake_airflow):
    fake_airflow.import_errors = [
        {"filename": "/dags/broken_dag.py", "stack_trace": "SyntaxError: invalid syntax"},
    ]
    with pytest.raises(RuntimeError, match="DAG broken_dag has an import error:\nSyntaxError"):
        api.wait_for_dag("broken_dag", timeout_s=10, poll_s=0.01)


def test_explain_lists_every_task_with_its_try(api, fake_airflow):
    fake_airflow.ti_states = [[("validate", "success"), ("workers", "skipped", 0), ("finish", None)]]
    assert api.explain("provision_cluster", "r1").splitlines() == [
        "validate[-1] try 1: success",
        "workers[0] try 1: skipped",
        "finish[-1] try 0: none",
    ]


def test_explain_shows_the_failed_try_log_with_level_and_exception(api, fake_airflow):
    fake_airflow.ti_states = [[("validate", "failed"), ("finish", "upstream_failed")]]
    fake_airflow.task_logs[("validate", 1)] = [
        "::group::Log message source details",
        {"timestamp": "2026-11-30T10:10:29Z", "level": "info", "event": "ecs DescribeVpcs"},
        {
            "timestamp": "2026-11-30T10:10:32Z",
            "level": "error",
            "event": "Task failed with exception",
            "error_detail": [{"exc_type": "AirflowFailException", "exc_value": "quota: 6 vCPUs needed"}],
        },
    ]
    assert api.explain("provision_cluster", "r1").splitlines() == [
        "validate[-1] try 1: failed",
        "    ::group::Log message source details",
        "    2026-11-30T10:10:29Z info ecs DescribeVpcs",
        "    2026-11-30T10:10:32Z error Task failed with exception",
        "    AirflowFailException: quota: 6 vCPUs needed",
        "finish[-1] try 1: upstream_failed",
        "    (log unavailable: HTTP 404 TaskInstance finish try 1 not found)",
    ]


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        ("plain", "plain"),
        ("two\n  lines", "two lines"),
        ([{"loc": ["query", "limit"], "msg": "too big"}], "query.limit: too big"),
        (["a", "b"], "a; b"),
        ({"unexpected": "shape"}, "{'unexpected': 'shape'}"),
    ],
)
def test_one_line(detail, expected):
    assert one_line(detail) == expected


def test_an_idempotent_call_rides_out_a_busy_database_and_then_gives_up(api, fake_airflow):
    api.retry_pause_s = 0.01
    fake_airflow.database_errors = 3
    api.set_paused("provision_cluster", True)
    assert fake_airflow.dags["provision_cluster"]["is_paused"] is True
    assert len(fake_airflow.calls("PATCH", "/dags/provision_cluster")) == 4
    fake_airflow.database_errors = 4
    with pytest.raises(ApiError) as caught:
        api.get_dag("provision_cluster")
    assert caught.value.status_code == 500 and "Database error" in str(caught.value)
    # a trigger is not idempotent without a run id: one try, the error as it came
    fake_airflow.database_errors = 1
    with pytest.raises(ApiError) as once:
        api.trigger("provision_cluster", conf={})
    assert once.value.status_code == 500
    assert len(fake_airflow.calls("POST", "/dagRuns")) == 1
