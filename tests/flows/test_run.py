"""The shared run lifecycle (``flows/run.py``): conf check, error report, outcome message."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from flows import run
from include.errors import PermanentCloudError
from include.fleet.conf_keys import unknown_conf_keys
from tests.fixtures.flows import FakeTaskInstance

DECLARED = ["cluster_name", "ticket_id", "zones", "node_pools", "dry_run", "callback_url"]


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        ({"cluster_name": "a", "dry_run": True}, []),
        ({}, []),
        ({"dryrun": True}, ["unknown key 'dryrun'; did you mean 'dry_run'?"]),
        ({"node_pool": []}, ["unknown key 'node_pool'; did you mean 'node_pools'?"]),
        ({"Cluster_Name": "a"}, ["unknown key 'Cluster_Name'; did you mean 'cluster_name'?"]),
        ({"colour": "blue"}, ["unknown key 'colour'"]),
        (
            {"zone": ["x"], "dryrun": False},
            [
                "unknown key 'dryrun'; did you mean 'dry_run'?",
                "unknown key 'zone'; did you mean 'zones'?",
            ],
        ),
    ],
)
def test_unknown_conf_keys(conf: dict[str, Any], expected: list[str]) -> None:
    assert unknown_conf_keys(conf, DECLARED) == expected


class _Dag:
    dag_id = "some_dag"
    task_ids = ["first", "finish"]
    params = {name: None for name in DECLARED}


def _context(conf: dict[str, Any]) -> dict[str, Any]:
    from types import SimpleNamespace

    return {
        "ti": FakeTaskInstance("first"),
        "dag": _Dag(),
        "params": conf,
        "dag_run": SimpleNamespace(conf=conf),
    }


def test_entry_refuses_unknown_keys_before_the_body_runs() -> None:
    calls: list[str] = []

    @run.entry
    def first(**context: Any) -> str:
        calls.append("ran")
        return "ok"

    context = _context({"cluster_name": "a", "dryrun": True})
    with pytest.raises(AirflowFailException, match=r"unknown key 'dryrun'; did you mean 'dry_run'\?"):
        first(**context)
    assert calls == []
    error = context["ti"].xcoms[("first", run.ERROR_KEY)]
    assert "nothing was changed" in error and "dryrun" in error
    assert first(**_context({"cluster_name": "a", "dry_run": True})) == "ok"
    assert calls == ["ran"]


def test_reported_pushes_the_error_and_stops_retries_on_permanent_cloud_errors() -> None:
    @run.reported
    def step(**context: Any) -> None:
        raise PermanentCloudError("InvalidVSwitchId.NotFound: the vSwitch does not exist")

    context = _context({})
    with pytest.raises(AirflowFailException, match="InvalidVSwitchId"):
        step(**context)
    error = context["ti"].xcoms[("first", run.ERROR_KEY)]
    assert error.startswith("PermanentCloudError:") and "InvalidVSwitchId.NotFound" in error


def test_reported_reraises_other_errors_for_airflow_retries() -> None:
    @run.reported
    def step(**context: Any) -> None:
        raise TimeoutError("read timed out")

    context = _context({})
    with pytest.raises(TimeoutError):
        step(**context)
    assert context["ti"].xcoms[("first", run.ERROR_KEY)] == "TimeoutError: read timed out"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("success", False, [], [], True), "done"),
        (("success", True, [], [], True), "dry run: plan shown, nothing changed"),
        (
            ("failed", False, ["validate: bad zone"], [], False),
            "failed: validate: bad zone; nothing was changed",
        ),
        (("failed", False, [], [], True), "failed: a step failed (see its log)"),
        (
            ("failed", False, ["api_dns: conflict"], ["SLB lb-1 (10.0.0.1)"], True),
            "failed: api_dns: conflict; exists now: SLB lb-1 (10.0.0.1); "
            "re-run to converge or decommission to clean up",
        ),
    ],
)
def test_report_message(args: tuple[Any, ...], expected: str) -> None:
    assert run.report_message(*args) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("x", ["x"]),
        ({"a": 1}, [{"a": 1}]),
        ([1, None, 2], [1, 2]),
        ((None,), []),
        (iter([3]), [3]),
    ],
)
def test_flatten(value: Any, expected: list[Any]) -> None:
    assert run.flatten(value) == expected
