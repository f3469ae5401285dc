"""The Fleet view judged by Airflow's own authentication and authorization (no stand-in).

The app runs with ``airflow_security()``: Airflow's ``get_user`` validates the JWT (bearer header or
the UI's ``_token`` cookie) with the simple auth manager's validator and the ``[api_auth] jwt_secret``,
``requires_access_view`` and ``is_authorized_connection`` decide by role. Tokens are issued by that
auth manager's own signer, as ``POST /auth/token`` issues them. Two things that read Airflow's metadata
database are replaced: the revoked-token lookup (a set here, so revocation is still tested) and the
connection's team (none). The running platform repeats the 401/200 checks with a token from
``/auth/token`` (tests/e2e/test_fleet_view.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from plugins.fleet_view.app import create_app
from plugins.fleet_view.security import airflow_security
from tests.plugins.fleet_view_support import FakeSources, copy_registry, mounted, seeded_registry

SECRET = "fleet-view-test-secret-" + "0123456789abcdef" * 4


@pytest.fixture
def auth_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from airflow.api_fastapi import app as airflow_app
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from airflow.models import Connection
    from airflow.models.revoked_token import RevokedToken

    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", SECRET)
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", f"{SimpleAuthManager.__module__}.SimpleAuthManager")
    revoked: set[str] = set()
    monkeypatch.setattr(RevokedToken, "is_revoked", classmethod(lambda cls, jti, **kw: jti in revoked))
    # the metadata-DB model the plugin asks for a connection's team, as Airflow's routes do
    monkeypatch.setattr(Connection, "get_team_name", staticmethod(lambda conn_id, **kw: None))  # noqa: AIR311
    manager = SimpleAuthManager()
    monkeypatch.setattr(airflow_app._AuthManagerState, "instance", manager)
    manager.revoked = revoked  # type: ignore[attr-defined]
    yield manager


def token(manager: Any, role: str, **claims: Any) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return str(manager.generate_jwt(SimpleAuthManagerUser(username=f"{role}-user", role=role), **claims))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    engine, key, _ = seeded_registry(tmp_path_factory.mktemp("fleet-auth"))
    engine.dispose()
    return Path(str(engine.url.database)), key


@pytest.fixture
async def http(
    auth_manager: Any, template: tuple[Path, str], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    path, key = template
    app = mounted(create_app(FakeSources(copy_registry(path, tmp_path), key), airflow_security()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://airflow") as client:
        yield client


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_without_a_token_401_and_no_data(http: httpx.AsyncClient) -> None:
    answer = await http.get("/yunfleet/api/clusters")
    assert answer.status_code == 401 and answer.json() == {"detail": "Not authenticated"}


async def test_a_token_from_airflow_reads_the_fleet(http: httpx.AsyncClient, auth_manager: Any) -> None:
    answer = await http.get(
        "/yunfleet/api/clusters?live=false", headers=bearer(token(auth_manager, "viewer"))
    )
    assert answer.status_code == 200
    assert [c["name"] for c in answer.json()["clusters"]] == ["alpha", "beta"]


async def test_the_ui_session_cookie_reads_the_fleet_and_the_page(
    http: httpx.AsyncClient, auth_manager: Any
) -> None:
    http.cookies.set("_token", token(auth_manager, "viewer"))
    assert (await http.get("/yunfleet/api/zones")).status_code == 200
    page = await http.get("/yunfleet/")
    assert page.status_code == 200 and "viewer-user" in page.text


async def test_forged_expired_and_revoked_tokens_are_refused(
    http: httpx.AsyncClient, auth_manager: Any
) -> None:
    good = token(auth_manager, "admin")
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "admin"}, "not-the-secret-" + "x" * 64, algorithm="HS512")
    refused = await http.get("/yunfleet/api/audit", headers=bearer(forged))
    assert refused.status_code == 403 and refused.json() == {"detail": "Invalid JWT token"}
    expired = jwt.encode(
        {**claims, "exp": claims["iat"] - 10, "nbf": claims["iat"] - 20, "iat": claims["iat"] - 20},
        SECRET,
        algorithm="HS512",
    )
    assert (await http.get("/yunfleet/api/audit", headers=bearer(expired))).status_code == 401
    auth_manager.revoked.add(claims["jti"])
    assert (await http.get("/yunfleet/api/audit", headers=bearer(good))).status_code == 403
    page = await http.get("/yunfleet/", headers=bearer(forged))
    assert page.status_code == 303 and page.headers["location"] == "/auth/login?next=%2Fyunfleet%2F"


async def test_kubeconfig_follows_airflows_connection_permission(
    http: httpx.AsyncClient, auth_manager: Any
) -> None:
    path = "/yunfleet/api/clusters/alpha/kubeconfig"
    for role, status in [("viewer", 403), ("user", 403), ("op", 200), ("admin", 200)]:
        answer = await http.get(path, headers=bearer(token(auth_manager, role)))
        assert answer.status_code == status, (role, answer.text)
        if status == 200:
            assert "client-key-data" in answer.json()["kubeconfig"]
