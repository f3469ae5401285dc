"""The conf guard (``plugins/conf_guard.py``) in front of a small FastAPI app shaped like Airflow's routes.

The app echoes the body it received, so a test sees whether a request reached it and with which
bytes; the resolver is a fake that records each DAG id it is asked about. The Airflow-side resolver
is checked only for a caller without credentials (no DB needed); the e2e tests cover the rest.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from include.fleet.conf_keys import conf_error
from plugins.conf_guard import ConfGuardMiddleware, ConfGuardPlugin, airflow_declared_params

REPO = Path(__file__).resolve().parents[2]
DECLARED = ["callback_url", "cluster_name", "dry_run", "node_pools", "ticket_id"]
TRIGGER = "/api/v2/dags/provision_cluster/dagRuns"
JSON = {"content-type": "application/json"}


class FakeResolver:
    """Declares ``DECLARED`` for ``provision_cluster``; any other DAG is not guarded (``None``)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.asked: list[str] = []
        self.error = error

    async def __call__(self, scope: Any, dag_id: str) -> Collection[str] | None:
        self.asked.append(dag_id)
        if self.error:
            raise self.error
        return DECLARED if dag_id == "provision_cluster" else None


def echo_app() -> FastAPI:
    app = FastAPI()

    async def echo(request: Request) -> Response:
        body = await request.body()
        return Response(body, status_code=200, headers={"x-reached": request.url.path})

    for path, methods in [
        ("/api/v2/dags/{dag_id}/dagRuns", ["GET", "POST", "PATCH"]),
        ("/api/v2/dags/{dag_id}/dagRuns/list", ["POST"]),
        ("/api/v2/dags/{dag_id}/dagRuns/{run_id}/clear", ["POST"]),
        ("/api/v2/backfills", ["POST"]),
        ("/api/v2/backfills/dry_run", ["POST"]),
        ("/yunfleet/api/clusters", ["POST"]),
    ]:
        app.add_api_route(path, echo, methods=methods)
    return app


def client(resolver: Any, root_path: str = "") -> httpx.AsyncClient:
    app = echo_app()
    app.add_middleware(ConfGuardMiddleware, resolve=resolver)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, root_path=root_path), base_url="http://airflow"
    )


def body(conf: Any, **extra: Any) -> bytes:
    return json.dumps({"logical_date": None, "conf": conf, **extra}).encode()


async def test_unknown_key_is_refused_with_airflow_error_shape() -> None:
    resolver = FakeResolver()
    conf = {"cluster_name": "iota", "ticket_id": "OPS-1", "dryrun": True}
    async with client(resolver) as http:
        resp = await http.post(TRIGGER, content=body(conf), headers=JSON)
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/json"
    assert "x-reached" not in resp.headers
    assert resp.json() == {"detail": conf_error(conf, DECLARED)}
    assert "unknown key 'dryrun'; did you mean 'dry_run'?" in resp.json()["detail"]
    assert resolver.asked == ["provision_cluster"]


@pytest.mark.parametrize(
    ("sizes", "status", "detail"),
    [
        ((1, 2, 3), 200, None),
        ((5, 3, 2), 400, "node_pools[1]: max_size must be at least min_size"),
        ((1, 9, 3), 400, "node_pools[1]: min_size <= desired_size <= max_size"),
    ],
)
async def test_pool_sizes_out_of_order_are_refused_with_the_pool_and_rule(
    sizes: tuple[int, int, int], status: int, detail: str | None
) -> None:
    low, want, high = sizes
    pools = [
        {"name": "a", "min_size": 0, "desired_size": 0, "max_size": 1},
        {"name": "b", "min_size": low, "desired_size": want, "max_size": high},
    ]
    async with client(FakeResolver()) as http:
        resp = await http.post(TRIGGER, content=body({"node_pools": pools}), headers=JSON)
    assert resp.status_code == status
    if detail:
        assert resp.json() == {"detail": f"invalid conf, nothing was changed: {detail}"}


