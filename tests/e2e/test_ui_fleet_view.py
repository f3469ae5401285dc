"""The Fleet view in the running platform: its JSON API behind Airflow's authentication, the page in a
real browser after Airflow's own login, its entry in Airflow's navigation, and the ticketing round trip
(``yunfleet audit``, the connection Test button on the sandbox).

Uses the session's shared small cluster (tests/fixtures/small_cluster.py: ``kappa``, ticket
``OPS-5100``, pool ``general`` over zones h and i), so it adds no provisioning of its own; the module
is named to run after the modules that grow that cluster and export Services, so the page (and its
screenshot) shows a fleet with history. Headless Chromium (Debian's package) is driven by Playwright
(tests/fixtures/browser.py). Screenshots are saved under the tests' temporary directories; with
``YUNFLEET_DOCS_SCREENSHOT=1`` the one of the view inside the Airflow UI replaces docs/fleet-view.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.fixtures.browser import PageErrors
from tests.fixtures.small_cluster import SmallCluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "fleet-view.png"
ZONES = ("cn-hangzhou-h", "cn-hangzhou-i")


def _run_path(cluster: SmallCluster) -> str:
    return f"/dags/provision_cluster/runs/{quote(cluster.run_id, safe='')}"


def _live_cluster(platform: Any, name: str, timeout: float = 30.0) -> dict[str, Any]:
    """The cluster as ``GET /yunfleet/api/clusters/{name}`` answers once its live read is in: an answer
    may come before the read (``unavailable``, the read goes on), a later one has it."""
    deadline = time.monotonic() + timeout
    while True:
        answer = platform.api("GET", f"/yunfleet/api/clusters/{name}")
        assert answer.status_code == 200, answer.text
        cluster = dict(answer.json())
        if cluster["live"]["status"] == "ok" or time.monotonic() > deadline:
            assert cluster["live"]["status"] == "ok", cluster["live"]
            return cluster
        time.sleep(1)


def test_the_api_answers_airflow_users_only(platform: Any, small_cluster: SmallCluster) -> None:
    with httpx.Client(base_url=platform.base_url, trust_env=False, timeout=30) as anonymous:
        refused = anonymous.get("/yunfleet/api/clusters")
        assert refused.status_code == 401 and refused.json() == {"detail": "Not authenticated"}
        forged = anonymous.get("/yunfleet/api/audit", headers={"Authorization": "Bearer not.a.jwt"})
        assert forged.status_code in (401, 403) and "events" not in forged.text
        assert anonymous.get("/yunfleet/api/openapi.json").json()["info"]["title"] == "Yunfleet Fleet API"
    kappa = _live_cluster(platform, small_cluster.name)  # bearer token from POST /auth/token
    assert kappa["state"] == "ready" and kappa["ticket_id"] == "OPS-5100"
    assert {(p["name"], p["zone_id"]) for p in kappa["pools"]} >= {("general", z) for z in ZONES}
    live = kappa["live"]  # read from the cluster's API server, in the sandbox
    assert set(ZONES) <= set(live["nodes"]) and all(n["ready"] >= 1 for n in live["nodes"].values())
    audit = platform.api("GET", "/yunfleet/api/audit", params={"ticket_id": "OPS-5100", "limit": 5}).json()
    assert audit["total"] >= 5 and len(audit["events"]) == 5 and audit["next_cursor"]
    assert any(r["run_id"] == small_cluster.run_id for r in audit["runs"])
    assert audit["events"][0]["run_url"].startswith(f"{platform.base_url}/dags/")


def test_yunfleet_audit_tells_the_tickets_story(platform: Any, small_cluster: SmallCluster) -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "yunfleet"), "audit", "OPS-5100"],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    first, *rest = out.stdout.splitlines()
    assert first.startswith("ticket OPS-5100: ") and " audited calls in " in first
    assert f"{platform.base_url}{_run_path(small_cluster)}" in out.stdout
    assert any("RunInstances" in line and small_cluster.run_id in line for line in rest)


def test_the_cloud_connections_test_button_works_on_the_sandbox(platform: Any) -> None:
    body = {"connection_id": "alibaba_cloud_default", "conn_type": "alibaba_cloud"}
    tested = platform.api("POST", "/api/v2/connections/test", json=body)
    assert tested.status_code == 200, tested.text
    assert tested.json() == {"status": True, "message": "connected; region cn-hangzhou reachable"}
    wrong = platform.api("POST", "/api/v2/connections/test", json={**body, "password": "not-the-secret"})
    assert wrong.status_code == 200 and wrong.json()["status"] is False
    assert "not-the-secret" not in wrong.text


def _login(page: Any, platform: Any) -> None:
    """What a user does: open the view, land on Airflow's login page, sign in, come back."""
    page.goto(f"{platform.base_url}/yunfleet/")
    page.wait_for_url("**/auth/login**")
    page.fill("input[name=username]", platform.username)
    page.fill("input[name=password]", platform.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{platform.base_url}/yunfleet/**")


def test_a_user_logs_in_and_sees_the_fleet(
    platform: Any, small_cluster: SmallCluster, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors = PageErrors(page, prefix=f"{platform.base_url}/yunfleet/")
    try:
        _live_cluster(platform, small_cluster.name)  # the server's live read is in (cached 15 s)
        _login(page, platform)
        card = page.locator(f"[data-testid=cluster][data-cluster={small_cluster.name}]")
        card.wait_for()
        text = card.inner_text()
        assert "ready" in text and "OPS-5100" in text
        for zone in ZONES:
            nodes = card.locator(f"[data-testid=zone-nodes][data-zone={zone}]").inner_text()
            assert "nodes Ready" in nodes, nodes
        assert card.locator("[data-testid=pool]").count() >= 2
        assert card.locator("[data-testid=pending-pods]").inner_text().isdigit()
        # every section answered: content or an empty state that says what to do
        for section in ("zones", "dns", "capacity"):
            page.wait_for_function(
                f"() => !document.querySelector('[data-testid={section}]').innerText.includes('Loading')"
            )

        page.fill("[data-testid=audit-ticket]", "OPS-5100")
        page.click("[data-testid=audit-apply]")
        page.get_by_text("Ticket OPS-5100:").wait_for()
        rows = page.locator("[data-testid=audit-row]")
        assert rows.count() >= 1
        tickets = {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())}
        assert tickets == {"OPS-5100"}
        runs = page.locator("[data-testid=audit-run] [data-testid=run-link]")
        assert _run_path(small_cluster) in {runs.nth(i).get_attribute("href") for i in range(runs.count())}
        page.locator(f"[data-testid=cluster][data-cluster={small_cluster.name}]").scroll_into_view_if_needed()
        shot = tmp_path / "fleet-view-page.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        context.close()
    assert errors.found == []


def test_the_view_is_in_airflows_navigation_and_links_into_it(
    platform: Any, small_cluster: SmallCluster, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform)
        page.goto(f"{platform.base_url}/")
        page.locator("a[href$='plugin/fleet']").first.click()  # the top-level "Fleet" entry
        page.wait_for_url("**/plugin/fleet**")
        frame = page.frame_locator("iframe")
        card = frame.locator(f"[data-testid=cluster][data-cluster={small_cluster.name}]")
        card.wait_for()
        frame.locator("[data-testid=capacity]").get_by_text("runs in the period").or_(
            frame.locator("[data-testid=capacity] .empty")
        ).first.wait_for()
        shot = tmp_path / "fleet-view.png"  # the view as a user finds it in the Airflow UI
        page.screenshot(path=str(shot))
        if os.environ.get("YUNFLEET_DOCS_SCREENSHOT") == "1":
            shutil.copyfile(shot, DOCS_SCREENSHOT)
        # a DAG run link inside the frame moves the Airflow UI itself to that run
        frame.locator("[data-testid=audit-ticket]").fill("OPS-5100")
        frame.locator("[data-testid=audit-apply]").click()
        link = frame.locator(
            f"[data-testid=audit-run] [data-testid=run-link][href='{_run_path(small_cluster)}']"
        )
        link.click()
        page.wait_for_url(f"**{_run_path(small_cluster)}**")
    finally:
        context.close()
