"""Benchmark: zone outage -> SLB weights 0, and -> DNS updated, over 10 outages.

On `make run`'s platform (sandbox ``demo`` timings, Airflow standalone with its triggerer) in a
temporary home: cluster ``bench-a`` (workers in ``cn-hangzhou-h`` and ``-i``) and cluster ``bench-b``
(only ``-i``), each with an exported LoadBalancer Service ``front`` in namespace ``default``; the
``zone_failover`` and ``register_services`` DAGs unpaused. Zone health as shipped: the watcher probes
every 5 s, 3 bad probes fail a zone; only recovery is shortened (2 good probes over 5 s, 0.5 s between
restore steps) so that the ten outages fit in minutes.

Each try: ``POST /_sandbox/zones/cn-hangzhou-i {"outage": true}`` at ``t0``; then, polled every 0.25 s
through the official SLB SDK and dnspython against the sandbox's DNS server:

- SLB leg: every ``bench-a`` backend in the zone has weight 0 (``DescribeLoadBalancerAttribute``);
- DNS leg: ``front.default.global.<domain>`` no longer answers ``bench-b``'s address in 20 queries
  (a weighted name answers one record per query).

Then the outage ends and the bench waits for the restore before the next try. Targets (issue 12):
SLB <= 20 s, DNS <= 30 s. Writes bench/results/zone_failover.md (every try, median, p90, max).
"""

from __future__ import annotations

import json
import platform as host
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _platform import REPO_ROOT, BenchPlatform, bench_platform

RESULTS = REPO_ROOT / "bench" / "results" / "zone_failover.md"
H, I = "cn-hangzhou-h", "cn-hangzhou-i"  # noqa: E741
DOMAIN = "fleet.example.com"
TRIES = 10
TARGETS = {"slb": 20.0, "dns": 30.0}
RECOVERY = {"recover_after": 2, "stable_window_s": 5, "restore_step_interval_s": 0.5}


def conf(name: str, zones: list[str]) -> dict[str, Any]:
    return {
        "cluster_name": name,
        "ticket_id": "BENCH-ZF",
        "zones": zones,
        "control_plane": {"instance_type": "ecs.g7.large", "count": 1},
        "node_pools": [
            {
                "name": "general",
                "instance_type": "ecs.g7.large",
                "min_size": len(zones),
                "max_size": 4,
                "desired_size": len(zones),
            }
        ],
    }


def wait(what: str, check: Any, timeout: float = 300, poll: float = 0.25) -> float:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(poll)
    return time.time()


#: the sandbox's documented credentials (docs/sandbox.md); the bench never talks to a real region
SANDBOX_KEY = ("sandbox-ak", "sandbox-secret")


def sdk_config(http_port: int) -> Any:
    from alibabacloud_tea_openapi import models as open_api

    key_id, key_secret = SANDBOX_KEY
    return open_api.Config(
        access_key_id=key_id,
        access_key_secret=key_secret,
        region_id="cn-hangzhou",
        endpoint=f"127.0.0.1:{http_port}",
        protocol="http",
    )


class Fleet:
    def __init__(self, bench: BenchPlatform) -> None:
        from alibabacloud_slb20140515.client import Client

        settings = bench.local.settings
        self.bench = bench
        self.dns_port = settings.sandbox_dns_port
        self.slb = Client(sdk_config(settings.sandbox_http_port))

    def weights(self, cluster: str) -> dict[str, int]:
        from alibabacloud_slb20140515 import models

        found = self.slb.describe_load_balancers(
            models.DescribeLoadBalancersRequest(
                region_id="cn-hangzhou",
                tags=json.dumps([{"TagKey": "yunfleet:cluster", "TagValue": cluster}]),
            )
        ).body.to_map()
        out: dict[str, int] = {}
        for lb in (found.get("LoadBalancers") or {}).get("LoadBalancer") or []:
            attr = self.slb.describe_load_balancer_attribute(
                models.DescribeLoadBalancerAttributeRequest(
                    region_id="cn-hangzhou", load_balancer_id=lb["LoadBalancerId"]
                )
            ).body.to_map()
            tags = {t["TagKey"]: t["TagValue"] for t in (attr.get("Tags") or {}).get("Tag") or []}
            if tags.get("yunfleet:role") == "service-lb":
                for b in (attr.get("BackendServers") or {}).get("BackendServer") or []:
                    out[b["ServerId"]] = int(b["Weight"])
        return out

    def seen(self, name: str, queries: int = 20) -> set[str]:
        """Every address ``name`` answered in ``queries`` queries (a weighted name answers one per query)."""
        found: set[str] = set()
        for _ in range(queries):
            found |= self.resolve(name)
        return found

    def resolve(self, name: str) -> set[str]:
        import dns.message
        import dns.query
        import dns.rcode
        import dns.rdatatype

        response = dns.query.udp(
            dns.message.make_query(name, dns.rdatatype.A), "127.0.0.1", port=self.dns_port, timeout=5
        )
        if response.rcode() == dns.rcode.NXDOMAIN:
            return set()
        return {i.address for rrset in response.answer if rrset.rdtype == dns.rdatatype.A for i in rrset}

    def zone_instances(self, cluster: str, zone: str) -> set[str]:
        from alibabacloud_ecs20140526 import models
        from alibabacloud_ecs20140526.client import Client

        settings = self.bench.local.settings
        ecs = Client(sdk_config(settings.sandbox_http_port))
        body = ecs.describe_instances(
            models.DescribeInstancesRequest(
                region_id="cn-hangzhou",
                zone_id=zone,
                page_size=100,
                tag=[models.DescribeInstancesRequestTag(key="yunfleet:cluster", value=cluster)],
            )
        ).body.to_map()
        return {i["InstanceId"] for i in (body.get("Instances") or {}).get("Instance") or []}