async def test_declared_keys_reach_the_app_byte_for_byte() -> None:
    resolver = FakeResolver()
    # odd spacing, key order and a non-ASCII note: the app must get exactly these bytes
    raw = '{ "note":"ticket \u00e9",  "conf" : {"dry_run":true,"cluster_name":"iota"}, "logical_date":null}'
    async with client(resolver) as http:
        resp = await http.post(TRIGGER, content=raw.encode(), headers=JSON)
    assert resp.status_code == 200
    assert resp.content == raw.encode()
    assert resolver.asked == ["provision_cluster"]


async def test_a_body_in_several_chunks_is_replayed_whole() -> None:
    resolver = FakeResolver()
    seen: list[dict[str, Any]] = []
    parts = [b'{"conf": {"dry_', b'run": true}, "logical', b'_date": null}']
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": TRIGGER,
        "headers": [(b"content-type", b"application/json")],
    }
    await ConfGuardMiddleware(app, resolve=resolver)(scope, receive, send)
    assert b"".join(m["body"] for m in seen) == b"".join(parts)
    assert seen[-1]["more_body"] is False
    assert sent[0]["status"] == 200 and resolver.asked == ["provision_cluster"]


async def test_a_client_that_leaves_mid_body_is_handed_on_without_a_lookup() -> None:
    resolver = FakeResolver()
    messages = [
        {"type": "http.request", "body": b'{"conf": {"dryr', "more_body": True},
        {"type": "http.disconnect"},
    ]
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(await receive())

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent to a client that left")

    scope = {
        "type": "http",
        "method": "POST",
        "path": TRIGGER,
        "headers": [(b"content-type", b"application/json")],
    }
    await ConfGuardMiddleware(app, resolve=resolver)(scope, receive, send)
    assert seen == [{"type": "http.disconnect"}]
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", TRIGGER),
        ("PATCH", TRIGGER),
        ("POST", f"{TRIGGER}/list"),
        ("POST", f"{TRIGGER}/manual__1/clear"),
        ("POST", "/yunfleet/api/clusters"),
        ("POST", f"{TRIGGER}/"),  # not the route; Airflow redirects to it, where the guard acts
    ],
)
async def test_other_routes_are_untouched(method: str, path: str) -> None:
    resolver = FakeResolver()
    content = body({"dryrun": True})
    async with client(resolver) as http:
        resp = await http.request(method, path, content=content, headers=JSON, follow_redirects=False)
    assert resp.status_code in (200, 307)
    if resp.status_code == 200:
        assert resp.content == content
    assert resolver.asked == []


async def test_a_dag_not_tagged_yunfleet_is_untouched() -> None:
    resolver = FakeResolver()
    content = body({"dryrun": True})
    async with client(resolver) as http:
        resp = await http.post("/api/v2/dags/someone_elses_dag/dagRuns", content=content, headers=JSON)
    assert resp.status_code == 200 and resp.content == content
    assert resolver.asked == ["someone_elses_dag"]


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"conf": {"dryrun": true}', JSON),  # malformed JSON
        (b'[{"conf": {"dryrun": true}}]', JSON),  # not an object
        (b'{"conf": "dryrun"}', JSON),  # conf not an object
        (b'{"conf": null, "logical_date": null}', JSON),
        (b'{"logical_date": null}', JSON),  # no conf
        (b'{"conf": {}}', JSON),
        (b'{"conf": {"dryrun": true}}', {"content-type": "text/plain"}),  # FastAPI will not parse it
        (b'{"conf": {"dryrun": true}}', {}),
        (b'\xff\xfe{"conf"', JSON),  # not UTF-8
        (b"", JSON),
    ],
)
async def test_malformed_bodies_go_to_airflow_unchanged(content: bytes, headers: dict[str, str]) -> None:
    resolver = FakeResolver()
    async with client(resolver) as http:
        resp = await http.post(TRIGGER, content=content, headers=headers)
    assert resp.status_code == 200 and resp.content == content
    assert resolver.asked == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
