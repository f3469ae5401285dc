"""``yunfleet clusters``, ``kubeconfig`` and ``audit`` against the Fleet API served on loopback.

The server is the Fleet view's real app on a seeded registry, under ``/yunfleet`` of a parent that
logs users in as Airflow does (tests/plugins/fleet_view_support.py): ``admin`` may read credentials,
``viewer`` may not. The commands get only the API address and a login (``YUNFLEET_API_URL``,
``YUNFLEET_API_USER``, ``YUNFLEET_API_PASSWORD``): no registry, no Airflow configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from plugins.fleet_view.app import create_app
from tests.plugins.fleet_view_support import (
    USERS,
    FakeSources,
    airflow_like,
    seeded_registry,
    serve,
    token_security,
)
from yunfleet.cli import main


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    engine, key, creds = seeded_registry(tmp_path_factory.mktemp("fleet-cli"))
    app = airflow_like(create_app(FakeSources(engine, key), token_security()))
    with serve(app) as url:
        yield {"url": url, "creds": creds}


@pytest.fixture
def as_admin(fleet_url: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    monkeypatch.setenv("YUNFLEET_HOME", str(tmp_path))
    monkeypatch.setenv("YUNFLEET_API_URL", fleet_url["url"])
    monkeypatch.setenv("YUNFLEET_API_USER", "admin")
    monkeypatch.setenv("YUNFLEET_API_PASSWORD", USERS["admin"][0])
    monkeypatch.setattr("yunfleet.cli.api.DEFAULT_API_USER", "admin")
    return fleet_url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_clusters_table_and_json(as_admin: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "clusters")
    assert code == 0, err
    header, alpha, beta = out.strip().splitlines()
    assert header.split() == [
        "NAME",
        "STATE",
        "REGION",
        "KUBERNETES",
        "ZONES",
        "POOLS",
        "NODES",
        "API",
        "TICKET",
        "UPDATED",
    ]
    assert alpha.split()[:7] == [
        "alpha",
        "ready",
        "cn-hangzhou",
        "1.31",
        "cn-hangzhou-h,cn-hangzhou-i",
        "general",
        "h:2/2",
    ]
    assert beta.split()[:2] == ["beta", "provisioning"]
    code, out, _ = run(capsys, "clusters", "--json", "--all")
    assert code == 0 and [r["name"] for r in json.loads(out)] == ["alpha", "beta", "gone"]


def test_kubeconfig_for_a_user_allowed_to_have_it(
    as_admin: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "kubeconfig", "alpha")
    assert code == 0, err
    doc = yaml.safe_load(out)  # stdout holds the document and nothing else
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:9/k8s/alpha"
    assert as_admin["creds"]["admin_key_pem"] not in err


@pytest.mark.parametrize(
    ("user", "cluster", "message"),
    [
        ("viewer", "alpha", "reading cluster credentials needs read access to the connection 'yunfleet_db'"),
        ("admin", "nope", "cluster 'nope' is not registered; `yunfleet clusters` lists the registered ones"),
        ("admin", "beta", "cluster 'beta' has no credentials yet (state provisioning)"),
    ],
)
def test_kubeconfig_refusals_exit_1(
    as_admin: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    user: str,
    cluster: str,
    message: str,
) -> None:
    monkeypatch.setenv("YUNFLEET_API_PASSWORD", USERS[user][0])
    code, out, err = run(capsys, "kubeconfig", cluster, "--user", user)
    assert (code, out, err) == (1, "", f"yunfleet: {message}\n")


def test_audit_tells_a_tickets_story(as_admin: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "audit", "OPS-1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "ticket OPS-1: 4 audited calls in 1 DAG run"
    assert lines[1] == (
        "  provision_cluster manual__ops1: 1 error, 3 ok; cluster alpha; "
        "2026-03-01 08:01:00 -> 2026-03-01 08:04:00 UTC"
    )
    assert lines[2] == f"    {as_admin['url']}/dags/provision_cluster/runs/manual__ops1"
    table = [line.split() for line in lines[4:]]
    assert table[0][:3] == ["TIME", "CLUSTER", "DAG"]
    assert [row[7] for row in table[1:]] == [
        "CreateSecurityGroup",
        "RunInstances",
        "RunInstances",
        "AddDomainRecord",
    ]
    assert "OperationDenied.NoStock" in lines[6]
    code, out, _ = run(capsys, "audit", "OPS-1", "--json", "--limit", "2")
    story = json.loads(out)
    assert code == 0 and story["total"] == 4 and len(story["events"]) == 2
    assert story["events"][0]["action"] == "RunInstances"  # the newest two, oldest first
    code, out, _ = run(capsys, "audit", "OPS-1", "--limit", "2")
    assert out.rstrip().endswith("(the first 2 of 4 calls; --limit shows more)")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["audit", "OPS-404"], 1, "nothing was audited for ticket 'OPS-404'"),
        (["audit", "OPS-1", "--since", "someday"], 2, "since: 'someday' is not a time"),
    ],
)
def test_audit_refusals(
    as_admin: dict[str, Any], capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    got, out, err = run(capsys, *args)
    assert (got, out) == (code, "") and err.startswith(f"yunfleet: {message}")


def test_wrong_password_and_unreachable_api_exit_3(
    as_admin: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUNFLEET_API_PASSWORD", "wrong")
    assert run(capsys, "clusters") == (3, "", "yunfleet: login as 'admin' refused: Invalid credentials\n")
    code, _, err = run(capsys, "clusters", "--api-url", "http://127.0.0.1:9")
    assert code == 3 and err.startswith("yunfleet: cannot reach the Airflow API at http://127.0.0.1:9")


def test_a_server_without_the_plugin_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    json_404 = airflow_like(FastAPI())  # logs in, but /yunfleet serves nothing
    ui = FastAPI()  # Airflow's UI answers any other path with its page

    @ui.get("/{path:path}", response_class=HTMLResponse)
    async def spa(path: str) -> str:
        return "<!doctype html><title>Airflow</title>"

    monkeypatch.setenv("YUNFLEET_API_PASSWORD", USERS["admin"][0])
    for app in (json_404, airflow_like(ui)):
        with serve(app) as url:
            code, _, err = run(capsys, "clusters", "--api-url", url, "--user", "admin")
        assert (
            code == 1 and "serves no Fleet API at /yunfleet/api/ (is the Yunfleet plugin installed?)" in err
        )


def test_read_commands_import_no_airflow(as_admin: dict[str, Any]) -> None:
    code = (
        "import sys\n"
        "from yunfleet.cli import main\n"
        "rc = main(['clusters'])\n"
        "heavy = {'airflow', 'airflow_client', 'sqlalchemy', 'kubernetes'}\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & heavy)\n"
        "print(rc, heavy, file=sys.stderr)\n"
    )
    env = {**os.environ, "YUNFLEET_API_URL": as_admin["url"], "YUNFLEET_API_USER": "admin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stderr.strip().splitlines()[-1] == "0 []", out.stderr[-2000:]
    assert out.stdout.startswith("NAME")
