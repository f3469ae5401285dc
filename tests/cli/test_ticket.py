"""``yunfleet ticket``: conf assembly, local checks, and the run through the REST API (fake server).

The command runs in-process through ``main``; the Airflow API is the loopback fake of
tests/fixtures/airflow_api.py, so what the command sends and prints is checked end to end without a
platform. The run against the live platform is in tests/e2e/test_provision_cluster.py.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime

import pytest

from yunfleet.cli import main
from yunfleet.cli.errors import EXIT_USAGE, CommandError
from yunfleet.cli.ticket import default_run_id, load_conf, local_errors, parse_set

DECOMMISSION = [
    "decommission_cluster",
    "OPS-1",
    "--set",
    "cluster_name=demo",
    "--set",
    "confirm_cluster_name=demo",
]


def _args(**values):
    base = {"conf": None, "set": None, "ticket_id": "OPS-1"}
    return argparse.Namespace(**{**base, **values})


# -- conf assembly -------------------------------------------------------------------------------


def test_set_values_are_json_when_they_parse():
    assert parse_set(["count=3", "dry_run=true", 'zones=["a","b"]', "name=demo", "empty="]) == {
        "count": 3,
        "dry_run": True,
        "zones": ["a", "b"],
        "name": "demo",
        "empty": "",
    }


@pytest.mark.parametrize("item", ["novalue", "=3"])
def test_set_without_key_or_equals_is_refused(item):
    with pytest.raises(CommandError, match=f"--set takes key=value, got '{item}'") as err:
        parse_set([item])
    assert err.value.code == EXIT_USAGE


def test_conf_from_a_file_then_set_then_the_ticket_id(tmp_path):
    path = tmp_path / "conf.json"
    path.write_text(json.dumps({"cluster_name": "alpha", "dry_run": False, "ticket_id": "ignored"}))
    conf = load_conf(_args(conf=f"@{path}", set=["dry_run=true"], ticket_id="OPS-9"))
    assert conf == {"cluster_name": "alpha", "dry_run": True, "ticket_id": "OPS-9"}


def test_conf_inline_json():
    assert load_conf(_args(conf='{"cluster_name": "beta"}')) == {"cluster_name": "beta", "ticket_id": "OPS-1"}


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ("@/nonexistent/conf.json", "cannot read conf file /nonexistent/conf.json"),
        ("{not json", "--conf is not valid JSON"),
        ('["a list"]', "--conf must be a JSON object"),
    ],
)
def test_bad_conf_is_a_usage_error(conf, message):
    with pytest.raises(CommandError, match=re.escape(message)) as err:
        load_conf(_args(conf=conf))
    assert err.value.code == EXIT_USAGE


def test_default_run_id_keeps_the_ticket_readable_and_safe():
    now = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    assert default_run_id("OPS-1", now) == "ticket__OPS-1__20260304T050607000890"
    assert default_run_id("team/OPS 1:a", now) == "ticket__team-OPS-1-a__20260304T050607000890"
    assert default_run_id("///", now) == "ticket__ticket__20260304T050607000890"
    assert len(default_run_id("X" * 100, now).split("__")[1]) == 64


def test_local_checks_apply_to_the_known_dags_only():
    same = {"cluster_name": "demo", "confirm_cluster_name": "demo", "ticket_id": "T-1"}
    assert local_errors("decommission_cluster", same) == []
    typo = {**same, "confirm_cluster_name": "dmeo"}
    assert local_errors("decommission_cluster", typo) == [
        "confirm_cluster_name: must repeat cluster_name exactly"
    ]
    assert any("cluster_name" in e for e in local_errors("provision_cluster", {"ticket_id": "T-1"}))
    assert local_errors("some_other_dag", {"anything": 1}) == []


# -- the command against a fake API --------------------------------------------------------------


@pytest.fixture
def platform_env(fake_airflow, monkeypatch, tmp_path):
    """The command's environment: the fake API, its password, a throwaway Airflow home."""
    monkeypatch.setenv("YUNFLEET_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    monkeypatch.setenv("YUNFLEET_API_URL", fake_airflow.base_url)
    monkeypatch.setenv("YUNFLEET_API_PASSWORD", fake_airflow.password)
    fake_airflow.add_dag("decommission_cluster")
    return fake_airflow


def _run(capsys, *argv):
    code = main(["ticket", *argv, "--poll", "0.01"])
    out, err = capsys.readouterr()
    return code, out, err


def test_ticket_triggers_and_follows_the_run(platform_env, capsys):
    platform_env.run_states = ["queued", "running", "success"]
    platform_env.ti_states = [
        [("take_lock", "running")],
        [("take_lock", "success"), ("delete", "running")],
        [("take_lock", "success"), ("delete", "success")],
    ]
    code, out, err = _run(capsys, *DECOMMISSION, "--run-id", "r-1")

    assert code == 0, err
    assert out.splitlines() == [
        "triggered decommission_cluster run r-1 for ticket OPS-1",
        "  take_lock: running",
        "  take_lock: success",
        "  delete: running",
        "  delete: success",
        "run r-1: success",
    ]
    (sent,) = platform_env.calls("POST", "/dagRuns")
    assert sent.body == {
        "dag_run_id": "r-1",
        "conf": {"cluster_name": "demo", "confirm_cluster_name": "demo", "ticket_id": "OPS-1"},
        "note": "ticket OPS-1",
        "logical_date": None,
    }


def test_ticket_takes_the_conf_from_a_file(platform_env, capsys, tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"cluster_name": "demo", "confirm_cluster_name": "demo", "dry_run": True}))
    code, out, err = _run(
        capsys,
        "decommission_cluster",
        "OPS-2",
        "--conf",
        f"@{path}",
        "--no-follow",
        "--note",
        "from the desk",
    )
    assert code == 0, err
    assert out.startswith("triggered decommission_cluster run ticket__OPS-2__")
    (sent,) = platform_env.calls("POST", "/dagRuns")
    assert sent.body["conf"] == {
        "cluster_name": "demo",
        "confirm_cluster_name": "demo",
        "dry_run": True,
        "ticket_id": "OPS-2",
    }
    assert sent.body["note"] == "from the desk"
    assert platform_env.calls("GET", "/dagRuns/") == []  # --no-follow: nothing polled


