"""Who may read the Fleet view: Airflow's own authentication and authorization, called per request.

Authentication is Airflow's ``get_user`` (``airflow.api_fastapi.core_api.security``): a JWT in the
``Authorization: Bearer`` header (from ``POST /auth/token``), else the UI's session cookie
(``_token``), validated by the configured auth manager. No token: 401 ``Not authenticated``; an
invalid or expired one: 401/403 as Airflow answers. Authorization:

- the page and the JSON API: Airflow's ``requires_access_view(AccessView.WEBSITE)``, the right to use
  the Airflow UI at all (every role of the simple auth manager has it);
- a cluster's admin kubeconfig: the right to read the registry's connection (``yunfleet_db``), as
  ``GET /api/v2/connections/{id}`` requires: whoever may read the credentials store may read a
  cluster's credentials (the simple auth manager's ``op`` and ``admin`` roles).

Airflow is imported when a request is judged, not when the plugin is loaded, so loading the plugin
in a scheduler or a task process costs nothing. The same functions answer in every deployment the
auth manager supports (simple, FAB, Keycloak...).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="A JWT from Airflow's POST /auth/token")


async def airflow_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Any:
    """The authenticated Airflow user allowed to use the UI; 401/403 otherwise (Airflow's answers)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user, requires_access_view

    user = await get_user(request, None, credentials)
    requires_access_view(AccessView.WEBSITE)(request, user)
    return user


def may_read_credentials(user: Any, conn_id: str) -> bool:
    """Whether Airflow lets ``user`` read connection ``conn_id`` (the registry's)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

    # the metadata-DB model on purpose: a server-side lookup of the connection's team, as Airflow's own
    # connection routes make it (task code reads connections through airflow.sdk instead)
    from airflow.models import Connection

    team = Connection.get_team_name(conn_id)  # noqa: AIR311
    details = ConnectionDetails(conn_id=conn_id, team_name=team)
    return bool(get_auth_manager().is_authorized_connection(method="GET", details=details, user=user))


async def page_user(request: Request) -> Any | None:
    """The user for the HTML page, or ``None`` (the page then sends the browser to Airflow's login)."""
    try:
        return await airflow_user(request, await bearer(request))
    except HTTPException:
        return None


def login_url(next_url: str) -> str:
    """Airflow's login page, coming back to ``next_url`` (a path on this server) afterwards."""
    from airflow.api_fastapi.app import get_auth_manager

    return str(get_auth_manager().get_url_login(next_url=next_url))


class Security:
    """The checks the app uses; :func:`airflow_security` in the API server, another in tests.

    :param reader: FastAPI dependency giving the user allowed to read the view (raises 401/403).
    :param page_user: ``async (request) -> user or None`` for the HTML page.
    :param may_read_credentials: ``(user, registry conn id) -> bool`` for kubeconfigs.
    :param login_url: ``(next path) -> URL`` of the login page.
    """

    def __init__(self, reader: Any, page_user: Any, may_read_credentials: Any, login_url: Any) -> None:
        self.reader = reader
        self.page_user = page_user
        self.may_read_credentials = may_read_credentials
        self.login_url = login_url


def airflow_security() -> Security:
    return Security(airflow_user, page_user, may_read_credentials, login_url)


def forbidden(message: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, message)
