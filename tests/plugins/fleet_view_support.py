"""The Fleet view's app on a seeded SQLite registry, with stand-ins for what the API server provides.

- :class:`TokenSecurity`: users by bearer token or ``_token`` cookie (``viewer-token``: a viewer,
  ``op-token``: may read credentials); anything else is 401 ``Not authenticated``, as Airflow answers.
  The real Airflow checks are tested in test_fleet_view_auth.py.
- :class:`FakeSources`: the registry engine, fleet settings, a DNS zone (records, or an error) and a
  live read per cluster (a dict, or an exception), counting the calls.

``mounted(app)`` puts the app under ``/yunfleet`` of a parent app, as Airflow's API server mounts it.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from cryptography.fernet import Fernet
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from include.audit import AuditStore
from include.registry import CredentialCipher, FleetRegistry, create_registry_engine, migrate
from include.services.model import ZoneRecord
from plugins.fleet_view.security import Security
from plugins.fleet_view.sources import FleetSettings
from tests.fixtures.fleet_data import DOMAIN, H, I, seed_fleet

TOKENS = {"viewer-token": "viewer", "op-token": "op"}
bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class User:
    name: str

    def get_name(self) -> str:
        return self.name


async def token_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    token = credentials.credentials if credentials else request.cookies.get("_token")
    if not token:
        raise HTTPException(401, "Not authenticated")
    if token not in TOKENS:
        raise HTTPException(403, "Invalid JWT token")
    return User(TOKENS[token])


async def token_page_user(request: Request) -> User | None:
    try:
        return await token_user(request, await bearer(request))
    except HTTPException:
        return None


def token_security() -> Security:
    return Security(
        token_user,
        token_page_user,
        lambda user, conn_id: user.name == "op" and conn_id == "yunfleet_db",
        lambda next_url: f"/auth/login?next={next_url}",
    )


def zone_records() -> list[ZoneRecord]:
    owner = "heritage=yunfleet,owner=fleet/default"
    return [
        ZoneRecord("1", "_yunfleet.web.shop.alpha", "TXT", f"{owner},source=alpha/shop/web", 60),
        ZoneRecord("2", "_yunfleet.web.shop.global", "TXT", f"{owner},source=global/shop/web", 60),
        ZoneRecord("3", "web.shop.alpha", "A", "203.0.113.21", 60),
        ZoneRecord("4", "web.shop.global", "A", "203.0.113.21", 60, weight=30, weighted=True),
    ]


@dataclass
class FakeSources:
    engine_: Engine
    key: str
    settings_: FleetSettings = field(
        default_factory=lambda: FleetSettings(
            DOMAIN, "fleet/default", "https://127.0.0.1:9/k8s/{cluster}", None
        )
    )
    zone: list[ZoneRecord] | Exception = field(default_factory=zone_records)
    live: dict[str, dict[str, Any] | Exception] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def _count(self, what: str) -> None:
        self.calls[what] = self.calls.get(what, 0) + 1

    def engine(self) -> Engine:
        return self.engine_

    def registry(self) -> FleetRegistry:
        return FleetRegistry(self.engine_, CredentialCipher(self.key))

    def settings(self) -> FleetSettings:
        return self.settings_

    def zone_records(self, domain: str) -> list[ZoneRecord]:
        self._count(f"zone:{domain}")
        if isinstance(self.zone, Exception):
            raise self.zone
        return self.zone

    def read_cluster(self, cluster: str) -> dict[str, Any]:
        self._count(f"live:{cluster}")
        found = self.live.get(
            cluster, {"nodes": {H: {"ready": 1, "total": 2}, I: {"ready": 2, "total": 2}}, "pending_pods": 3}
        )
        if isinstance(found, Exception):
            raise found
        return found


def seeded_registry(directory: Path, template: Path | None = None) -> tuple[Engine, str, dict[str, Any]]:
    """A seeded registry file in ``directory`` (copied from ``template`` when given: see the fixture)."""
    path = directory / "registry.db"
    key = Fernet.generate_key().decode()
    engine = create_registry_engine(f"sqlite:///{path}")
    migrate(engine)
    creds = seed_fleet(FleetRegistry(engine, CredentialCipher(key)), AuditStore(engine))
    return engine, key, creds


def copy_registry(source: Path, directory: Path) -> Engine:
    shutil.copyfile(source, directory / "registry.db")
    return create_registry_engine(f"sqlite:///{directory / 'registry.db'}")


def mounted(app: FastAPI, prefix: str = "/yunfleet") -> FastAPI:
    parent = FastAPI()
    parent.mount(prefix, app)
    return parent


#: users of :func:`airflow_like`'s login: name -> (password, token it gets)
USERS = {"admin": ("admin-secret", "op-token"), "viewer": ("viewer-secret", "viewer-token")}


def airflow_like(app: FastAPI) -> FastAPI:
    """``app`` under ``/yunfleet`` of a parent that also answers ``POST /auth/token`` as Airflow's simple
    auth manager does (201 ``{"access_token"}``, 401 ``Invalid credentials``)."""
    parent = mounted(app)

    @parent.post("/auth/token", status_code=201)
    async def login(body: dict[str, Any]) -> dict[str, str]:
        user = USERS.get(str(body.get("username")))
        if user is None or user[0] != body.get("password"):
            raise HTTPException(401, "Invalid credentials")
        return {"access_token": user[1]}

    return parent


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    from yunfleet.devenv.ports import free_tcp_port

    port = free_tcp_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
