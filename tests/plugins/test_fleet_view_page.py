"""The Fleet view's page in headless Chromium, on a seeded registry served on loopback (no Airflow).

What a user sees: the cluster cards (state, version, nodes Ready/total per zone, pending pods, pools),
the zones, the capacity chart drawn by the vendored Chart.js, the DNS names, the audit log and its
filter, links to DAG runs, and empty states that say what to do. No JavaScript or console error.
The same page behind Airflow's real login, in the running platform: tests/e2e/test_ui_fleet_view.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from include.registry import create_registry_engine, migrate
from plugins.fleet_view.app import create_app
from tests.fixtures.browser import PageErrors
from tests.plugins.fleet_view_support import FakeSources, airflow_like, seeded_registry, serve, token_security


def _page(browser: Any, url: str) -> tuple[Any, Any, PageErrors]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "_token", "value": "viewer-token", "url": url}])
    page = context.new_page()
    errors = PageErrors(page)
    page.goto(f"{url}/yunfleet/")
    return context, page, errors


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    engine, key, _ = seeded_registry(tmp_path_factory.mktemp("fleet-page"))
    with serve(airflow_like(create_app(FakeSources(engine, key), token_security()))) as url:
        yield url


def test_the_fleet_at_a_glance(browser: Any, seeded_url: str, tmp_path: Path) -> None:
    context, page, errors = _page(browser, seeded_url)
    try:
        alpha = page.locator("[data-testid=cluster][data-cluster=alpha]")
        alpha.wait_for()
        assert "ready" in alpha.inner_text() and "Kubernetes 1.31" in alpha.inner_text()
        zones = {
            z.get_attribute("data-zone"): z.inner_text()
            for z in alpha.locator("[data-testid=zone-nodes]").all()
        }
        assert "1/2 nodes Ready" in zones["cn-hangzhou-h"] and "2/2 nodes Ready" in zones["cn-hangzhou-i"]
        assert alpha.locator("[data-testid=pending-pods]").inner_text() == "3"
        assert alpha.locator("[data-testid=pool]").count() == 2
        beta = page.locator("[data-testid=cluster][data-cluster=beta]")
        assert "provisioning" in beta.inner_text() and "Pools (requested)" in beta.inner_text()
        assert beta.locator("[data-testid=pending-pods]").inner_text() == "unavailable"

        assert page.locator("[data-testid=zone]").count() == 3
        failed = page.locator("[data-testid=zone][data-zone=cn-hangzhou-i]")
        assert "failed" in failed.inner_text() and "ECS instances stopped" in failed.inner_text()

        page.locator("[data-testid=capacity-last]").wait_for()
        assert "4 nodes (4 Ready)" in page.locator("[data-testid=capacity-last]").inner_text()
        assert page.evaluate("() => !!Chart.getChart(document.getElementById('capacity-chart'))")
        assert page.locator("[data-testid=capacity-action]").count() == 1

        page.locator("[data-testid=dns-target]").first.wait_for()
        assert "web.shop.global.fleet.example.com" in page.locator("[data-testid=dns]").inner_text()
        assert page.locator("[data-testid=api-name]").count() == 1

        page.locator("[data-testid=audit-row]").first.wait_for()
        assert page.locator("[data-testid=audit-row]").count() == 30
        assert page.locator("[data-testid=audit-count]").inner_text() == "1\u201330 of 30 events"
        page.screenshot(path=str(tmp_path / "fleet-view.png"), full_page=True)
    finally:
        context.close()
    assert errors.found == []


def test_filtering_the_audit_by_ticket(browser: Any, seeded_url: str) -> None:
    context, page, errors = _page(browser, seeded_url)
    try:
        page.locator("[data-testid=audit-row]").first.wait_for()
        page.fill("[data-testid=audit-ticket]", "OPS-1")
        page.click("[data-testid=audit-apply]")
        page.wait_for_function("() => document.querySelectorAll('[data-testid=audit-row]').length === 4")
        summary = page.locator("[data-testid=audit-summary]").inner_text()
        assert "Ticket OPS-1: 4 audited calls in 1 DAG run" in summary
        links = page.locator("[data-testid=audit-row] [data-testid=run-link]")
        assert {links.nth(i).get_attribute("href") for i in range(links.count())} == {
            "/dags/provision_cluster/runs/manual__ops1"
        }
        assert page.evaluate("() => location.search") == "?ticket_id=OPS-1"
        assert "error" in page.locator(".error-row").inner_text()
        # the filter is in the address: a shared link opens the same view
        page.goto(f"{seeded_url}/yunfleet/?ticket_id=OPS-2")
        page.wait_for_function("() => document.querySelectorAll('[data-testid=audit-row]').length === 1")
        assert page.input_value("[data-testid=audit-ticket]") == "OPS-2"
        # a ticket's id in a cluster card filters the audit too
        page.locator("[data-testid=cluster][data-cluster=alpha] a", has_text="OPS-1").click()
        page.wait_for_function("() => document.querySelectorAll('[data-testid=audit-row]').length === 4")
    finally:
        context.close()
    assert errors.found == []


def test_an_empty_fleet_says_what_to_do(browser: Any, tmp_path: Path) -> None:
    engine = create_registry_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    migrate(engine)
    sources = FakeSources(engine, "unused", zone=[])
    with serve(airflow_like(create_app(sources, token_security()))) as url:
        context, page, errors = _page(browser, url)
        try:
            page.get_by_text("No cluster is registered yet.").wait_for()
            clusters = page.locator("[data-testid=clusters]").inner_text()
            assert "yunfleet ticket provision_cluster OPS-1" in clusters and "provision_cluster" in clusters
            page.get_by_text("No zone state is recorded yet.").wait_for()
            assert "zone_health" in page.locator("[data-testid=zones]").inner_text()
            page.get_by_text("No cluster to chart.").wait_for()
            page.get_by_text("No Service is exported.").wait_for()
            assert 'yunfleet.io/export: "true"' in page.locator("[data-testid=dns]").inner_text()
            page.get_by_text("Nothing is audited yet.").wait_for()
        finally:
            context.close()
    assert errors.found == []
