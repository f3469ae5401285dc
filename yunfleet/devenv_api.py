"""A small client for the Airflow 3 REST API: JWT login, trigger, wait, explain a run.

Drives DAGs the way a ticketing system would (``POST /api/v2/dags/{dag_id}/dagRuns``). Used by the
e2e test fixture; nothing in it is specific to the local platform.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

FINAL_STATES = frozenset({"success", "failed"})


class ApiError(RuntimeError):
    """The API answered with an error status; carries the status code and the server's detail."""

    def __init__(self, method: str, path: str, response: httpx.Response) -> None:
        try:
            detail: Any = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        self.status_code = response.status_code
        self.detail = detail
        super().__init__(f"{method} {path} -> HTTP {response.status_code}: {str(detail)[:500]}")


class AirflowApi:
    """Authenticated calls against one Airflow API server (simple auth manager or FAB)."""

    def __init__(self, base_url: str, username: str, password: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)
        self._token: str | None = None

    def close(self) -> None:
        self._client.close()

    def token(self, *, refresh: bool = False) -> str:
        """A JWT from ``POST /auth/token`` (cached until a call is rejected with 401)."""
        if self._token is None or refresh:
            credentials = {"username": self.username, "password": self.password}
            resp = self._client.post("/auth/token", json=credentials)
            if resp.status_code not in (200, 201):
                raise ApiError("POST", "/auth/token", resp)
            self._token = str(resp.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request with the bearer token; a 401 triggers one fresh login and a retry."""
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in range(2):
            headers["Authorization"] = f"Bearer {self.token(refresh=attempt > 0)}"
            resp = self._client.request(method, path, headers=headers, **kwargs)
            if resp.status_code != 401:
                break
        return resp

    def _ok(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.api(method, path, **kwargs)
        if resp.status_code >= 400:
            raise ApiError(method, path, resp)
        return resp.json() if resp.content else None

    def wait_for_dag(self, dag_id: str, *, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the DAG processor has registered ``dag_id``; fail early on its import error."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.api("GET", f"/api/v2/dags/{dag_id}")
            if resp.status_code == 200:
                return dict(resp.json())
            errors = self._ok("GET", "/api/v2/importErrors", params={"limit": 100})
            for err in errors.get("import_errors", []):
                if dag_id in str(err.get("filename", "")) or f"'{dag_id}'" in str(err.get("stack_trace")):
                    raise RuntimeError(f"DAG {dag_id} has an import error:\n{err.get('stack_trace')}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAG {dag_id} was not registered within {timeout:.0f} s "
                                   f"(import errors: {errors.get('import_errors')})")
            time.sleep(1.0)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._ok("PATCH", f"/api/v2/dags/{dag_id}", params={"update_mask": "is_paused"},
                 json={"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, note: str | None = None, *,
                run_id: str | None = None, unpause: bool = True) -> str:
        """Unpause (by default) and trigger ``dag_id`` now; return the new run id.

        Raises :class:`ApiError` (e.g. 400 for conf that fails the DAG's param schema).
        """
        self.wait_for_dag(dag_id)
        if unpause:
            self.set_paused(dag_id, False)
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if note is not None:
            body["note"] = note
        if run_id is not None:
            body["dag_run_id"] = run_id
        run = self._ok("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        return str(run["dag_run_id"])

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self._ok("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))

    def wait(self, dag_id: str, run_id: str, timeout: float = 300.0, *, poll: float = 1.0) -> str:
        """Poll the run until it is ``success`` or ``failed``; return that state."""
        deadline = time.monotonic() + timeout
        while True:
            state = str(self.run(dag_id, run_id)["state"])
            if state in FINAL_STATES:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {dag_id}/{run_id} still {state} after {timeout:.0f} s\n"
                                   f"{self.explain(dag_id, run_id)}")
            time.sleep(poll)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        body = self._ok("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                        params={"limit": 1000})
        return list(body["task_instances"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1,
                 map_index: int = -1) -> str:
        """One try's log as text: ``time [level] event`` lines, exceptions as ``Type: message``."""
        resp = self.api(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true", "map_index": map_index}, headers={"Accept": "application/json"},
        )
        if resp.status_code >= 400:
            return f"(log unavailable: HTTP {resp.status_code} {resp.text[:200]})"
        lines = []
        for item in resp.json().get("content", []):
            if not isinstance(item, dict):
                lines.append(str(item))
                continue
            head = " ".join(str(item[k]) for k in ("timestamp", "level") if item.get(k))
            lines.append(f"{head} {item.get('event', '')}".strip())
            for err in item.get("error_detail") or []:
                if isinstance(err, dict):
                    lines.append(f"{err.get('exc_type')}: {err.get('exc_value')}")
        return "\n".join(lines)

    def explain(self, dag_id: str, run_id: str, *, log_lines: int = 30) -> str:
        """Task states of a run, with the log tail of each task that did not succeed."""
        lines = []
        for ti in self.task_instances(dag_id, run_id):
            label = f"{ti['task_id']}[{ti.get('map_index', -1)}] try {ti.get('try_number')}"
            lines.append(f"{label}: {ti['state']}")
            if ti["state"] not in ("success", "skipped", None) and ti.get("try_number"):
                log = self.task_log(dag_id, run_id, ti["task_id"], int(ti["try_number"]),
                                    int(ti.get("map_index", -1)))
                lines += ["    " + line for line in log.splitlines()[-log_lines:]]
        return "\n".join(lines) or "(no task instances)"
