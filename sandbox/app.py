"""The ASGI app on the HTTP port: the RPC endpoint at ``/`` and the control API under ``/_sandbox/``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from sandbox.control import control_routes
from sandbox.core.rpc import RpcEndpoint

if TYPE_CHECKING:
    from sandbox.world import World


def build_http_app(
    world: World,
    persist: Callable[[], None],
    info: dict[str, Any],
    extra_routes: list[BaseRoute] | None = None,
) -> Starlette:
    rpc = RpcEndpoint(world)
    routes: list[BaseRoute] = [
        *control_routes(world, persist, info),
        *(extra_routes or []),
        Route("/", rpc.handle, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes)
