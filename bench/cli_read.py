"""Benchmark: how fast the ``yunfleet`` read commands answer (target: under 1 s on this machine).

Each command runs in a fresh process, as a user types it, with only the API address and a login in
its environment (``YUNFLEET_API_URL``, ``YUNFLEET_API_USER``, ``YUNFLEET_API_PASSWORD``): ``yunfleet
clusters``, ``yunfleet audit <ticket>`` and ``yunfleet kubeconfig <cluster>``, ``RUNS`` times each after
one warm-up run; wall time of the whole process (start, imports, login, the Fleet API call, output).
For scale: ``python -c pass`` (interpreter start) and ``python -c "import airflow.sdk"`` (what a
command that imports Airflow pays before doing anything).

Where the Fleet API runs:

- default: a throwaway platform (``bench/_platform.py``: the sandbox and ``airflow standalone``, as
  ``make run``) whose registry is seeded with ``CLUSTERS`` clusters and ``AUDIT_ROWS`` audit rows; the
  commands log in through Airflow's ``/auth/token`` and read through the plugin in Airflow's API server;
- ``--url URL``: a running platform as it is (``YUNFLEET_API_PASSWORD`` or the local password file);
- ``--stub``: the Fleet view's app on a seeded SQLite registry behind a stand-in login, served on
  loopback by uvicorn: the client's own cost without Airflow's API server.

Writes bench/results/cli_read.md (the mode is in the file).
"""

from __future__ import annotations

import argparse
import configparser
import os
import platform as host
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

RESULTS = REPO_ROOT / "bench" / "results" / "cli_read.md"
YUNFLEET = str(Path(sys.executable).parent / "yunfleet")
RUNS = 10
TARGET_S = 1.0
CLUSTERS = 20
AUDIT_ROWS = 2000
TICKET = "OPS-BENCH-1"


def seed(registry_url: str, fernet_key: str) -> str:
    """``CLUSTERS`` clusters (the first with credentials) and ``AUDIT_ROWS`` audit rows, 40 of them for
    ``TICKET``; returns the cluster with credentials."""
    from include.audit import AuditRecord, AuditStore
    from include.provisioning.pki import generate_credentials
    from include.registry import CredentialCipher, FleetRegistry, create_registry_engine, migrate

    engine = create_registry_engine(registry_url)
    migrate(engine)
    registry = FleetRegistry(engine, CredentialCipher(fernet_key))
    zones = ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    for n in range(CLUSTERS):
        name = f"bench-{n:02d}"
        spec = {"kubernetes_version": "1.31", "zones": zones}
        registry.upsert_cluster(
            name,
            region_id="cn-hangzhou",
            domain="fleet.example.com",
            spec=spec,
            state="ready",
            ticket_id=f"OPS-B{n}",
        )
        for zone in zones:
            registry.upsert_node_pool(
                name,
                "general",
                zone_id=zone,
                instance_type="ecs.g7.large",
                min_size=1,
                max_size=10,
                desired_size=3,
            )
    registry.put_credentials("bench-00", generate_credentials("bench-00").to_json())
    audit = AuditStore(engine)
    start = datetime.now(UTC) - timedelta(days=1)
    for i in range(AUDIT_ROWS):
        ticket = TICKET if i % 50 == 0 else f"OPS-B{i % CLUSTERS}"
        audit.write(
            AuditRecord(
                product="ecs",
                action="RunInstances",
                outcome="ok",
                target=f"bench-{i % CLUSTERS:02d}/general",
                request={"Amount": 1},
                cluster=f"bench-{i % CLUSTERS:02d}",
                dag_id="provision_cluster",
                run_id=f"bench__{i // 100}",
                task_id="workers",
                ticket_id=ticket,
                occurred_at=start + timedelta(seconds=30 * i),
            )
        )
    engine.dispose()
    return "bench-00"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    return time.perf_counter() - started, out


def measure(argv: list[str], env: dict[str, str], runs: int = RUNS) -> dict[str, Any]:
    _, first = timed(argv, env)  # warm-up: the OS file cache, the server's first request
    if first.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({first.returncode}): {first.stderr.strip()[-500:]}")
    times = []
    for _ in range(runs):
        elapsed, out = timed(argv, env)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr[-300:]}")
        times.append(elapsed)
    times.sort()
    return {
        "median": statistics.median(times),
        "p90": times[min(len(times) - 1, round(0.9 * (len(times) - 1)))],
        "max": times[-1],
        "stdout_lines": len(first.stdout.splitlines()),
    }