def main() -> None:
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    legs: dict[str, list[float]] = {"slb": [], "dns": []}
    with bench_platform(timings="demo") as bench, tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        runs = {n: z for n, z in (("bench-a", [H, I]), ("bench-b", [I]))}
        bench.run_dags("provision_cluster", [conf(name, zones) for name, zones in runs.items()])
        print(f"clusters provisioned in {time.monotonic() - started:.0f} s", flush=True)
        for name in runs:
            core = k8s.CoreV1Api(
                k8s_config.new_client_from_config(str(bench.kubeconfig(name, Path(tmp) / name)))
            )
            core.create_namespaced_service(
                "default",
                {
                    "metadata": {"name": "front", "annotations": {"yunfleet.io/export": "true"}},
                    "spec": {"type": "LoadBalancer", "selector": {"app": "front"}, "ports": [{"port": 80}]},
                },
            )
        set_zone_health(bench, RECOVERY)
        for dag_id in ("zone_failover", "register_services"):
            bench.api.wait_for_dag(dag_id)
            bench.api.set_paused(dag_id, False)
        fleet = Fleet(bench)
        name = f"front.default.global.{DOMAIN}"
        own = {n: f"front.default.{n}.{DOMAIN}" for n in runs}
        wait("both clusters in the global name", lambda: len(fleet.seen(name)) == 2, timeout=600, poll=2)
        b_address = fleet.resolve(own["bench-b"])
        a_in_i = fleet.zone_instances("bench-a", I)
        before = fleet.weights("bench-a")
        time.sleep(12)  # the watcher has read the settings (it rereads them every 10 s)
        for attempt in range(1, TRIES + 1):
            t0 = time.time()
            bench.sandbox("POST", f"/zones/{I}", json={"outage": True})
            slb_at = wait(
                "weights 0", lambda: all(w == 0 for s, w in fleet.weights("bench-a").items() if s in a_in_i)
            )
            dns_at = wait("global name without bench-b", lambda: not (fleet.seen(name) & b_address))
            legs["slb"].append(slb_at - t0)
            legs["dns"].append(dns_at - t0)
            print(f"try {attempt}: SLB {slb_at - t0:.1f} s, DNS {dns_at - t0:.1f} s", flush=True)
            bench.sandbox("POST", f"/zones/{I}", json={"outage": False})
            wait("restored", lambda: fleet.weights("bench-a") == before, timeout=600, poll=1)
            wait("bench-b back", lambda: bool(fleet.seen(name) & b_address), timeout=600, poll=1)
            time.sleep(3)
    write(legs)


def set_zone_health(bench: BenchPlatform, settings: dict[str, Any]) -> None:
    """Merge ``zone_health`` settings into the cloud connection's extra (REST API)."""
    import httpx

    api = bench.api
    headers = {"Authorization": f"Bearer {api.token()}"}
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=30) as client:
        body = client.get("/api/v2/connections/alibaba_cloud_default", headers=headers).json()
        extra = json.loads(body.get("extra") or "{}")
        extra["zone_health"] = settings
        response = client.patch(
            "/api/v2/connections/alibaba_cloud_default",
            params={"update_mask": "extra"},
            headers=headers,
            json={
                "connection_id": body["connection_id"],
                "conn_type": body["conn_type"],
                "extra": json.dumps(extra),
            },
        )
        response.raise_for_status()


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):.1f} s, p90 {p90:.1f} s, max {max(values):.1f} s"


def write(legs: dict[str, list[float]]) -> None:
    verdicts = {k: ("met" if max(v) <= TARGETS[k] else "NOT met") for k, v in legs.items()}
    lines = [
        "# Zone outage -> failover: detection and reaction times",
        "",
        f"Machine: {host.machine()}, Python {host.python_version()}; platform as `make run` starts it "
        "(sandbox `demo` timings), watcher probing every 5 s, 3 bad probes to fail. Reproduce: `make bench` "
        "(or `.venv/bin/python bench/zone_failover.py`).",
        "",
        "| try | outage -> SLB weights 0 (s) | outage -> DNS updated (s) |",
        "|---|---|---|",
        *[
            f"| {i} | {s:.1f} | {d:.1f} |"
            for i, (s, d) in enumerate(zip(legs["slb"], legs["dns"], strict=True), 1)
        ],
        "",
        f"- SLB leg: {summary(legs['slb'])}; target <= {TARGETS['slb']:.0f} s: {verdicts['slb']}.",
        f"- DNS leg: {summary(legs['dns'])}; target <= {TARGETS['dns']:.0f} s: {verdicts['dns']}.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
