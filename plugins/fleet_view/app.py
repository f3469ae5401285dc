"""The Fleet view's FastAPI app: the read-only JSON API under ``/api/``, the page at ``/``, its static
files under ``/static/``. Mounted by the Airflow API server at ``/yunfleet`` (contract).

Every API route and the page need an Airflow user (:mod:`plugins.fleet_view.security`); the page sends
a browser without one to Airflow's login and back. Errors are Airflow's shape, ``{"detail": "<one
line>"}``: 400 for a bad query value, 401/403 from authentication, 404 for an unknown cluster, 409 for
a kubeconfig not issued yet, 503 when the registry cannot be read. The OpenAPI schema is
``/api/openapi.json``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from include.fleetview.times import iso, parse_time
from plugins.fleet_view import schemas
from plugins.fleet_view.live import LiveReader
from plugins.fleet_view.security import Security, airflow_security, forbidden
from plugins.fleet_view.sources import ZONE_TTL_S, AirflowSources, FleetSources, _Timed

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
PAGE = HERE / "page.html"
MOUNT_PREFIX = "/yunfleet"
#: cluster states whose API server is read live
LIVE_STATES = frozenset({"ready", "degraded"})
#: the page's Content-Security-Policy: nothing but this server, no inline script
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'self'"
T = TypeVar("T")


def _bad_request(exc: ValueError) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, " ".join(str(exc).split()))


def _time_param(name: str, value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise _bad_request(ValueError(f"{name}: {exc}")) from exc


def _registry(call: Callable[[], T]) -> T:
    """``call()``, with any failure to reach the registry answered 503 in one line."""
    try:
        return call()
    except HTTPException:
        raise
    except Exception as exc:
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the fleet registry cannot be read ({detail}); check the yunfleet_db connection",
        ) from exc


def ui_root(request: Request, mount_prefix: str = MOUNT_PREFIX) -> str:
    """The Airflow UI's root path as this request reached the server (``""`` at the host's root)."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return root[: -len(mount_prefix)] if root.endswith(mount_prefix) else ""