def airflow_imported(env: dict[str, str]) -> list[str]:
    code = (
        "import sys\nfrom yunfleet.cli import main\nmain(['clusters'])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'airflow_client', 'sqlalchemy'}),"
        " file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    return [line for line in out.stderr.splitlines() if line.startswith("[")][-1:]


@contextmanager
def stub_server() -> Iterator[tuple[str, str, str, str, str]]:
    """The Fleet app behind a stand-in login; yields (url, user, password, cluster, ticket)."""
    from cryptography.fernet import Fernet

    from plugins.fleet_view.app import create_app
    from tests.plugins.fleet_view_support import USERS, FakeSources, airflow_like, serve, token_security

    with tempfile.TemporaryDirectory(prefix="yunfleet-bench-cli-") as tmp:
        key = Fernet.generate_key().decode()
        url = f"sqlite:///{Path(tmp) / 'registry.db'}"
        cluster = seed(url, key)
        from include.registry import create_registry_engine

        app = airflow_like(create_app(FakeSources(create_registry_engine(url), key), token_security()))
        with serve(app) as base:
            yield base, "admin", USERS["admin"][0], cluster, TICKET


@contextmanager
def platform_server() -> Iterator[tuple[str, str, str, str, str]]:
    """A throwaway platform with a seeded registry; yields (url, user, password, cluster, ticket)."""
    from _platform import bench_platform

    with bench_platform(timings="fast") as bench:
        settings = bench.local.settings
        cfg = configparser.RawConfigParser()
        cfg.read(settings.airflow_cfg)
        cluster = seed(settings.registry_url, cfg.get("core", "fernet_key"))
        yield settings.base_url, "admin", bench.local.password, cluster, TICKET


@contextmanager
def running_server(url: str) -> Iterator[tuple[str, str, str, str, str]]:
    """A platform that is already up; the first cluster with credentials, and its ticket."""
    from yunfleet.cli.config import api_password
    from yunfleet.devenv.config import DevSettings
    from yunfleet.fleet_api import FleetApi

    user = os.environ.get("YUNFLEET_API_USER", "admin")
    password = api_password(DevSettings.from_env(), user)
    with FleetApi(url, user, password) as api:
        clusters = [c for c in api.clusters() if c["has_credentials"]]
    first = clusters[0] if clusters else {}
    yield url, user, password, first.get("name", ""), first.get("ticket_id") or ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--url", help="measure against this running platform")
    group.add_argument(
        "--stub", action="store_true", help="the Fleet app behind a stand-in login, no Airflow"
    )
    args = parser.parse_args()
    if args.stub:
        mode, server = (
            "stub: the Fleet app on uvicorn with a stand-in login (no Airflow API server)",
            stub_server(),
        )
    elif args.url:
        mode, server = f"a running platform at {args.url}", running_server(args.url)
    else:
        mode = "a throwaway platform (sandbox + airflow standalone, as make run), seeded registry"
        server = platform_server()
    rows: list[tuple[str, dict[str, Any]]] = []
    with server as (url, user, password, cluster, ticket):
        env = {
            **os.environ,
            "YUNFLEET_API_URL": url,
            "YUNFLEET_API_USER": user,
            "YUNFLEET_API_PASSWORD": password,
        }
        commands = [["clusters"]] + ([["audit", ticket]] if ticket else [])
        commands += [["kubeconfig", cluster]] if cluster else []
        for command in commands:
            rows.append((f"yunfleet {' '.join(command)}", measure([YUNFLEET, *command], env)))
            print(f"{rows[-1][0]}: median {rows[-1][1]['median']:.3f} s", flush=True)
        imported = airflow_imported(env)
    reference = [
        ("python -c pass", measure([sys.executable, "-c", "pass"], dict(os.environ), runs=5)),
        (
            'python -c "import airflow.sdk"',
            measure([sys.executable, "-c", "import airflow.sdk"], dict(os.environ), runs=5),
        ),
    ]
    lines = [
        "# `yunfleet` read commands: time to answer",
        "",
        f"Generated by `bench/cli_read.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {host.node()} "
        f"({os.cpu_count()} CPUs, Python {host.python_version()}). Fleet API: {mode}.",
        f"Each command: a fresh process, {RUNS} runs after one warm-up; wall time of the whole process. "
        f"Target: under {TARGET_S:g} s.",
        "",
        "| command | median (s) | p90 (s) | max (s) | under target (p90) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, m in rows:
        ok = "yes" if m["p90"] < TARGET_S else "**no**"
        lines.append(f"| `{name}` | {m['median']:.3f} | {m['p90']:.3f} | {m['max']:.3f} | {ok} |")
    lines += ["", "For scale (5 runs):", "", "| process | median (s) |", "| --- | ---: |"]
    lines += [f"| `{name}` | {m['median']:.3f} |" for name, m in reference]
    lines += [
        "",
        "Modules of Airflow, its REST client or SQLAlchemy imported by `yunfleet clusters`: "
        f"{imported[0] if imported else '?'}.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")
    return 0 if all(m["p90"] < TARGET_S for _, m in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
