"""``python -m yunfleet.devenv``: the local platform's command (``make run``, ``make prepare``).

- ``prepare``: state dir, airflow.cfg, metadata DB migration, connections, pools (idempotent).
- ``run``: ``prepare``, then start the sandbox and Airflow, print where things are, stop on Ctrl-C.
- ``env``: print ``export`` lines for using the ``airflow`` CLI against the local platform.

``--celery`` (``prepare``, ``run``): the distributed topology of docker-compose.yaml instead of
``airflow standalone``: CeleryExecutor, PostgreSQL and Redis on this machine, each Airflow component
its own process (:mod:`yunfleet.devenv.distributed`; state in ``.yunfleet/celery/``).

Exit codes: 0 done (or stopped with Ctrl-C); 1 a process failed to start or died.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from include.loopback import PROXY_VARIABLES
from yunfleet.devenv.config import DevSettings, process_env
from yunfleet.devenv.platform import LocalPlatform
from yunfleet.devenv.procs import StartupError


def _platform(settings: DevSettings, celery: bool) -> LocalPlatform:
    if not celery:
        return LocalPlatform(settings)
    from yunfleet.devenv.distributed import CeleryTopology, DistributedPlatform

    return DistributedPlatform(settings, CeleryTopology.from_env())


def _run(settings: DevSettings, celery: bool = False) -> int:
    platform = _platform(settings, celery)
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print(f"Preparing {settings.home} ...", flush=True)
        platform.prepare()
        print(f"Starting the sandbox and Airflow (follow: tail -f {platform.airflow_log}) ...", flush=True)
        platform.start_all()
        print(platform.banner(), flush=True)
        while (dead := platform.dead_process()) is None:
            time.sleep(1)
        print(dead.failure(f"exited unexpectedly (code {dead.popen.returncode})"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        return 0
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        platform.stop()
        print("Stopped.", flush=True)


def _print_env(settings: DevSettings) -> int:
    env = process_env(settings)
    names = [
        "AIRFLOW_HOME",
        "YUNFLEET_HOME",
        "YUNFLEET_API_HOST",
        "YUNFLEET_API_PORT",
        "YUNFLEET_WORKER_LOG_PORT",
        "YUNFLEET_TRIGGER_LOG_PORT",
        "SANDBOX_STATE_DIR",
        "SANDBOX_HTTP_PORT",
        "SANDBOX_KUBE_PORT",
        "SANDBOX_DNS_PORT",
        "NO_PROXY",
        "no_proxy",
    ]
    for name in names:
        print(f"export {name}={shlex.quote(env[name])}")
    print("unset " + " ".join(PROXY_VARIABLES))
    print(f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m yunfleet.devenv",
        description="The local Yunfleet platform: sandbox + airflow standalone, as `make run` starts it.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    celery_help = "the CeleryExecutor topology (Postgres, Redis, one process per component)"
    prepare = sub.add_parser("prepare", help="create state, config, DB, connections and pools")
    prepare.add_argument("--celery", action="store_true", help=celery_help)
    run = sub.add_parser("run", help="prepare, then run the sandbox and airflow standalone until Ctrl-C")
    run.add_argument("--celery", action="store_true", help=celery_help)
    sub.add_parser("env", help="print shell exports for the airflow CLI against this platform")
    args = parser.parse_args(argv)
    celery = bool(getattr(args, "celery", False))
    if celery:
        from yunfleet.devenv.distributed import distributed_settings

        settings = distributed_settings()
    else:
        settings = DevSettings.from_env()
    if args.command == "prepare":
        try:
            _platform(settings, celery).prepare()
        except StartupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "env":
        return _print_env(settings)
    return _run(settings, celery)


if __name__ == "__main__":
    sys.exit(main())
