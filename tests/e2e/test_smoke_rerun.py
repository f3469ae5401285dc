"""Re-running the platform's preparation (what a second `make run` does) reuses and respects state."""

from __future__ import annotations

import subprocess
import sys

import pytest

from yunfleet.devenv.config import POOLS, REPO_ROOT

pytestmark = pytest.mark.e2e


def _bootstrap(platform) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "yunfleet.devenv.bootstrap"],
        env=platform.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _connection_ids(platform) -> list[str]:
    body = platform.api("GET", "/api/v2/connections", params={"limit": 100}).json()
    return sorted(c["connection_id"] for c in body["connections"])


def test_second_bootstrap_keeps_connections_and_pools(platform):
    before = _connection_ids(platform)
    out = _bootstrap(platform)
    assert "connection alibaba_cloud_default: up to date" in out
    assert "connection yunfleet_db: up to date" in out
    assert _connection_ids(platform) == before
    assert {"alibaba_cloud_default", "yunfleet_db"} <= set(before)
    pools = {p["name"]: p["slots"] for p in platform.api("GET", "/api/v2/pools").json()["pools"]}
    assert {name: pools.get(name) for name in POOLS} == POOLS


def test_a_connection_pointed_elsewhere_is_left_alone(platform):
    path = "/api/v2/connections/alibaba_cloud_default"
    original = platform.api("GET", path).json()
    patch = {
        "connection_id": "alibaba_cloud_default",
        "conn_type": original["conn_type"],
        "login": "LTAIexample",
    }
    resp = platform.api("PATCH", path, params={"update_mask": "login"}, json=patch)
    assert resp.status_code == 200, resp.text
    try:
        out = _bootstrap(platform)
        assert "connection alibaba_cloud_default: kept" in out
        assert platform.api("GET", path).json()["login"] == "LTAIexample"
    finally:
        patch["login"] = original["login"]
        platform.api("PATCH", path, params={"update_mask": "login"}, json=patch)
    assert platform.api("GET", path).json()["login"] == "sandbox-ak"
