"""The Fleet JSON API (``/yunfleet/api/``) as the ``yunfleet`` command reads it.

A read command needs only the Airflow API address and a login, and must answer in well under a
second: this client is the standard library's ``urllib`` and nothing else (no Airflow, no generated
REST client, no registry; even httpx costs about 0.3 s to import, with its command-line extras).
It logs in once with ``POST /auth/token`` (the simple and the FAB auth managers both serve it), sends
the JWT as a bearer token, and logs in again once if a call is answered 401 (an expired token).

Every failure is a :class:`FleetApiError`: the HTTP status (``0`` when the server cannot be reached)
and the server's ``detail`` in one line. Proxy variables are ignored for a loopback address.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode, urlparse

from include.loopback import LOOPBACK_HOSTS

API_PREFIX = "/yunfleet/api"


class FleetApiError(RuntimeError):
    """The API refused a call (``status_code``, ``detail``) or could not be reached (``status_code`` 0)."""

    def __init__(self, status_code: int, detail: str) -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(detail)


def _detail(status: int, body: bytes, reason: str) -> str:
    """The server's ``detail`` (pydantic's error list flattened to ``loc: msg; ...``) in one line."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    detail = parsed.get("detail") if isinstance(parsed, dict) else None
    if isinstance(detail, list):
        detail = "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    text = str(detail) if detail else (body.decode(errors="replace").strip() or reason or f"HTTP {status}")
    return " ".join(text.split())[:500]


def _loopback(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class FleetApi:
    """Reads of one Airflow API server's Fleet API as ``username``; ``timeout_s`` bounds each call."""

    def __init__(self, base_url: str, username: str, password: str, *, timeout_s: float = 10.0) -> None:
        if urlparse(base_url).scheme not in ("http", "https"):
            raise FleetApiError(
                0, f"the Airflow API address must be an http:// or https:// URL, got {base_url!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self._token: str | None = None
        # the environment's proxies, except for a loopback address
        proxies = urllib.request.ProxyHandler({} if _loopback(base_url) else None)
        self._opener = urllib.request.build_opener(proxies)

    def close(self) -> None:
        """Nothing is kept open between calls; here for ``with``."""

    def __enter__(self) -> FleetApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str, bytes]:
        """``(status, content type, body)``; :class:`FleetApiError` (0) when no answer came."""
        data = json.dumps(body).encode() if body is not None else None
        url = f"{self.base_url}{path}"  # http(s) only: checked in __init__
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise FleetApiError(0, f"cannot reach the Airflow API at {self.base_url}: {reason}") from exc

    def token(self, *, refresh: bool = False) -> str:
        """A JWT from ``POST /auth/token`` (kept for the following calls)."""
        if self._token is None or refresh:
            credentials = {"username": self.username, "password": self.password}
            status, _, body = self._send("POST", "/auth/token", body=credentials)
            if status >= 400:
                detail = _detail(status, body, "")
                raise FleetApiError(status, f"login as {self.username!r} refused: {detail}")
            try:
                token = json.loads(body).get("access_token")
            except (ValueError, AttributeError):
                token = None
            if not token:
                raise FleetApiError(status, "the login answered without an access_token")
            self._token = str(token)
        return self._token

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """``GET /yunfleet/api/<path>`` as JSON; :class:`FleetApiError` for any status >= 400."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None and v != ""})
        target = f"{API_PREFIX}/{path}" + (f"?{query}" if query else "")
        for attempt in (1, 2):
            auth = {"Authorization": f"Bearer {self.token(refresh=attempt == 2)}"}
            status, content_type, body = self._send("GET", target, headers=auth)
            if status != 401 or attempt == 2:
                break
        if "json" not in content_type or (status == 404 and _detail(status, body, "") == "Not Found"):
            # Airflow's UI answers unknown paths with its HTML page: no plugin at /yunfleet
            raise FleetApiError(
                404,
                f"{self.base_url} serves no Fleet API at {API_PREFIX}/ (is the Yunfleet plugin installed?)",
            )
        if status >= 400:
            raise FleetApiError(status, _detail(status, body, ""))
        return json.loads(body)

    # -- the reads the command makes -----------------------------------------------------------

    def clusters(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        body = self.get("clusters", {"live": "false", "include_deleted": str(include_deleted).lower()})
        return list(body["clusters"])

    def kubeconfig(self, cluster: str) -> str:
        return str(self.get(f"clusters/{quote(cluster, safe='')}/kubeconfig")["kubeconfig"])

    def audit_pages(
        self, *, limit: int, page_size: int = 500, **filters: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Events matching ``filters`` (newest first, at most ``limit``) and the first page's body
        (``total``, ``runs``)."""
        events: list[dict[str, Any]] = []
        first: dict[str, Any] | None = None
        cursor = None
        while len(events) < limit:
            body = self.get(
                "audit", {**filters, "limit": min(page_size, limit - len(events)), "cursor": cursor}
            )
            first = first or body
            events.extend(body["events"])
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return events, first or {"total": 0, "runs": []}
