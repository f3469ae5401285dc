"""Registers the Fleet view with Airflow: its FastAPI app at ``/yunfleet`` in the API server, and a
top-level "Fleet" entry in the Airflow UI's navigation that shows it inside the UI.

The app is built on its first request (:class:`LazyFleetApp`): Airflow imports every plugin module in
each process that loads plugins (scheduler, DAG processor, every task), and only the API server ever
serves the view, so loading this module imports neither FastAPI nor the view's code.
See docs/fleet-view.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/yunfleet"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LazyFleetApp:
    """An ASGI app that builds ``plugins.fleet_view.app.create_app()`` once, on its first call."""

    def __init__(self, factory: Callable[[], Any] | None = None) -> None:
        self._factory = factory
        self._app: Any = None

    def _build(self) -> Any:
        if self._factory is None:
            from plugins.fleet_view.app import create_app

            return create_app()
        return self._factory()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        return "<Yunfleet Fleet view (plugins.fleet_view.app)>"


class FleetViewPlugin(AirflowPlugin):
    """The Fleet view and its JSON API (``/yunfleet/api/``), linked from Airflow's navigation."""

    name = "yunfleet_fleet_view"
    fastapi_apps = [{"app": LazyFleetApp(), "url_prefix": URL_PREFIX, "name": "Yunfleet Fleet view"}]
    external_views = [
        {
            "name": "Fleet",
            "href": f"{URL_PREFIX}/",
            "url_route": "fleet",
            "destination": "nav",
            "nav_top_level": True,
            "icon": f"{URL_PREFIX}/static/icon.svg",
        }
    ]
