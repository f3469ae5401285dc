"""Benchmark: the Service registry's reconcile for 500 exported Services over 5 clusters.

A sandbox process (``python -m sandbox``, free ports, its own state dir) stands in for Alidns; the
run goes through the task code's path: ``DnsHook.list_zone`` (every page), the pure planner, the GX
gate, ``DnsHook.apply_name_plan`` for every name. Measured: API calls by action (the sandbox's call
log) and wall time, for a reconcile from an empty zone and for a converged one; the planner alone
on that fleet (median of several runs).

The fleet: 100 Services (``svc000``..``svc099`` in namespace ``shop``) exported in each of 5 clusters,
so 500 per-cluster names and 100 global names of 5 weighted records. The Services are given as the
``observe_cluster`` task returns them: the sandbox caps load balancers at 60 per region, far below
500, so the Kubernetes side (one ``list`` call per cluster, asserted by the tests) is not run here.

Writes bench/results/register_services.md and .json.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

CLUSTERS = 5
SERVICES_PER_CLUSTER = 100
PLANNER_REPEATS = 5
RESULTS = REPO_ROOT / "bench" / "results"


def fleet_views() -> dict[str, Any]:
    from include.services.model import ClusterView, ExportedService

    views = {}
    for c in range(CLUSTERS):
        name = f"bench{c}"
        services = tuple(
            ExportedService(name, "shop", f"svc{s:03d}", (f"198.18.{c}.{s + 1}",), weight=10 + 10 * c)
            for s in range(SERVICES_PER_CLUSTER)
        )
        views[name] = ClusterView(name, "observed", services=services)
    return views


def reconcile(dns: Any, settings: Any, views: dict[str, Any], sandbox: Any) -> dict[str, Any]:
    """One reconcile as the plan and apply tasks do it; its calls and timings."""
    from include.services.plan import plan_registrations
    from include.services.quality import check_gate

    since = sandbox.calls()["next"]
    started = time.perf_counter()
    records = dns.list_zone(settings.domain)
    read_s = time.perf_counter() - started
    t = time.perf_counter()
    plan = plan_registrations(settings, records, views)
    plan_s = time.perf_counter() - t
    t = time.perf_counter()
    min_ttl = dns.domain_min_ttl(settings.domain)[0] if plan.writes_ttl else 1
    gate = check_gate(plan, records, domain=settings.domain, owner=settings.owner, min_ttl=min_ttl)
    gate_s = time.perf_counter() - t
    assert gate.success, gate.failures
    t = time.perf_counter()
    failures = [f for name in plan.names if (f := dns.apply_name_plan(settings.domain, name)[1])]
    apply_s = time.perf_counter() - t
    total_s = time.perf_counter() - started
    assert not failures, failures[:3]
    calls = Counter(c["action"] for c in _calls(sandbox, since) if c["product"] == "alidns")
    return {
        "records_read": len(records),
        "changes": len(plan.changes),
        "calls": dict(sorted(calls.items())),
        "reads": sum(n for a, n in calls.items() if a.startswith("Describe")),
        "writes": sum(n for a, n in calls.items() if not a.startswith("Describe")),
        "seconds": {
            "total": round(total_s, 2),
            "read_zone": round(read_s, 2),
            "plan": round(plan_s, 3),
            "gate": round(gate_s, 2),
            "apply": round(apply_s, 2),
        },
    }


def _calls(sandbox: Any, since: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = since
    while True:
        page = sandbox.calls(cursor)
        found += page["calls"]
        if not page["calls"] or page["next"] == cursor:
            return found
        cursor = page["next"]


def planner_time(settings: Any, records: list[Any], views: dict[str, Any]) -> float:
    from include.services.plan import plan_registrations

    samples = []
    for _ in range(PLANNER_REPEATS):
        t = time.perf_counter()
        plan_registrations(settings, records, views)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> int:
    from include.loopback import PROXY_VARIABLES
    from include.services.model import RegistrationSettings
    from tests.fixtures.sandbox import SandboxHandle

    for name in PROXY_VARIABLES:
        os.environ.pop(name, None)
    home = Path(tempfile.mkdtemp(prefix="yunfleet-bench-services-"))
    sandbox = SandboxHandle(home / "sandbox")
    sandbox.start()
    try:
        os.environ["AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT"] = json.dumps(
            {
                "conn_type": "alibaba_cloud",
                "login": "sandbox-ak",
                "password": "sandbox-secret",
                "extra": {"region_id": "cn-hangzhou", "endpoint": sandbox.endpoint, "protocol": "http"},
            }
        )
        from include.audit import AuditStore
        from include.registry import create_registry_engine, migrate
        from operators.hooks.dns import DnsHook

        engine = create_registry_engine(f"sqlite:///{home / 'yunfleet.db'}")
        migrate(engine)
        dns = DnsHook(audit_sink=AuditStore(engine))
        settings = RegistrationSettings(domain="fleet.example.com", owner="fleet/bench")
        views = fleet_views()
        empty_planner = planner_time(settings, [], views)
        from_empty = reconcile(dns, settings, views, sandbox)
        converged = reconcile(dns, settings, views, sandbox)
        records = dns.list_zone(settings.domain)
        converged_planner = planner_time(settings, records, views)
    finally:
        sandbox.close()
    expected_reads = math.ceil(converged["records_read"] / 500)
    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "fleet": {"clusters": CLUSTERS, "exported_services": CLUSTERS * SERVICES_PER_CLUSTER},
        "from_empty": from_empty,
        "converged": converged,
        "converged_target": {"dns_reads": expected_reads, "kubernetes_reads": CLUSTERS, "writes": 0},
        "planner_s": {"empty_zone": round(empty_planner, 4), "converged_zone": round(converged_planner, 4)},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "register_services.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "register_services.md").write_text(render(result))
    print(render(result))
    ok = converged["writes"] == 0 and converged["reads"] == expected_reads
    return 0 if ok else 1


def render(r: dict[str, Any]) -> str:
    def calls(block: dict[str, Any]) -> str:
        return ", ".join(f"{a} {n}" for a, n in block["calls"].items()) or "none"

    e, c = r["from_empty"], r["converged"]
    lines = [
        "# register_services: 500 exported Services over 5 clusters",
        "",
        f"Measured {r['measured_at']} (Python {r['python']}, {r['machine']}, load average "
        f"{', '.join(map(str, r['load_average']))}) by `bench/register_services.py` against the sandbox.",
        "The fleet: 100 Services exported in each of 5 clusters: 500 per-cluster names and 100 global "
        "names of 5 weighted records, each name with its ownership TXT.",
        "",
        "| reconcile | records read | changes | Alidns reads | Alidns writes "
        "| total s | read s | plan s | gate s | apply s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, block in (("from empty", e), ("converged", c)):
        s = block["seconds"]
        lines.append(
            f"| {label} | {block['records_read']} | {block['changes']} | {block['reads']} "
            f"| {block['writes']} | {s['total']} | {s['read_zone']} | {s['plan']} | {s['gate']} "
            f"| {s['apply']} |"
        )
    t = r["converged_target"]
    lines += [
        "",
        f"- Calls from empty: {calls(e)}.",
        f"- Calls when converged: {calls(c)} (target: {t['dns_reads']} = ceil(records / 500) reads, "
        f"zero writes; plus one Service list per cluster, {t['kubernetes_reads']}, not run here).",
        f"- Planner alone (median of {PLANNER_REPEATS}): {r['planner_s']['empty_zone']} s on the empty zone, "
        f"{r['planner_s']['converged_zone']} s on the converged zone.",
        "- The gate runs only when there is something to write; its time is mostly the first import of "
        "Great Expectations in the process.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
