"""The Airflow REST API (v2) as Yunfleet drives it: log in, trigger a DAG run, follow it, explain it.

One client for the ``yunfleet ticket`` command, the local platform runner (``yunfleet.devenv``) and
the e2e test fixture, built on the official ``apache-airflow-client`` package (pinned to the
server's version, 3.3.x), which supplies the typed requests and responses. Two things it leaves to
its users are here:

- **Login.** The package does not create tokens; :func:`create_token` is the one call it lacks,
  ``POST /auth/token`` (served by the simple and the FAB auth managers alike), sent through the
  package's own HTTP transport. :class:`AirflowApi` logs in on first use and once more when a call
  is answered 401 (an expired token).
- **One error type.** Every failure is an :class:`ApiError` whose message is one line (the
  server's ``detail``, pydantic's list flattened to ``loc: msg; ...``), with the HTTP status
  (``0`` when the server cannot be reached) and the raw detail as attributes.

Proxy variables are ignored for a loopback base URL: a local API server must not be reached through
``HTTP(S)_PROXY`` (see ``include.loopback``). Any other URL uses the environment's proxy, as the
package resolves it.

Importing this module costs about 2 s (the package loads every model); import it where it is used.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import urlparse

import urllib3
from airflow_client.client import (
    ApiClient,
    Configuration,
    DAGApi,
    DAGPatchBody,
    DAGResponse,
    DagRunApi,
    DAGRunResponse,
    DagRunState,
    ImportErrorApi,
    MonitorApi,
    TaskInstanceApi,
    TaskInstanceResponse,
    TriggerDAGRunPostBody,
)
from airflow_client.client.exceptions import ApiException, UnauthorizedException

from include.loopback import LOOPBACK_HOSTS

T = TypeVar("T")

# A run in one of these states will not change again (DagRunState: queued, running, success, failed).
TERMINAL_RUN_STATES = frozenset({DagRunState.SUCCESS.value, DagRunState.FAILED.value})


class ApiError(RuntimeError):
    """The API refused a call or could not be reached.

    ``status_code``: the HTTP status, 0 when no answer came (refused connection, timeout).
    ``detail``: the server's ``detail`` as sent (a string, or pydantic's list of errors).
    ``str(error)``: one line for a person.
    """

    def __init__(self, status_code: int, detail: Any, *, prefix: str = "") -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(f"{prefix}{one_line(detail)}")


def one_line(detail: Any) -> str:
    """The server's error detail as one line; a pydantic error list becomes ``loc: msg; ...``."""
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    return " ".join(str(detail).split())[:500]


def _detail(status: int, body: str | bytes | None, reason: str | None) -> Any:
    text = body.decode(errors="replace") if isinstance(body, bytes) else (body or "")
    try:
        parsed = json.loads(text)
    except ValueError:
        return text.strip()[:500] or reason or f"HTTP {status}"
    return parsed.get("detail", parsed) if isinstance(parsed, dict) else parsed


def _from_exception(exc: ApiException, prefix: str = "") -> ApiError:
    status = int(exc.status or 0)
    return ApiError(status, _detail(status, exc.body, exc.reason), prefix=prefix)


def _log_lines(content: Any) -> list[str]:
    """Task log entries (strings or structured dicts) as text lines; exceptions as ``Type: message``."""
    lines: list[str] = []
    for item in content if isinstance(content, list) else [content]:
        if not isinstance(item, dict):
            lines.append(str(item))
            continue
        head = " ".join(str(item[k]) for k in ("timestamp", "level") if item.get(k))
        lines.append(f"{head} {item.get('event', '')}".strip())
        for err in item.get("error_detail") or []:
            if isinstance(err, dict):
                lines.append(f"{err.get('exc_type')}: {err.get('exc_value')}")
    return lines


