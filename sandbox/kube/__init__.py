"""Simulated Kubernetes clusters on the simulated ECS instances (the sandbox's Kubernetes API port).

``python -m sandbox`` uses three names from here: ``build_app(world)`` (the ASGI app served over TLS),
``control_routes(world)`` (routes added to the control API) and ``tls_files(state_dir)`` (the sandbox
CA and the serving certificate, created on first start).
"""

from __future__ import annotations

import weakref
from typing import Any

from sandbox.kube.tls import tls_files

__all__ = ["build_app", "control_routes", "simulation", "tls_files"]

_SIMS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def simulation(world: Any) -> Any:
    """The ``KubeSim`` attached to ``world`` (created and registered on first use)."""
    from sandbox.kube.sim import KubeSim
    from sandbox.kube.timings import TimingsError

    sim = _SIMS.get(world)
    if sim is None:
        try:
            sim = KubeSim(world)
        except TimingsError as error:  # a bad setting ends the sandbox with one line, not a traceback
            raise SystemExit(f"sandbox: {error}") from error
        _SIMS[world] = sim
    return sim


def build_app(world: Any) -> Any:
    from sandbox.kube.app import build_kube_app

    return build_kube_app(simulation(world))


def control_routes(world: Any) -> list[Any]:
    from sandbox.kube.control import control_routes_for

    return control_routes_for(simulation(world))
