"""The Fleet view's registration with Airflow: loaded from the plugins folder, mounted at /yunfleet by
the API server's own code, linked in the UI's navigation, and cheap to load everywhere else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from plugins.fleet_view.app import create_app
from plugins.fleet_view_plugin import FleetViewPlugin, LazyFleetApp
from tests.plugins.fleet_view_support import FakeSources, seeded_registry, token_security

REPO = Path(__file__).resolve().parents[2]


def _load_plugins_folder() -> tuple[list[Any], dict[str, str], set[str]]:
    """Airflow's own loader for ``[core] plugins_folder`` (private in 3.3; ``airflow plugins`` uses it),
    honouring plugins/.airflowignore; returns the plugins, the errors and the module names it added."""
    from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory

    before = set(sys.modules)
    try:
        plugins, errors = _load_plugins_from_plugin_directory(
            str(REPO / "plugins"), ignore_file_syntax="glob"
        )
        added = set(sys.modules) - before
    finally:
        for name in set(sys.modules) - before:
            if "." not in name:  # plugin files are imported under their bare names
                sys.modules.pop(name, None)
    return plugins, errors, added


def test_airflow_loads_the_plugin_and_not_the_package_files_one_by_one() -> None:
    plugins, errors, added = _load_plugins_folder()
    assert errors == {}
    (fleet,) = [p for p in plugins if p.name == FleetViewPlugin.name]
    (entry,) = fleet.fastapi_apps
    assert entry["url_prefix"] == "/yunfleet" and type(entry["app"]).__name__ == "LazyFleetApp"
    (view,) = fleet.external_views
    assert view["href"] == "/yunfleet/" and view["url_route"] == "fleet" and view["nav_top_level"] is True
    assert (
        view["icon"] == "/yunfleet/static/icon.svg" and (REPO / "plugins/fleet_view/static/icon.svg").exists()
    )
    # plugins/fleet_view/ is ignored by the loader: its files are not imported under bare names
    assert not {"app", "live", "sources", "security", "schemas"} & added


def test_the_api_server_mounts_it_at_yunfleet(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow import plugins_manager
    from airflow.api_fastapi.app import init_plugins

    plugin = FleetViewPlugin()
    monkeypatch.setattr(plugins_manager, "get_fastapi_plugins", lambda: (plugin.fastapi_apps, []))
    root = FastAPI()
    init_plugins(root)
    assert [getattr(r, "path", None) for r in root.routes if type(r).__name__ == "Mount"] == ["/yunfleet"]


async def test_the_app_is_built_on_its_first_request_only(tmp_path: Path) -> None:
    engine, key, _ = seeded_registry(tmp_path)
    built: list[FastAPI] = []

    def factory() -> FastAPI:
        built.append(create_app(FakeSources(engine, key), token_security()))
        return built[-1]

    lazy = LazyFleetApp(factory)
    assert built == [] and "Fleet view" in repr(lazy)
    root = FastAPI()
    root.mount("/yunfleet", lazy)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=root), base_url="http://airflow") as http:
        for _ in range(2):
            answer = await http.get(
                "/yunfleet/api/clusters?live=false", headers={"Authorization": "Bearer viewer-token"}
            )
            assert answer.status_code == 200 and answer.json()["clusters"][0]["name"] == "alpha"
    assert len(built) == 1


def test_loading_the_plugin_imports_neither_fastapi_nor_the_view() -> None:
    # every process that loads plugins (scheduler, each task) imports the module; only the API server
    # serves the view
    code = (
        "import sys, airflow.plugins_manager\n"
        "before = set(sys.modules)\n"
        "import plugins.fleet_view_plugin as p\n"
        "assert p.FleetViewPlugin.fastapi_apps\n"
        "heavy = ('fastapi', 'starlette', 'sqlalchemy', 'plugins.fleet_view.', 'include.', 'operators.')\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