async def test_json_content_types_fastapi_parses_are_guarded(content_type: str) -> None:
    resolver = FakeResolver()
    async with client(resolver) as http:
        resp = await http.post(
            TRIGGER, content=body({"dryrun": True}), headers={"content-type": content_type}
        )
    assert resp.status_code == 400


@pytest.mark.parametrize("path", ["/api/v2/backfills", "/api/v2/backfills/dry_run"])
async def test_backfills_are_guarded_by_the_dag_id_in_the_body(path: str) -> None:
    resolver = FakeResolver()
    request = {
        "dag_id": "provision_cluster",
        "from_date": "2026-01-01T00:00:00Z",
        "to_date": "2026-01-02T00:00:00Z",
    }
    async with client(resolver) as http:
        refused = await http.post(path, json={**request, "dag_run_conf": {"node_pool": []}})
        passed = await http.post(path, json={**request, "dag_run_conf": {"node_pools": []}})
        no_dag = await http.post(path, json={"dag_run_conf": {"node_pool": []}})
    assert refused.status_code == 400
    assert "unknown key 'node_pool'; did you mean 'node_pools'?" in refused.json()["detail"]
    assert passed.status_code == 200 and json.loads(passed.content)["dag_run_conf"] == {"node_pools": []}
    assert no_dag.status_code == 200  # Airflow answers the missing dag_id
    assert resolver.asked == ["provision_cluster", "provision_cluster"]


async def test_the_api_root_path_is_honoured() -> None:
    resolver = FakeResolver()
    async with client(resolver, root_path="/airflow") as http:
        resp = await http.post(f"/airflow{TRIGGER}", content=body({"dryrun": True}), headers=JSON)
    assert resp.status_code == 400
    assert resolver.asked == ["provision_cluster"]


async def test_a_failed_lookup_lets_the_request_pass_and_logs_no_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    resolver = FakeResolver(error=RuntimeError("database is locked"))
    secret = "https://hooks.example.com/cb?token=s3cr3t"
    content = body({"callback_url": secret, "dryrun": True})
    with caplog.at_level(logging.DEBUG, logger="plugins.conf_guard"):
        async with client(resolver) as http:
            resp = await http.post(TRIGGER, content=content, headers=JSON)
    assert resp.status_code == 200 and resp.content == content
    assert "could not read the params of DAG 'provision_cluster'" in caplog.text
    assert "s3cr3t" not in caplog.text


async def test_a_refusal_logs_no_body(caplog: pytest.LogCaptureFixture) -> None:
    content = body({"callback_url": "https://hooks.example.com/cb?token=s3cr3t", "dryrun": True})
    with caplog.at_level(logging.DEBUG, logger="plugins.conf_guard"):
        async with client(FakeResolver()) as http:
            resp = await http.post(TRIGGER, content=content, headers=JSON)
    assert resp.status_code == 400
    assert "refused a run of DAG 'provision_cluster'" in caplog.text
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in resp.text


async def test_airflow_resolver_judges_nothing_for_a_caller_without_credentials() -> None:
    scope = {"type": "http", "method": "POST", "path": TRIGGER, "headers": [], "query_string": b""}
    assert await airflow_declared_params(scope, "provision_cluster") is None


def test_airflow_loads_the_plugin_from_the_plugins_folder() -> None:
    # Airflow's own loader for [core] plugins_folder (private in 3.3; `airflow plugins` uses it).
    from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory

    before = set(sys.modules)
    try:
        plugins, errors = _load_plugins_from_plugin_directory(str(REPO / "plugins"))
    finally:
        stems = {f.stem for f in (REPO / "plugins").rglob("*.py")}  # imported under their bare names
        for name in stems - before:
            sys.modules.pop(name, None)
    assert errors == {}
    guard = [p for p in plugins if p.name == ConfGuardPlugin.name]
    assert len(guard) == 1
    (entry,) = guard[0].fastapi_root_middlewares
    assert entry["middleware"].__name__ == "ConfGuardMiddleware"
    assert entry["middleware"].__module__ == "conf_guard"
