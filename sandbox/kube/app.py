"""The ASGI app of the Kubernetes API port: ``/k8s/<cluster>/...`` with auth, faults and the call log."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from sandbox.kube.api import ApiRequest, ApiResponse, WatchSpec, handle
from sandbox.kube.auth import authenticate, tls_chain
from sandbox.kube.errors import KubeError, forbidden, path_not_found, unauthorized, unavailable
from sandbox.kube.faults import fault_error, throttled, timed_out
from sandbox.kube.sim import KubeSim

log = logging.getLogger("sandbox.kube")

ANONYMOUS_PATHS = ("version", "healthz", "livez", "readyz")
DEFAULT_TIMEOUT_HOLD_MS = 60_000
WATCH_POLL_S = 0.2


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class KubeApp:
    def __init__(self, sim: KubeSim):
        self.sim = sim
        self.world = sim.world

    def _record(self, action: str, status: int, error: str | None, params: dict[str, Any]) -> None:
        self.world.calls.record("k8s", action, status, error_code=error, params=params)

    async def endpoint(self, request: Request) -> Response:
        name = request.path_params["cluster"]
        parts = [p for p in request.path_params.get("path", "").split("/") if p]
        action = f"{request.method} {request.url.path}"
        params: dict[str, Any] = {"cluster": name, **dict(request.query_params)}
        body = await request.body()
        verdict = self.world.quotas.check("k8s", action)
        if verdict is not None:
            error = throttled(
                "Too many requests, please try again later (per-minute quota of this request used up).",
                max(1, math.ceil(verdict.wait_s)),
            )
            self._record(action, error.code, error.reason, params)
            return _json(error.status(), error.code, error.headers)
        decision = self.world.faults.check("k8s", action)
        if decision is not None:
            if decision.timeout:
                self._record(action, 504, "timeout", params)
                await asyncio.sleep((decision.delay_ms or DEFAULT_TIMEOUT_HOLD_MS) / 1000)
                return _json(timed_out().status(), 504)
            if decision.delay_ms:
                await asyncio.sleep(decision.delay_ms / 1000)
            if decision.is_error:
                error = fault_error(decision)
                self._record(action, error.code, error.reason, params)
                return _json(error.status(), error.code, error.headers)
        try:
            response = self._dispatch(request, name, parts, body)
        except KubeError as error:
            self._record(action, error.code, error.reason, params)
            return _json(error.status(), error.code, error.headers)
        except Exception:  # a bug or an input shape nobody validated: answer like the API server would
            log.exception("kube request %s failed", action)
            error = KubeError(
                500, "InternalError", f"an error on the server prevented {action} from completing"
            )
            self._record(action, 500, error.reason, params)
            return _json(error.status(), 500)
        self._record(action, response.status, None, params)
        if response.watch is not None:
            return StreamingResponse(self._watch(name, response.watch), media_type="application/json")
        if isinstance(response.body, str):
            return PlainTextResponse(response.body, status_code=response.status)
        return _json(response.body, response.status, response.headers)

    def _dispatch(self, request: Request, name: str, parts: list[str], body: bytes) -> ApiResponse:
        with self.world.lock:
            self.world.tick()
            cluster = self.sim.clusters.get(name)
            if cluster is None:
                raise KubeError(
                    404,
                    "NotFound",
                    f'cluster "{name}" is not known to the sandbox: no ECS instance '
                    "with its bootstrap block has run yet",
                )
            if not cluster.api_up:
                state = (
                    "is starting"
                    if cluster.api_ready_at is not None
                    else "is unreachable: no control-plane instance is Running in a zone without an outage"
                )
                raise unavailable(f'the API server of cluster "{name}" {state}')
            anonymous = bool(parts) and parts[0] in ANONYMOUS_PATHS
            if not anonymous:
                identity = authenticate(cluster, tls_chain(request.scope), _bearer(request), self.world.now())
                if identity is None:
                    raise unauthorized()
                if not identity.admin:
                    raise forbidden(identity.user, request.method.lower(), parts[-1] if parts else "/")
            server = f"127.0.0.1:{request.url.port or 443}"
            api_request = ApiRequest(
                request.method,
                parts,
                dict(request.query_params),
                request.headers.get("accept", "application/json"),
                request.headers.get("content-type", "application/json"),
                body,
            )
            return handle(cluster, api_request, self.world.now(), server)

    async def _watch(self, name: str, spec: WatchSpec) -> AsyncIterator[bytes]:
        """Stream watch events from the store's history until the timeout or the cluster goes away."""
        deadline = time.monotonic() + min(spec.timeout_s, 1800)
        with self.world.lock:
            cluster = self.sim.clusters.get(name)
            if cluster is None:
                return
            store = cluster.store
            last = store.rv
            pending: list[tuple[str, dict[str, Any]]] = []
            if spec.since is None:
                pending = [("ADDED", obj) for obj in store.items(spec.rt, spec.namespace)]
            elif (store.history and store.history[0][0] > spec.since + 1) or spec.since > store.rv:
                gone = KubeError(410, "Expired", f"too old resource version: {spec.since} ({store.rv})")
                yield (json.dumps({"type": "ERROR", "object": gone.status()}) + "\n").encode()
                return
            else:
                last = spec.since
        while True:
            for kind, obj in pending:
                meta = obj["metadata"]
                if spec.namespace is not None and meta.get("namespace") != spec.namespace:
                    continue
                if not spec.label_test(meta.get("labels") or {}) or not spec.field_test(obj):
                    continue
                yield (json.dumps({"type": kind, "object": obj}) + "\n").encode()
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(WATCH_POLL_S)
            with self.world.lock:
                cluster = self.sim.clusters.get(name)
                if cluster is None or cluster.store is not store or not cluster.api_up:
                    return
                pending = [
                    (kind, obj) for rv, kind, key, obj in store.history if rv > last and key == spec.rt.key
                ]
                last = store.rv


def build_kube_app(sim: KubeSim) -> Any:
    app = KubeApp(sim)

    async def unknown(request: Request) -> Response:
        return _json(path_not_found().status(), 404)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            Route("/k8s/{cluster}", app.endpoint, methods=methods),
            Route("/k8s/{cluster}/{path:path}", app.endpoint, methods=methods),
            Route("/{path:path}", unknown, methods=methods),
        ]
    )
