"""A small client of the Airflow REST API (v2) for the ``yunfleet ticket`` command.

Authenticates with a JWT from ``POST /auth/token``, triggers a DAG run with conf and note, and
follows it until it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

TERMINAL_RUN_STATES = frozenset({"success", "failed"})


class ApiError(RuntimeError):
    """The API answered with an error (``status`` holds the HTTP status; 0 = unreachable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # pydantic errors: [{"loc": [...], "msg": ...}]
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    return str(detail)


@dataclass
class AirflowApi:
    base_url: str
    username: str
    password: str
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        # trust_env=False: proxy variables must not take loopback traffic off the machine.
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/"), timeout=self.timeout_s, trust_env=False
        )
        self._token: str | None = None

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, headers=self._headers(), **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach the Airflow API at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(response.status_code, _detail(response))
        return response.json() if response.content else None

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = self.login()
        return {"Authorization": f"Bearer {self._token}"}

    def login(self) -> str:
        """A JWT for the user (SimpleAuthManager and FAB both serve ``POST /auth/token``)."""
        try:
            response = self._client.post(
                "/auth/token", json={"username": self.username, "password": self.password}
            )
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach the Airflow API at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(response.status_code, f"login as {self.username!r} refused: {_detail(response)}")
        token = response.json().get("access_token")
        if not token:
            raise ApiError(response.status_code, "login answered without an access_token")
        return str(token)

    def get_dag(self, dag_id: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/api/v2/dags/{dag_id}"))

    def unpause(self, dag_id: str) -> None:
        self._request(
            "PATCH", f"/api/v2/dags/{dag_id}", params={"update_mask": "is_paused"}, json={"is_paused": False}
        )

    def trigger(self, dag_id: str, *, run_id: str, conf: dict[str, Any], note: str | None) -> dict[str, Any]:
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf, "note": note}
        return dict(self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body))

    def get_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        body = self._request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000}
        )
        return list(body.get("task_instances", []))

    def follow(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout_s: float,
        poll_s: float = 2.0,
        on_change: Callable[[str], None] = lambda _line: None,
    ) -> str:
        """Poll until the run ends; report every task state change. Returns the final run state."""
        deadline = time.monotonic() + timeout_s
        seen: dict[str, str] = {}
        state = "queued"
        while True:
            state = str(self.get_run(dag_id, run_id).get("state"))
            for ti in self.task_instances(dag_id, run_id):
                key = ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")
                ti_state = str(ti.get("state") or "none")
                if seen.get(key) != ti_state:
                    seen[key] = ti_state
                    on_change(f"{key}: {ti_state}")
            if state in TERMINAL_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} of {dag_id} still {state} after {timeout_s:.0f}s")
            time.sleep(poll_s)
