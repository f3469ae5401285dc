"""Refuse, at the REST API, a DAG run whose conf carries keys the DAG does not declare, or breaks
one of the DAG's cross-field rules (``include.fleet.conf_keys.CROSS_FIELD_RULES``).

Airflow stores conf keys that are not params of the DAG and ignores them, so a ticketing system
sending ``"dryrun": true`` (for ``dry_run``) would start a real run. :class:`ConfGuardMiddleware`,
registered on the API server's root app by :class:`ConfGuardPlugin`, answers such a trigger with
HTTP 400 and Airflow's error shape ``{"detail": "<one line>"}`` (the line comes from
:func:`include.fleet.conf_keys.conf_error`) before Airflow sees it. Guarded requests:

- ``POST {root}/api/v2/dags/{dag_id}/dagRuns``, ``conf`` (the REST API and the UI's trigger form);
- ``POST {root}/api/v2/backfills`` and ``.../backfills/dry_run``, ``dag_run_conf`` (DAG id in the body).

Only DAGs tagged ``yunfleet`` are guarded, and only for a caller whom Airflow's own authentication
and ``POST``/``RUN`` authorization of that DAG accept; anyone else gets Airflow's own answer (401,
403, 404), so no param name reaches a caller Airflow would turn away. A body that is not a JSON
object, a conf that is not an object, or a failed lookup goes on to Airflow's validation unchanged.
The body is never logged. See docs/decisions.md "REST API: unknown conf keys refused with 400".
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from include.fleet.conf_keys import conf_error

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
AsgiMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[AsgiMessage]]
Send = Callable[[AsgiMessage], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: ``(scope, dag_id) -> declared param names``, or ``None`` when the request is not to be guarded
ParamsResolver = Callable[[Scope, str], Awaitable[Collection[str] | None]]

#: the DAG tag that puts a DAG under the guard
GUARDED_TAG = "yunfleet"


@dataclass(frozen=True)
class GuardedRoute:
    """A POST route that creates DAG runs: its path (after the root path) and the conf's field name."""

    path: re.Pattern[str]
    conf_field: str


# Routes as declared in airflow/api_fastapi/core_api/routes/public/{dag_run,backfills}.py (3.3).
# The bulk ``PATCH .../dagRuns`` and the clear routes take no conf.
ROUTES = (
    GuardedRoute(re.compile(r"/api/v2/dags/(?P<dag_id>[^/]+)/dagRuns"), "conf"),
    GuardedRoute(re.compile(r"/api/v2/backfills(?:/dry_run)?"), "dag_run_conf"),
)


