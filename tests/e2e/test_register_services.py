"""register_services end to end: two provisioned clusters, Services exported through the kubernetes
client, runs triggered through the Airflow REST API, names checked with dnspython against the
sandbox's DNS server, calls counted in the sandbox's call log.

The two small clusters are the session's service fleet (tests/fixtures/service_fleet.py, provisioned
in parallel); the cases build on each other in file order. The DAG's schedule is paused again when
the module ends. Three runs only: behaviour in depth (recovery, foreign records, hand damage, paging
over 1,200 records, faults, TTL bounds, the decommission hook) is covered without Airflow in
tests/flows/test_register_services.py; here the DAG, its wiring and the audit trail are exercised.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from alibabacloud_alidns20150109 import models as dns_models

from tests.fixtures.provisioning import (
    DOMAIN,
    READ_PREFIXES,
    all_calls,
    registry_rows,
    resolve,
)
from tests.fixtures.service_fleet import EAST, WEST, ZONES
from tests.fixtures.service_fleet import trigger as _trigger

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

DAG = "register_services"


@pytest.fixture(scope="module")
def fleet(platform: Any, service_fleet: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The session's two single-zone clusters (tests/fixtures/service_fleet.py); the DAG is paused again
    when the module ends."""
    try:
        yield service_fleet
    finally:
        platform.client.rest.set_paused(DAG, True)


def export(fleet: dict[str, Any], cluster: str, name: str, weight: int | None = None) -> str:
    """A LoadBalancer Service annotated for export; returns its SLB address (sandbox CCM)."""
    from tests.sandbox.kube.helpers import wait_until

    core = fleet["core"][cluster]
    annotations = {"yunfleet.io/export": "true"}
    if weight is not None:
        annotations["yunfleet.io/weight"] = str(weight)
    core.create_namespaced_service(
        "shop",
        {
            "metadata": {"name": name, "annotations": annotations},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": name},
                "ports": [{"port": 80, "targetPort": 8080}],
            },
        },
    )
    service = wait_until(
        lambda: (s := core.read_namespaced_service(name, "shop")).status.load_balancer.ingress and s,
        timeout=60,
        what=f"{cluster}/shop/{name} address",
    )
    return str(service.status.load_balancer.ingress[0].ip)


def reconcile(platform: Any, clusters: tuple[str, ...] = (EAST, WEST), **conf: Any) -> str:
    """A manual run over this module's clusters (others in the session's registry are left alone)."""
    run_id = _trigger(platform, DAG, {"clusters": list(clusters), **conf}, "e2e")
    state = platform.wait(DAG, run_id, timeout=600)
    assert state == "success", platform.explain(DAG, run_id)
    return run_id


def run_calls(platform: Any, run_id: str, since: int) -> list[dict[str, Any]]:
    """Calls made while ``run_id`` ran (``max_active_runs=1``: no other run of the DAG overlaps it)."""
    run = platform.client.run(DAG, run_id)
    start, end = (
        datetime.fromisoformat(str(run[k]).replace("Z", "+00:00")).timestamp()
        for k in ("start_date", "end_date")
    )
    return [c for c in all_calls(platform.sandbox, since) if start <= c["time"] <= end]


def dns_writes(platform: Any, since: int) -> list[str]:
    return [
        c["action"]
        for c in all_calls(platform.sandbox, since)
        if c["product"] == "alidns" and not str(c["action"]).startswith(READ_PREFIXES)
    ]


def answers(platform: Any, name: str, queries: int) -> Counter[str]:
    counted: Counter[str] = Counter()
    for _ in range(queries):
        counted.update(resolve(platform.sandbox, name))
    return counted


def test_exported_services_resolve_per_cluster_and_weighted_globally(
    platform: Any, fleet: dict[str, Any]
) -> None:
    since = platform.sandbox.calls()["next"]
    (first_row,) = registry_rows(platform, "SELECT coalesce(max(id), 0) FROM audit_events", ())[0]
    east, west = export(fleet, EAST, "web"), export(fleet, WEST, "web", weight=30)
    cart_east, cart_west = export(fleet, EAST, "cart"), export(fleet, WEST, "cart")
    reconcile(platform, ticket_id="OPS-4242")
    assert resolve(platform.sandbox, f"web.shop.{EAST}.{DOMAIN}") == [east]
    assert resolve(platform.sandbox, f"web.shop.{WEST}.{DOMAIN}") == [west]
    assert answers(platform, f"web.shop.global.{DOMAIN}", 40) == {east: 10, west: 30}
    assert set(answers(platform, f"cart.shop.global.{DOMAIN}", 2)) == {cart_east, cart_west}
    # every write is audited (by whichever run made it: the schedule may beat the manual run)
    rows = registry_rows(
        platform,
        "SELECT action, outcome FROM audit_events WHERE id > ? AND dag_id = ? AND product = 'alidns'",
        (first_row, DAG),
    )
    writes = dns_writes(platform, since)
    assert len(writes) >= 2 * 4 + 2 and sorted(a for a, _ in rows) == sorted(writes)
    assert {o for _, o in rows} == {"ok"}


def test_a_second_run_reads_the_zone_and_each_cluster_once_and_writes_nothing(
    platform: Any, fleet: dict[str, Any]
) -> None:
    since = platform.sandbox.calls()["next"]
    run_id = reconcile(platform)
    calls = run_calls(platform, run_id, since)
    assert dns_writes(platform, since) == []
    records = (
        platform.sandbox.dns_client()
        .describe_domain_records(dns_models.DescribeDomainRecordsRequest(domain_name=DOMAIN, page_size=1))
        .body.total_count
    )
    reads = Counter(c["action"] for c in calls if c["product"] == "alidns")
    assert reads == {"DescribeDomainRecords": math.ceil(records / 500)}
    service_lists = [c for c in calls if c["product"] == "k8s" and "services" in str(c["action"])]
    assert len(service_lists) == 2


def test_failed_zone_and_unexport_leave_the_global_names(platform: Any, fleet: dict[str, Any]) -> None:
    east = resolve(platform.sandbox, f"web.shop.{EAST}.{DOMAIN}")
    west = resolve(platform.sandbox, f"web.shop.{WEST}.{DOMAIN}")
    cart_east = resolve(platform.sandbox, f"cart.shop.{EAST}.{DOMAIN}")
    since = platform.sandbox.calls()["next"]
    # in WEST's own scope: the fleet-wide rows belong to zone health, whose watcher would move them
    fleet["registry"].set_zone_state(ZONES[WEST], "failed", scope=WEST, detail={"reason": "e2e"})
    fleet["core"][WEST].patch_namespaced_service(
        "cart", "shop", {"metadata": {"annotations": {"yunfleet.io/export": "false"}}}
    )
    reconcile(platform)
    assert Counter(dns_writes(platform, since)) == {"SetDomainRecordStatus": 1, "DeleteDomainRecord": 3}
    assert set(answers(platform, f"web.shop.global.{DOMAIN}", 10)) == set(east)
    assert set(answers(platform, f"cart.shop.global.{DOMAIN}", 4)) == set(cart_east)
    assert resolve(platform.sandbox, f"cart.shop.{WEST}.{DOMAIN}") == []
    assert resolve(platform.sandbox, f"web.shop.{WEST}.{DOMAIN}") == west  # its own name still answers
    fleet["registry"].set_zone_state(ZONES[WEST], "healthy", scope=WEST)  # recovery: tests/flows
