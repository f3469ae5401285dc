"""Simulated Kubernetes clusters on the simulated ECS instances (the sandbox's Kubernetes API port).

``python -m sandbox`` uses these names from here: ``build_app(world)`` (the ASGI app served over TLS),
``control_routes(world)`` (routes added to the control API), ``tls_files(state_dir)`` (the sandbox
CA and the serving certificate, created on first start) and ``server_tls(world, state_dir)`` (the
TLS context that accepts client certificates of the clusters' CAs, and the uvicorn protocol class
that hands them to the app).
"""

from __future__ import annotations

import weakref
from typing import Any

from sandbox.kube.tls import tls_files

__all__ = ["build_app", "control_routes", "server_tls", "simulation", "tls_files"]

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


def server_tls(world: Any, state_dir: Any, names: tuple[str, ...] = ()) -> tuple[Any, type]:
    """``(ssl.SSLContext, protocol class)`` for the Kubernetes port (mTLS with the clusters' CAs);
    ``names``: DNS names the serving certificate carries besides 127.0.0.1 and localhost."""
    from sandbox.kube.tls import ClientTrust, client_cert_protocol

    trust = ClientTrust(*tls_files(state_dir, names))
    sim = simulation(world)
    sim.on_cluster_ca.append(trust.add)
    for cluster in sim.clusters.values():
        trust.add(cluster.ca_cert_pem)
    return trust.context, client_cert_protocol()
