"""``python -m sandbox``: the local Alibaba Cloud region, DNS and Kubernetes API in one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn

from sandbox.app import build_http_app
from sandbox.config import Settings, SettingsError
from sandbox.dns_server import DnsServer
from sandbox.persistence import StateSaver
from sandbox.world import World

log = logging.getLogger("sandbox")

# Idle keep-alive well above any client's pause between calls (kubectl drain waits 5 s between evictions),
# close to a real kube-apiserver's; a server that drops idle connections sooner races pooled clients.
KEEP_ALIVE_S = 120


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the sandbox (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _load_kube() -> Any:
    try:
        from sandbox import kube

        return kube.build_app, kube.control_routes, kube.server_tls
    except (ImportError, AttributeError) as error:
        log.info("Kubernetes API not available, running without it: %s", error)
        return None


async def _ticker(world: World, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        world.tick()


async def serve(settings: Settings) -> int:
    world = World(settings.seed, settings.timings, settings.state_dir)
    world.quotas.default_window_s = settings.quota_window_s
    world.quotas.clear()
    try:
        restored = world.restore()
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        log.error(
            "cannot restore %s: %s (move the file away to start from the seeded world)",
            world.state_file,
            error,
        )
        return 1
    info: dict[str, Any] = {
        "restored": restored,
        "ports": {"http": settings.http_port, "kube": None, "dns": settings.dns_port},
        "kube": False,
    }
    kube = _load_kube()
    kube_app = None
    extra_routes = []
    kube_tls: Any = None
    if kube is not None:
        build_app, kube_control_routes, server_tls = kube
        kube_app = build_app(world)
        extra_routes = list(kube_control_routes(world))
        kube_tls = server_tls(world, settings.state_dir, settings.tls_names)
        info["kube"] = True
        info["ports"]["kube"] = settings.kube_port

    saver = StateSaver(world)
    http_app = build_http_app(world, saver.save_if_changed, info, extra_routes)
    servers: list[uvicorn.Server] = []
    dns = DnsServer(world, settings.host, settings.dns_port)
    await dns.start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    tasks = [asyncio.create_task(_ticker(world, settings.tick_ms / 1000)), asyncio.create_task(saver.run())]
    server_tasks = []
    if kube_app is not None:
        kube_server = _Server(
            uvicorn.Config(
                kube_app,
                host=settings.host,
                port=settings.kube_port,
                log_level="warning",
                lifespan="off",
                # the clusters' CAs verify client certificates (mTLS); the protocol hands them to the app
                ssl_context_factory=lambda _config, _default: kube_tls[0],
                http=kube_tls[1],
                timeout_graceful_shutdown=2,
                timeout_keep_alive=KEEP_ALIVE_S,
            )
        )
        servers.append(kube_server)
        server_tasks.append(asyncio.create_task(kube_server.serve()))
        while not kube_server.started and not server_tasks[-1].done():
            await asyncio.sleep(0.02)
    http_server = _Server(
        uvicorn.Config(
            http_app,
            host=settings.host,
            port=settings.http_port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    )
    servers.append(http_server)
    server_tasks.append(asyncio.create_task(http_server.serve()))
    while not http_server.started and not server_tasks[-1].done():
        await asyncio.sleep(0.02)
    if http_server.started:
        log.warning(
            "sandbox ready: http %s:%s, dns %s:%s (udp+tcp), kube %s; state %s (%s)",
            settings.host,
            settings.http_port,
            settings.host,
            settings.dns_port,
            f"{settings.host}:{settings.kube_port}" if kube_app is not None else "off",
            world.state_file,
            "restored" if restored else "seeded",
        )
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([stopped, *server_tasks], return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*server_tasks, return_exceptions=True)
    for task in tasks:
        task.cancel()
    await dns.stop()
    saver.save_if_changed()
    return 0 if http_server.started else 1


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