def create_app(
    sources: FleetSources | None = None,
    security: Security | None = None,
    *,
    mount_prefix: str = MOUNT_PREFIX,
    live_reader: LiveReader | None = None,
    db_conn_id: str = "yunfleet_db",
) -> FastAPI:
    """The app; by default on Airflow's connections and Airflow's authentication."""
    src: FleetSources = sources or AirflowSources(db_conn_id=db_conn_id)
    sec = security or airflow_security()
    live = live_reader or LiveReader(src.read_cluster)
    zone_cache = _Timed(ZONE_TTL_S)

    app = FastAPI(
        title="Yunfleet Fleet API",
        version="1",
        description=(
            "Read-only view of the fleet: clusters, zones, capacity over time, DNS registrations and "
            "the audit log. Authenticate as for Airflow's REST API: `Authorization: Bearer <JWT from "
            "POST /auth/token>`, or the Airflow UI's session cookie."
        ),
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api = APIRouter(prefix="/api", dependencies=[Depends(sec.reader)])

    def with_live(clusters: list[dict[str, Any]], want: bool) -> list[dict[str, Any]]:
        readable = [
            c["name"] for c in clusters if want and c["state"] in LIVE_STATES and c["has_credentials"]
        ]
        readings = live.read(readable) if readable else {}
        for cluster in clusters:
            if cluster["name"] in readings:
                cluster["live"] = readings[cluster["name"]]
                continue
            why = (
                "live=false"
                if not want
                else f"state {cluster['state']}"
                if cluster["state"] not in LIVE_STATES
                else "no credentials yet"
            )
            cluster["live"] = {"status": "skipped", "error": f"not read ({why})"}
        return clusters

    @api.get("/clusters", response_model=schemas.ClustersResponse, summary="Registered clusters")
    def clusters(
        live: bool = Query(True, description="read nodes and pending pods from each ready cluster"),
        include_deleted: bool = Query(False),
    ) -> dict[str, Any]:
        from include.fleetview.clusters import cluster_views

        found = _registry(lambda: cluster_views(src.engine(), include_deleted=include_deleted))
        return {"clusters": with_live(found, live)}

    @api.get("/clusters/{name}", response_model=schemas.Cluster, summary="One cluster (deleted ones too)")
    def cluster(name: str, live: bool = Query(True)) -> dict[str, Any]:
        from include.fleetview.clusters import cluster_view

        found = _registry(lambda: cluster_view(src.engine(), name))
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"cluster {name!r} is not registered")
        return with_live([found], live)[0]

    @api.get(
        "/clusters/{name}/kubeconfig",
        response_model=schemas.KubeconfigResponse,
        summary="A cluster's admin kubeconfig (users who may read the registry's connection)",
    )
    # a default, not Annotated: annotations are strings here (PEP 563) and ``sec`` is local to this function
    def kubeconfig(name: str, user: Any = Depends(sec.reader)) -> dict[str, Any]:  # noqa: B008
        from include.fleetview.kubeconfig import KubeconfigUnavailable, admin_kubeconfig

        if not sec.may_read_credentials(user, db_conn_id):
            raise forbidden(f"reading cluster credentials needs read access to the connection {db_conn_id!r}")
        registry = _registry(src.registry)
        record = _registry(lambda: registry.get_cluster(name))
        settings = _registry(src.settings)
        creds = None
        if record is not None and record.has_credentials:
            try:
                creds = registry.get_credentials(name)
            except Exception as exc:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    f"cannot decrypt the credentials of {name!r} ({type(exc).__name__}); "
                    "the API server's [core] fernet_key must be the one that stored them",
                ) from exc
        ca = None
        if settings.kube_ca_file:
            try:
                ca = Path(settings.kube_ca_file).read_text()
            except OSError as exc:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    f"kube_ca_file {settings.kube_ca_file} unreadable: {exc}",
                ) from exc
        try:
            text = admin_kubeconfig(
                record,
                creds,
                name=name,
                domain=settings.domain,
                template=settings.kube_server_template,
                ca_pem=ca,
            )
        except KubeconfigUnavailable as exc:
            raise HTTPException(exc.status, str(exc)) from exc
        return {"cluster": name, "kubeconfig": text}

    @api.get("/zones", response_model=schemas.ZonesResponse, summary="Zone states and their history")
    def zones(
        since: str | None = Query(None, description="history since (ISO 8601 or 6h, 7d)"),
    ) -> dict[str, Any]:
        from include.fleetview.zones import zone_view

        start = _time_param("since", since)
        return _registry(lambda: zone_view(src.engine(), since=start))

    @api.get("/capacity", response_model=schemas.CapacityResponse, summary="Capacity over time per cluster")
    def capacity(
        cluster: str | None = Query(None),
        since: str | None = Query(None, description="ISO 8601 or a duration back from now (6h, 7d)"),
        limit: int = Query(2000, ge=1, le=20000, description="history rows read, newest kept"),
    ) -> dict[str, Any]:
        from include.fleetview.capacity import capacity_series

        start = _time_param("since", since)
        return {
            "clusters": _registry(
                lambda: capacity_series(src.engine(), cluster=cluster, since=start, limit=limit)
            )
        }

    @api.get(
        "/registrations",
        response_model=schemas.RegistrationsResponse,
        summary="DNS names per Service and API server",
    )
    def registrations() -> dict[str, Any]:
        from include.fleetview.registrations import api_server_names, service_registrations

        api_servers = _registry(lambda: api_server_names(src.engine()))
        settings = _registry(src.settings)
        answer: dict[str, Any] = {
            "domain": settings.domain,
            "api_servers": api_servers,
            "services": [],
            "status": "ok",
            "error": None,
            "read_at": None,
        }
        if not settings.domain:
            answer.update(status="unavailable", error="the cloud connection has no extra 'dns_domain'")
            return answer

        def read_zone() -> tuple[str | None, list[Any], str]:
            try:
                return None, src.zone_records(settings.domain), iso(datetime.now(UTC)) or ""
            except Exception as exc:  # the page shows "unavailable", never fails
                return (
                    f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}",
                    [],
                    iso(datetime.now(UTC)) or "",
                )

        error, records, read_at = zone_cache.get(settings.domain, read_zone)
        answer["read_at"] = read_at
        if error:
            answer.update(
                status="unavailable", error=f"the DNS zone {settings.domain} could not be read: {error}"
            )
            return answer
        answer["services"] = service_registrations(records, settings.service_owner, settings.domain)
        return answer

    @api.get("/audit", response_model=schemas.AuditResponse, summary="Audit events, newest first, paged")
    def audit(
        request: Request,
        ticket_id: str | None = Query(None),
        cluster: str | None = Query(None),
        since: str | None = Query(None, description="ISO 8601 or a duration back from now (6h, 7d)"),
        until: str | None = Query(None, description="ISO 8601 or a duration back from now"),
        dag_id: str | None = Query(None),
        run_id: str | None = Query(None),
        outcome: str | None = Query(None, description="ok | error | dry_run"),
        limit: int = Query(100, description="1..1000"),
        offset: int = Query(0, description="rows skipped (ignored with cursor)"),
        cursor: str | None = Query(None, description="next_cursor of the previous page"),
    ) -> dict[str, Any]:
        from include.fleetview.audit import AuditFilter, audit_page
        from include.fleetview.paging import PageRequest

        try:
            where = AuditFilter(
                ticket_id=ticket_id or None,
                cluster=cluster or None,
                since=_time_param("since", since),
                until=_time_param("until", until),
                dag_id=dag_id or None,
                run_id=run_id or None,
                outcome=outcome or None,
            )
            page = PageRequest.build(limit=limit, offset=offset, cursor=cursor)
        except ValueError as exc:
            raise _bad_request(exc) from exc
        found = _registry(lambda: audit_page(src.engine(), where, page))
        base = f"{request.url.scheme}://{request.url.netloc}{ui_root(request, mount_prefix)}"
        for item in (*found.events, *found.runs):
            item["run_url"] = f"{base}{item['run_path']}" if item.get("run_path") else None
        return {
            "events": found.events,
            "total": found.total,
            "limit": found.limit,
            "offset": found.offset,
            "next_cursor": found.next_cursor,
            "runs": found.runs,
        }

    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False, response_model=None)
    async def page(request: Request) -> Response:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        if not request.url.path.endswith("/"):
            return RedirectResponse(f"{request.url.path}/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)
        user = await sec.page_user(request)
        if user is None:
            target = f"{root}/" + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(sec.login_url(target), status_code=status.HTTP_303_SEE_OTHER)
        config = {"root": root, "uiRoot": ui_root(request, mount_prefix), "user": _user_name(user)}
        body = (
            PAGE.read_text()
            .replace("{{ROOT}}", html.escape(root))
            .replace("{{CONFIG}}", html.escape(json.dumps(config), quote=True))
        )
        return HTMLResponse(body, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})

    app.state.live_reader = live
    return app


def _user_name(user: Any) -> str:
    for attr in ("get_name", "get_id"):
        method = getattr(user, attr, None)
        if callable(method):
            try:
                return str(method())
            except Exception:  # noqa: S112 - a user object without the method's data; try the next
                continue
    return str(user)
