"""The Fleet view's app, mounted at /yunfleet as the Airflow API server mounts it, on a seeded registry.

Authentication here is a stand-in that answers as Airflow does (tests/plugins/fleet_view_support.py);
Airflow's own checks are exercised in test_fleet_view_auth.py and, in the running platform, in
tests/e2e/test_fleet_view.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine

from plugins.fleet_view.app import CSP, create_app
from plugins.fleet_view.live import LiveReader
from tests.fixtures.fleet_data import DOMAIN, H, I
from tests.plugins.fleet_view_support import (
    FakeSources,
    copy_registry,
    mounted,
    seeded_registry,
    token_security,
)

VIEWER = {"Authorization": "Bearer viewer-token"}
OP = {"Authorization": "Bearer op-token"}
API_PATHS = [
    "/yunfleet/api/clusters",
    "/yunfleet/api/clusters/alpha",
    "/yunfleet/api/clusters/alpha/kubeconfig",
    "/yunfleet/api/zones",
    "/yunfleet/api/capacity",
    "/yunfleet/api/registrations",
    "/yunfleet/api/audit?ticket_id=OPS-1",
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("fleet-view")
    engine, key, creds = seeded_registry(directory)
    engine.dispose()
    return {"path": directory / "registry.db", "key": key, "creds": creds}


@pytest.fixture
def sources(template: dict[str, Any], tmp_path: Path) -> FakeSources:
    return FakeSources(copy_registry(template["path"], tmp_path), template["key"])


def client(app: Any, root_path: str = "") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, root_path=root_path), base_url="http://airflow"
    )


@pytest.fixture
async def http(sources: FakeSources) -> AsyncIterator[httpx.AsyncClient]:
    async with client(mounted(create_app(sources, token_security()))) as c:
        yield c


@pytest.mark.parametrize("path", API_PATHS)
async def test_no_user_no_data(http: httpx.AsyncClient, path: str) -> None:
    anonymous = await http.get(path)
    assert anonymous.status_code == 401 and anonymous.json() == {"detail": "Not authenticated"}
    forged = await http.get(path, headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 403 and "alpha" not in forged.text
    http.cookies.set("_token", "viewer-token")
    cookie = await http.get(path)
    http.cookies.clear()
    assert cookie.status_code in (200, 403)  # 403: the kubeconfig, which a viewer may not read


async def test_the_page_sends_a_browser_without_a_session_to_the_login(http: httpx.AsyncClient) -> None:
    page = await http.get("/yunfleet/?ticket_id=OPS-1")
    assert page.status_code == 303
    assert page.headers["location"] == "/auth/login?next=/yunfleet/?ticket_id=OPS-1"
    bare = await http.get("/yunfleet")
    assert bare.status_code == 307 and bare.headers["location"].endswith("/yunfleet/")


async def test_the_page_with_a_session(http: httpx.AsyncClient) -> None:
    http.cookies.set("_token", "viewer-token")
    page = await http.get("/yunfleet/")
    assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
    assert 'src="/yunfleet/static/app.js"' in page.text
    assert 'src="/yunfleet/static/vendor/chart.umd.min.js"' in page.text
    config = json.loads(page.text.split('data-config="', 1)[1].split('"', 1)[0].replace("&quot;", '"'))
    assert config == {"root": "/yunfleet", "uiRoot": "", "user": "viewer"}
    for asset in ("app.js", "app.css", "icon.svg", "vendor/chart.umd.min.js"):
        served = await http.get(f"/yunfleet/static/{asset}")  # assets hold no data: no login needed
        assert served.status_code == 200 and served.content


async def test_clusters_with_live_figures(http: httpx.AsyncClient, sources: FakeSources) -> None:
    body = (await http.get("/yunfleet/api/clusters", headers=VIEWER)).json()
    alpha, beta = body["clusters"]
    assert (alpha["name"], beta["name"]) == ("alpha", "beta")
    assert alpha["live"]["status"] == "ok" and alpha["live"]["pending_pods"] == 3
    assert alpha["live"]["nodes"] == {H: {"ready": 1, "total": 2}, I: {"ready": 2, "total": 2}}
    assert alpha["observed"]["zones"][H] == {"ready": 2, "total": 2}
    assert beta["live"] == {
        "status": "skipped",
        "error": "not read (state provisioning)",
        "nodes": None,
        "pending_pods": None,
        "read_at": None,
    }
    again = await http.get("/yunfleet/api/clusters", headers=VIEWER)
    assert again.status_code == 200 and sources.calls == {"live:alpha": 1}  # cached, beta never read
    quick = (await http.get("/yunfleet/api/clusters?live=false&include_deleted=true", headers=VIEWER)).json()
    assert [c["name"] for c in quick["clusters"]] == ["alpha", "beta", "gone"]
    assert quick["clusters"][0]["live"]["error"] == "not read (live=false)"
    assert sources.calls == {"live:alpha": 1}


async def test_a_failing_or_slow_cluster_never_fails_the_answer(sources: FakeSources) -> None:
    release = threading.Event()

    def read(cluster: str) -> dict[str, Any]:
        if cluster == "alpha":
            release.wait(5)
            return {"nodes": {}, "pending_pods": 0}
        raise RuntimeError("connection refused")

    reader = LiveReader(read, deadline_s=0.3, ttl_s=60)
    app = mounted(create_app(sources, token_security(), live_reader=reader))
    async with client(app) as http:
        started = time.monotonic()
        alpha = (await http.get("/yunfleet/api/clusters/alpha", headers=VIEWER)).json()
        assert time.monotonic() - started < 2
        assert alpha["live"]["status"] == "unavailable"
        assert alpha["live"]["error"] == "no answer within 0.3 s; read again shortly"
        assert alpha["observed"]["nodes"] == 4  # the page falls back to the last observation
        release.set()
        time.sleep(0.2)
        alpha = (await http.get("/yunfleet/api/clusters/alpha", headers=VIEWER)).json()
        assert alpha["live"]["status"] == "ok"  # the background read filled the cache
    reader.close()
    broken = LiveReader(lambda c: (_ for _ in ()).throw(RuntimeError("connection\nrefused")))
    assert broken.read(["alpha"])["alpha"]["error"] == "RuntimeError: connection refused"
    broken.close()


async def test_one_cluster_and_unknown_ones(http: httpx.AsyncClient) -> None:
    gone = await http.get("/yunfleet/api/clusters/gone", headers=VIEWER)
    assert gone.status_code == 200 and gone.json()["state"] == "deleted"
    unknown = await http.get("/yunfleet/api/clusters/nope", headers=VIEWER)
    assert unknown.status_code == 404 and unknown.json() == {"detail": "cluster 'nope' is not registered"}


async def test_kubeconfig_only_for_users_who_may_read_credentials(
    http: httpx.AsyncClient, template: dict[str, Any]
) -> None:
    refused = await http.get("/yunfleet/api/clusters/alpha/kubeconfig", headers=VIEWER)
    assert refused.status_code == 403
    assert (
        refused.json()["detail"]
        == "reading cluster credentials needs read access to the connection 'yunfleet_db'"
    )
    given = await http.get("/yunfleet/api/clusters/alpha/kubeconfig", headers=OP)
    assert given.status_code == 200
    doc = yaml.safe_load(given.json()["kubeconfig"])
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:9/k8s/alpha"
    assert doc["users"][0]["user"]["client-key-data"]
    assert (await http.get("/yunfleet/api/clusters/beta/kubeconfig", headers=OP)).status_code == 409
    missing = await http.get("/yunfleet/api/clusters/nope/kubeconfig", headers=OP)
    assert missing.status_code == 404 and "is not registered" in missing.json()["detail"]
    everything = [(await http.get(p, headers=OP)).text for p in API_PATHS if "kubeconfig" not in p]
    assert not any(
        "PRIVATE KEY" in text or template["creds"]["admin_cert_pem"] in text for text in everything
    )


async def test_zones_capacity_and_time_parameters(http: httpx.AsyncClient) -> None:
    zones = (await http.get("/yunfleet/api/zones", headers=VIEWER)).json()
    assert [(z["scope"], z["zone_id"], z["state"]) for z in zones["zones"]] == [
        ("", H, "healthy"),
        ("", I, "failed"),
        ("alpha", "*", "degraded"),
    ]
    assert (
        zones["zones"][1]["timeline"][-1]["state"] == "failed" and "from" in zones["zones"][1]["timeline"][-1]
    )
    bad = await http.get("/yunfleet/api/zones?since=yesterday", headers=VIEWER)
    assert bad.status_code == 400 and bad.json()["detail"].startswith("since: 'yesterday' is not a time")
    capacity = (await http.get("/yunfleet/api/capacity?cluster=alpha&since=7d", headers=VIEWER)).json()
    (alpha,) = capacity["clusters"]
    assert [p["nodes"] for p in alpha["points"]] == [3, 4] and alpha["actions"][0]["kind"] == "add_nodes"
    assert (await http.get("/yunfleet/api/capacity?cluster=beta", headers=VIEWER)).json() == {"clusters": []}


async def test_registrations_from_the_zone_cached_and_degraded(sources: FakeSources) -> None:
    async with client(mounted(create_app(sources, token_security()))) as http:
        first = (await http.get("/yunfleet/api/registrations", headers=VIEWER)).json()
        await http.get("/yunfleet/api/registrations", headers=VIEWER)
    assert first["status"] == "ok" and first["domain"] == DOMAIN
    (web,) = first["services"]
    (global_name,) = [n for n in web["names"] if n["global"]]
    assert global_name["fqdn"] == f"web.shop.global.{DOMAIN}" and global_name["weighted"]
    assert global_name["targets"][0]["cluster"] == "alpha" and global_name["targets"][0]["weight"] == 30
    assert first["api_servers"][0]["fqdn"] == f"api.alpha.{DOMAIN}"
    assert sources.calls == {f"zone:{DOMAIN}": 1}

    sources.zone = TimeoutError("read timed out")
    async with client(mounted(create_app(sources, token_security()))) as http:
        down = (await http.get("/yunfleet/api/registrations", headers=VIEWER)).json()
    assert down["status"] == "unavailable" and down["services"] == []
    assert down["error"] == f"the DNS zone {DOMAIN} could not be read: TimeoutError: read timed out"
    assert down["api_servers"] == first["api_servers"]


async def test_audit_by_ticket_with_links_to_runs(sources: FakeSources) -> None:
    app = mounted(mounted(create_app(sources, token_security())), "/airflow")
    async with client(app) as http:
        body = (await http.get("/airflow/yunfleet/api/audit?ticket_id=OPS-1", headers=VIEWER)).json()
    assert body["total"] == 4 and len(body["events"]) == 4 and body["next_cursor"] is None
    url = "http://airflow/airflow/dags/provision_cluster/runs/manual__ops1"
    assert (
        body["events"][0]["run_url"] == url
        and body["events"][0]["run_path"] == "/dags/provision_cluster/runs/manual__ops1"
    )
    (run,) = body["runs"]
    assert run["run_url"] == url and run["outcomes"] == {"ok": 3, "error": 1}


async def test_audit_paging_and_refusals(http: httpx.AsyncClient) -> None:
    first = (await http.get("/yunfleet/api/audit?limit=20", headers=VIEWER)).json()
    assert first["total"] == 30 and len(first["events"]) == 20 and first["next_cursor"]
    rest = (
        await http.get(f"/yunfleet/api/audit?limit=20&cursor={first['next_cursor']}", headers=VIEWER)
    ).json()
    ids = [e["id"] for e in first["events"] + rest["events"]]
    assert len(ids) == len(set(ids)) == 30 and rest["next_cursor"] is None
    offset = (await http.get("/yunfleet/api/audit?limit=5&offset=25", headers=VIEWER)).json()
    assert [e["id"] for e in offset["events"]] == ids[25:]
    since = (await http.get("/yunfleet/api/audit?since=2026-03-01T08:29:00Z", headers=VIEWER)).json()
    assert since["total"] == 2
    for query, detail in [
        ("limit=5000", "limit must be from 1 to 1000, got 5000"),
        ("cursor=abc", "cursor 'abc' is not one this API gave out; start again without it"),
        ("outcome=failed", "outcome must be one of ok, error, dry_run, got 'failed'"),
        ("until=soon", "until: 'soon' is not a time"),
    ]:
        refused = await http.get(f"/yunfleet/api/audit?{query}", headers=VIEWER)
        assert refused.status_code == 400 and refused.json()["detail"].startswith(detail), refused.text


async def test_an_unreachable_registry_is_503_in_one_line(sources: FakeSources, tmp_path: Path) -> None:
    sources.engine_ = create_engine(f"sqlite:///{tmp_path / 'missing' / 'registry.db'}")
    async with client(mounted(create_app(sources, token_security()))) as http:
        answer = await http.get("/yunfleet/api/clusters", headers=VIEWER)
    assert answer.status_code == 503
    detail = answer.json()["detail"]
    assert detail.startswith("the fleet registry cannot be read (OperationalError") and "\n" not in detail
    assert detail.endswith("check the yunfleet_db connection")


async def test_openapi_schema_lists_the_contract_routes(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/yunfleet/api/openapi.json")).json()
    assert {
        "/api/clusters",
        "/api/clusters/{name}",
        "/api/clusters/{name}/kubeconfig",
        "/api/zones",
        "/api/capacity",
        "/api/registrations",
        "/api/audit",
    } <= set(schema["paths"])
    audit = schema["paths"]["/api/audit"]["get"]
    assert {p["name"] for p in audit["parameters"]} >= {
        "ticket_id",
        "cluster",
        "since",
        "limit",
        "offset",
        "cursor",
    }
    assert "AuditResponse" in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