def test_a_refused_conf_is_one_line_and_exit_2(platform_env, capsys):
    platform_env.trigger_error = (400, "Invalid input for param dry_run: 'yes' is not of type 'boolean'")
    code, out, err = _run(capsys, *DECOMMISSION)
    assert code == 2
    assert err == (
        "yunfleet: the platform refused the request: "
        "Invalid input for param dry_run: 'yes' is not of type 'boolean'\n"
    )
    assert out == ""


def test_a_local_error_sends_nothing(platform_env, capsys):
    code, _out, err = _run(
        capsys,
        "decommission_cluster",
        "OPS-1",
        "--set",
        "cluster_name=demo",
        "--set",
        "confirm_cluster_name=other",
    )
    assert code == 2
    assert "invalid conf, nothing was sent: confirm_cluster_name: must repeat cluster_name" in err
    assert platform_env.requests == []


def test_a_paused_dag_needs_unpause(platform_env, capsys):
    platform_env.add_dag("decommission_cluster", paused=True)
    code, _out, err = _run(capsys, *DECOMMISSION)
    assert code == 2
    assert "DAG decommission_cluster is paused; unpause it in the UI or pass --unpause" in err
    assert platform_env.calls("POST", "/dagRuns") == []

    code, _out, err = _run(capsys, *DECOMMISSION, "--unpause")
    assert code == 0, err
    assert [c.body for c in platform_env.calls("PATCH")] == [{"is_paused": False}]
    assert len(platform_env.calls("POST", "/dagRuns")) == 1


def test_an_unknown_dag_exits_1(platform_env, capsys):
    code, _out, err = _run(capsys, "smoke_nothing", "OPS-1")
    assert code == 1
    assert err.startswith("yunfleet: not found: The Dag with ID: `smoke_nothing` was not found")


def test_a_failed_run_exits_1(platform_env, capsys):
    platform_env.run_states = ["running", "failed"]
    code, out, _err = _run(capsys, *DECOMMISSION, "--run-id", "r-2")
    assert code == 1
    assert out.splitlines()[-1] == "run r-2: failed"


def test_giving_up_on_a_running_run_exits_4(platform_env, capsys):
    platform_env.run_states = ["running"]
    code, _out, err = _run(capsys, *DECOMMISSION, "--run-id", "r-3", "--timeout", "0")
    assert code == 4
    assert err == (
        "yunfleet: run r-3 of decommission_cluster still running after 0s; "
        "it keeps running, follow it in the UI\n"
    )


def test_a_wrong_password_exits_3(platform_env, capsys, monkeypatch):
    monkeypatch.setenv("YUNFLEET_API_PASSWORD", "wrong")
    code, _out, err = _run(capsys, *DECOMMISSION)
    assert code == 3
    assert err == "yunfleet: login as 'admin' refused: Invalid credentials\n"


def test_no_password_anywhere_exits_3(platform_env, capsys, monkeypatch):
    monkeypatch.delenv("YUNFLEET_API_PASSWORD")
    code, _out, err = _run(capsys, *DECOMMISSION)
    assert code == 3
    assert "no password for 'admin': set YUNFLEET_API_PASSWORD or start the platform" in err
    assert platform_env.requests == []