class ConfGuardMiddleware:
    """Pure ASGI middleware: 400 for a guarded trigger whose conf has undeclared keys, else pass on.

    ``resolve`` gives the declared params of a DAG for the request's caller, or ``None`` when the
    request is not to be judged (caller not authenticated or not allowed, DAG unknown or not tagged
    ``yunfleet``); by default :func:`airflow_declared_params`. The body of a guarded request is read
    in full and replayed to ``app`` byte for byte.
    """

    def __init__(self, app: AsgiApp, resolve: ParamsResolver | None = None) -> None:
        self.app = app
        self.resolve = resolve or airflow_declared_params

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _guarded_route(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        if route is None or not _has_json_body(scope):
            await self.app(scope, receive, send)
            return
        body, replay = await _buffer(receive)
        refusal = await self._refusal(scope, route, body) if body is not None else None
        if refusal is None:
            await self.app(scope, replay, send)
            return
        await _send_json(send, 400, {"detail": refusal})

    async def _refusal(self, scope: Scope, route: tuple[GuardedRoute, str | None], body: bytes) -> str | None:
        guarded, path_dag_id = route
        try:
            payload = json.loads(body)
        except ValueError:  # not JSON, or not UTF-8: Airflow answers it
            return None
        if not isinstance(payload, dict):
            return None
        conf = payload.get(guarded.conf_field)
        dag_id = path_dag_id if path_dag_id is not None else payload.get("dag_id")
        if not isinstance(conf, dict) or not conf or not isinstance(dag_id, str):
            return None
        try:
            declared = await self.resolve(scope, dag_id)
        except Exception:
            # The run's first task checks the keys again, so a failed lookup lets the request pass.
            log.warning(
                "conf guard: could not read the params of DAG %r; request passed on", dag_id, exc_info=True
            )
            return None
        if declared is None:
            return None
        error = conf_error(conf, declared, dag_id)
        if error:
            log.info(
                "conf guard: refused a run of DAG %r (undeclared conf keys or a cross-field rule)", dag_id
            )
        return error


def _guarded_route(scope: Scope) -> tuple[GuardedRoute, str | None] | None:
    """The guarded route this request's path matches, with the DAG id when the path holds it."""
    path = _route_path(scope)
    for route in ROUTES:
        match = route.path.fullmatch(path)
        if match:
            return route, match.groupdict().get("dag_id")
    return None


def _route_path(scope: Scope) -> str:
    """The path the app's router matches: ``path`` without ``root_path`` (as Starlette does it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def _has_json_body(scope: Scope) -> bool:
    """Whether FastAPI would parse the body as JSON: ``application/json`` or ``application/*+json``."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-type":
            message = Message()
            message["content-type"] = value.decode("latin-1")
            subtype = message.get_content_subtype()
            return message.get_content_maintype() == "application" and (
                subtype == "json" or subtype.endswith("+json")
            )
    return False


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole body; return it (``None`` if the client left first) and a ``receive`` replaying it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect: hand that on instead
            pending = [message]
            body = None
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = b"".join(chunks)
            pending = [{"type": "http.request", "body": body, "more_body": False}]
            break

    async def replay() -> AsgiMessage:
        return pending.pop(0) if pending else await receive()

    return body, replay


async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    body = json.dumps(content, separators=(",", ":")).encode()  # compact, as Airflow's own errors
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- Airflow side: the caller's access and the DAG's declared params ----------------------------------


async def airflow_declared_params(scope: Scope, dag_id: str) -> list[str] | None:
    """The params of ``dag_id`` if it is tagged ``yunfleet`` and Airflow would let the caller trigger it.

    Authentication is Airflow's own ``get_user`` (bearer token, else the session cookie), and
    authorization the check the trigger and backfill routes make (``is_authorized_dag`` with
    ``POST`` on ``RUN``). ``None`` when either refuses, or the DAG is unknown or not tagged.
    The DAG is the latest serialized version, read through the API server's cached DAG bag.
    """
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import HTTPException, Request
    from fastapi.security import HTTPBearer
    from starlette.concurrency import run_in_threadpool

    request = Request(scope)
    try:
        credentials = await HTTPBearer(auto_error=False)(request)
        user = await get_user(request, None, credentials)
    except HTTPException:
        return None
    return await run_in_threadpool(_declared_params_if_allowed, scope.get("app"), dag_id, user)


def _declared_params_if_allowed(app: Any, dag_id: str, user: Any) -> list[str] | None:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models.dag import DagModel
    from airflow.models.dag_version import DagVersion
    from airflow.utils.session import create_session

    details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    if not get_auth_manager().is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, details=details, user=user
    ):
        return None
    dag_bag = getattr(getattr(app, "state", None), "dag_bag", None) or _fallback_dag_bag()
    with create_session() as session:
        version = DagVersion.get_latest_version(dag_id, session=session)
        dag = dag_bag.get_dag(version.id, session=session) if version else None
    if dag is None or GUARDED_TAG not in dag.tags:
        return None
    return list(dag.params.keys())


@functools.cache
def _fallback_dag_bag() -> Any:
    """One cached DAG bag, for an app without ``state.dag_bag`` (the core API not among its apps)."""
    from airflow.api_fastapi.common.dagbag import create_dag_bag

    return create_dag_bag()


class ConfGuardPlugin(AirflowPlugin):
    """Registers :class:`ConfGuardMiddleware` on the Airflow API server's root app."""

    name = "yunfleet_conf_guard"
    fastapi_root_middlewares = [
        {"middleware": ConfGuardMiddleware, "args": [], "kwargs": {}, "name": "Yunfleet conf guard"}
    ]