def _is_loopback(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def make_api_client(base_url: str) -> ApiClient:
    """An ``ApiClient`` for the server at ``base_url`` (scheme://host:port, no ``/api/v2``)."""
    configuration = Configuration(host=base_url.rstrip("/"))
    configuration.retries = False  # one attempt per call; callers decide what to retry
    if _is_loopback(base_url):
        configuration.proxy = None
    return ApiClient(configuration)


def create_token(api_client: ApiClient, username: str, password: str, *, timeout_s: float = 30.0) -> str:
    """A JWT for ``username`` from ``POST /auth/token``.

    Raises :class:`ApiError`: the HTTP status and detail when the login is refused (401 for wrong
    credentials), status 0 when the server cannot be reached.
    """
    host = api_client.configuration.host
    try:
        response = api_client.call_api(
            "POST",
            f"{host}/auth/token",
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            body={"username": username, "password": password},
            _request_timeout=timeout_s,
        )
        data = response.read()  # type: ignore[no-untyped-call]  # the generated class has no hints here
    except urllib3.exceptions.HTTPError as exc:
        raise _unreachable(host, exc) from exc
    if response.status >= 400:
        detail = _detail(response.status, data, response.reason)
        raise ApiError(response.status, detail, prefix=f"login as {username!r} refused: ")
    try:
        token = json.loads(data).get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not token:
        raise ApiError(response.status, "the login answered without an access_token")
    return str(token)


def _unreachable(host: str, exc: urllib3.exceptions.HTTPError) -> ApiError:
    reason = str(getattr(exc, "reason", None) or exc)
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # drop the "HTTPConnection(...): " prefix
        reason = reason.split(": ", 1)[-1]
    return ApiError(0, f"cannot reach the Airflow API at {host}: {reason}")


def _state(value: Any) -> str:
    """An API state (an enum member, a string or None) as its plain string; None is ``none``."""
    if isinstance(value, Enum):
        return str(value.value)
    return "none" if value is None else str(value)


class AirflowApi:
    """Authenticated calls against one Airflow API server.

    ``base_url`` is the server root (``http://127.0.0.1:8080``); ``timeout_s`` bounds each HTTP call.
    Methods return the package's typed models (``DAGResponse``, ``DAGRunResponse``,
    ``TaskInstanceResponse``) and raise :class:`ApiError`.
    """

    def __init__(self, base_url: str, username: str, password: str, *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self.client = make_api_client(self.base_url)
        self._token: str | None = None

    def close(self) -> None:
        self.client.rest_client.pool_manager.clear()

    def __enter__(self) -> AirflowApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------------

    def token(self, *, refresh: bool = False) -> str:
        """The JWT in use, created on first use (or again with ``refresh``)."""
        if self._token is None or refresh:
            self._token = create_token(self.client, self.username, self.password, timeout_s=self.timeout_s)
            self.client.configuration.access_token = self._token
        return self._token

    #: tries of an idempotent call answered with a server error (5xx), and the first pause between
    #: them in seconds (doubled each time): Airflow answers 500 "Database error" while its metadata
    #: database is busy
    idempotent_tries: int = 4
    retry_pause_s: float = 0.5

    def call_idempotent(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """:meth:`call` for a read or a write that may be sent twice (a PATCH to a given value):
        a server error (5xx) is tried again up to ``idempotent_tries`` times in all, 0.5, 1, 2 s apart.
        """
        pause = self.retry_pause_s
        for attempt in range(1, self.idempotent_tries + 1):
            try:
                return self.call(fn, *args, **kwargs)
            except ApiError as exc:
                if exc.status_code < 500 or attempt == self.idempotent_tries:
                    raise
            time.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, fn: Callable[..., T], *args: Any, auth: bool = True, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` of a generated API class, with the token, timeout and error mapping.

        A 401 answer triggers one fresh login and one retry.
        """
        for attempt in (1, 2):
            if auth:
                self.token(refresh=attempt == 2)
            try:
                return fn(*args, _request_timeout=float(self.timeout_s), **kwargs)
            except UnauthorizedException as exc:
                if not auth or attempt == 2:
                    raise _from_exception(exc) from exc
            except ApiException as exc:
                raise _from_exception(exc) from exc
            except urllib3.exceptions.HTTPError as exc:
                raise _unreachable(self.base_url, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- platform ----------------------------------------------------------------------------------

    def health(self) -> dict[str, str | None]:
        """Each component's status from ``GET /api/v2/monitor/health`` (no login needed)."""
        info = self.call(MonitorApi(self.client).get_health, auth=False)
        return {
            name: getattr(getattr(info, name), "status", None)
            for name in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        }

    # -- DAGs and runs -----------------------------------------------------------------------------

    def get_dag(self, dag_id: str) -> DAGResponse:
        return self.call_idempotent(DAGApi(self.client).get_dag, dag_id)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause ``dag_id`` (idempotent: a server error is tried again)."""
        self.call_idempotent(
            DAGApi(self.client).patch_dag, dag_id, DAGPatchBody(is_paused=paused), ["is_paused"]
        )

    def wait_for_dag(self, dag_id: str, *, timeout_s: float = 120.0, poll_s: float = 1.0) -> DAGResponse:
        """Wait until the DAG processor has registered ``dag_id``; fail early on its import error.

        Raises ``RuntimeError`` with the stack trace of the DAG's import error, ``TimeoutError``
        after ``timeout_s`` seconds.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.get_dag(dag_id)
            except ApiError as exc:
                if exc.status_code != 404:
                    raise
            errors = self.call(ImportErrorApi(self.client).get_import_errors, limit=100).import_errors
            for err in errors:
                if dag_id in err.filename or f"'{dag_id}'" in err.stack_trace:
                    raise RuntimeError(f"DAG {dag_id} has an import error:\n{err.stack_trace}")
            if time.monotonic() > deadline:
                files = [err.filename for err in errors]
                raise TimeoutError(
                    f"DAG {dag_id} was not registered within {timeout_s:.0f} s (import errors in: {files})"
                )
            time.sleep(poll_s)

    def trigger(
        self, dag_id: str, *, conf: dict[str, Any], note: str | None = None, run_id: str | None = None
    ) -> DAGRunResponse:
        """Trigger a run of ``dag_id`` now (``logical_date: null``, so runs never collide on a date).

        Raises :class:`ApiError`: 400 when ``conf`` fails the DAG's param schema, 404 for an unknown
        DAG, 409 when ``run_id`` is taken.
        """
        body = TriggerDAGRunPostBody(dag_run_id=run_id, conf=conf, note=note)
        return self.call(DagRunApi(self.client).trigger_dag_run, dag_id, body)

    def get_run(self, dag_id: str, run_id: str) -> DAGRunResponse:
        return self.call(DagRunApi(self.client).get_dag_run, dag_id, run_id)

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstanceResponse]:
        api = TaskInstanceApi(self.client)
        return list(self.call(api.get_task_instances, dag_id, run_id, limit=1000).task_instances)

    def follow(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout_s: float,
        poll_s: float = 2.0,
        on_change: Callable[[str], None] | None = None,
    ) -> str:
        """Poll the run until it is ``success`` or ``failed``; return that state.

        ``on_change`` gets one line per task state change (``task_id[map_index]: state``).
        Raises ``TimeoutError`` after ``timeout_s`` seconds (the run keeps going).
        """
        deadline = time.monotonic() + timeout_s
        seen: dict[str, str] = {}
        while True:
            state = _state(self.get_run(dag_id, run_id).state)
            if on_change is not None:
                for ti in self.task_instances(dag_id, run_id):
                    key = ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else "")
                    if seen.get(key) != (ti_state := _state(ti.state)):
                        seen[key] = ti_state
                        on_change(f"{key}: {ti_state}")
            if state in TERMINAL_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} of {dag_id} still {state} after {timeout_s:.0f}s")
            time.sleep(poll_s)

    # -- explaining a run --------------------------------------------------------------------------

    def task_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1
    ) -> str:
        """One try's log as text: ``time level event`` lines, exceptions as ``Type: message``.

        The body is read as JSON here: the package's ``StructuredLogMessage`` model keeps only
        ``timestamp`` and ``event`` and drops ``level`` and ``error_detail`` (the exception).
        """
        api = TaskInstanceApi(self.client)
        try:
            response = self.call(
                api.get_log_without_preload_content,
                dag_id,
                run_id,
                task_id,
                try_number,
                full_content=True,
                map_index=map_index,
                accept="application/json",
            )
            if response.status >= 400:
                detail = one_line(_detail(response.status, response.data, None))
                return f"(log unavailable: HTTP {response.status} {detail})"
            content = json.loads(response.data or b"{}").get("content") or []
        except (ApiError, ValueError) as exc:  # ValueError: a body that is not JSON
            return f"(log unavailable: {exc})"
        return "\n".join(_log_lines(content))

    def explain(self, dag_id: str, run_id: str, *, log_lines: int = 30) -> str:
        """Task states of a run, with the log tail of each task that did not succeed."""
        lines = []
        for ti in self.task_instances(dag_id, run_id):
            state = _state(ti.state)
            lines.append(f"{ti.task_id}[{ti.map_index}] try {ti.try_number}: {state}")
            if state not in ("success", "skipped", "none") and ti.try_number:
                log = self.task_log(dag_id, run_id, ti.task_id, ti.try_number, ti.map_index)
                lines += ["    " + line for line in log.splitlines()[-log_lines:]]
        return "\n".join(lines) or "(no task instances)"
