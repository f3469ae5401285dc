"""zone_health and zone_failover end to end: zone outages through the sandbox's control API, the zone
watcher in the triggerer, runs through the Airflow REST API, weights read through the official SLB
SDK, nodes through the kubernetes client, global names through dnspython.

The fleet is the session's: ``kappa`` (tests/fixtures/small_cluster.py: workers in ``cn-hangzhou-h``
and ``-i``, its control plane in ``-h``) and the service fleet (tests/fixtures/service_fleet.py:
``svc-east`` in ``-h``, ``svc-west`` in ``-i``). Zone health's hysteresis is shortened for this module
(connection extra ``zone_health``; the watcher reads it again within 10 s): 3 bad probes to fail, as in
production, but 3 good probes over 12 s to recover and 2 s between restore steps. The cases build on
each other in file order; the DAGs are paused and the settings restored when the module ends.

Few runs, each proving several things: behaviour in depth (every transition, guard, batching, expiry
rule) is in tests/include/zones/ and tests/flows/test_zone_failover.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_slb20140515 import models as slb_models

from tests.fixtures.provisioning import (
    DOMAIN,
    all_calls,
    cloud_extra,
    is_mutating,
    registry_rows,
    resolve,
    set_cloud_extra,
)
from tests.fixtures.service_fleet import EAST, WEST
from tests.fixtures.service_fleet import trigger as _trigger
from tests.fixtures.small_cluster import SmallCluster, small_conf

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

H, I, J = "cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"  # noqa: E741 (the zones' letters)
FAST = {"fail_after": 3, "recover_after": 3, "stable_window_s": 12, "restore_step_interval_s": 2}
FOLLOWERS = ("zone_failover", "register_services")


@pytest.fixture(scope="module")
def zf(platform: Any, small_cluster: SmallCluster, service_fleet: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The fleet with an exported Service in each cluster, the followers unpaused, fast hysteresis."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    kappa = k8s.CoreV1Api(k8s_config.new_client_from_config(str(small_cluster.kubeconfig)))
    cores = {**service_fleet["core"], small_cluster.name: kappa}
    for name, core in cores.items():
        namespace = "shop" if name in (EAST, WEST) else "default"
        if not any(s.metadata.name == "shop-front" for s in core.list_namespaced_service(namespace).items):
            core.create_namespaced_service(
                namespace,
                {
                    "metadata": {"name": "shop-front", "annotations": {"yunfleet.io/export": "true"}},
                    "spec": {"type": "LoadBalancer", "selector": {"app": "front"}, "ports": [{"port": 80}]},
                },
            )
    saved = cloud_extra(platform)
    set_cloud_extra(platform, {**saved, "zone_health": FAST})
    for dag_id in (*FOLLOWERS, "zone_health"):
        platform.client.rest.wait_for_dag(dag_id)
    for dag_id in FOLLOWERS:
        platform.client.rest.set_paused(dag_id, False)
    wait_for("every exported name published", lambda: resolve(platform.sandbox, front(EAST)) != [], 180)
    wait_for("svc-west's name published", lambda: resolve(platform.sandbox, front(WEST)) != [], 120)
    time.sleep(11)  # the watcher has read the fast settings
    try:
        yield {"cores": cores, "registry": service_fleet["registry"], "cluster": small_cluster}
    finally:
        for zone in (H, I):
            platform.sandbox.set_zone(zone, outage=False)
        platform.sandbox.clear_faults()
        for dag_id in FOLLOWERS:
            platform.client.rest.set_paused(dag_id, True)
        set_cloud_extra(platform, saved)


# -- helpers ---------------------------------------------------------------------------------------


def front(cluster: str) -> str:
    namespace = "shop" if cluster in (EAST, WEST) else "default"
    return f"shop-front.{namespace}.{cluster}.{DOMAIN}"


def global_front(cluster: str) -> str:
    namespace = "shop" if cluster in (EAST, WEST) else "default"
    return f"shop-front.{namespace}.global.{DOMAIN}"


def seen(platform: Any, name: str, queries: int = 20) -> set[str]:
    """Every address ``name`` answered in ``queries`` queries (a weighted global name answers one
    record per query, picked by weight)."""
    found: set[str] = set()
    for _ in range(queries):
        found.update(resolve(platform.sandbox, name))
    return found


def wait_for(what: str, check: Any, timeout: float = 120, poll: float = 0.5) -> float:
    """Poll ``check`` until true; returns the time (epoch seconds) it became true."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(poll)
    return time.time()


def service_lb_weights(platform: Any, cluster: str) -> dict[str, int]:
    """``{server id: weight}`` of the cluster's ``shop-front`` load balancer (official SLB SDK)."""
    slb = platform.sandbox.slb_client()
    found = slb.describe_load_balancers(
        slb_models.DescribeLoadBalancersRequest(
            region_id="cn-hangzhou",
            tags=json.dumps([{"TagKey": "yunfleet:cluster", "TagValue": cluster}]),
        )
    ).body.to_map()
    weights: dict[str, int] = {}
    for lb in (found.get("LoadBalancers") or {}).get("LoadBalancer") or []:
        attr = slb.describe_load_balancer_attribute(
            slb_models.DescribeLoadBalancerAttributeRequest(
                region_id="cn-hangzhou", load_balancer_id=lb["LoadBalancerId"]
            )
        ).body.to_map()
        tags = {t["TagKey"]: t["TagValue"] for t in (attr.get("Tags") or {}).get("Tag") or []}
        if tags.get("yunfleet:role") != "service-lb":
            continue
        for b in (attr.get("BackendServers") or {}).get("BackendServer") or []:
            weights[b["ServerId"]] = int(b["Weight"])
    return weights


def nodes_in(zf: dict[str, Any], cluster: str, zone: str) -> list[Any]:
    return [
        n
        for n in zf["cores"][cluster].list_node(label_selector="yunfleet.io/node-pool").items
        if n.metadata.labels.get("topology.kubernetes.io/zone") == zone
    ]


def zone_ids(platform: Any, cluster: str, zone: str) -> set[str]:
    from tests.fixtures.provisioning import tagged_inventory

    return {i["id"] for i in tagged_inventory(platform.sandbox, cluster)["instances"] if i["zone"] == zone}


def failover_runs(platform: Any) -> list[dict[str, Any]]:
    body = platform.client.api("GET", "/api/v2/dags/zone_failover/dagRuns", params={"limit": 100}).json()
    return list(body.get("dag_runs") or [])


def settle(platform: Any, timeout: float = 300) -> None:
    """No zone_failover run queued or running for 6 s."""
    calm = time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() - calm < 6:
        assert time.monotonic() < deadline, f"zone_failover runs still active: {failover_runs(platform)}"
        if any(r["state"] in ("queued", "running") for r in failover_runs(platform)):
            calm = time.monotonic()
        time.sleep(1)


def alerted(platform: Any, known: set[str]) -> bool:
    """A zone_failover run not in ``known`` has ended and its ``decide`` logged zone health's alert."""
    from tests.fixtures.provisioning import task_log

    for run in failover_runs(platform):
        if run["dag_run_id"] in known or run["state"] not in ("success", "failed"):
            continue
        known.add(run["dag_run_id"])
        if "zone health alert" in task_log(platform, "zone_failover", run["dag_run_id"], "decide"):
            return True
    return False


def manual(platform: Any, zone: str, action: str, ticket: str, **extra: Any) -> tuple[str, str]:
    conf = {"zone_id": zone, "action": action, "ticket_id": ticket, **extra}
    settle(platform)
    run_id = _trigger(platform, "zone_failover", conf, f"ticket {ticket}")
    return run_id, platform.wait("zone_failover", run_id, timeout=600)


def transitions(platform: Any, zone: str, since: float) -> list[tuple[str, str]]:
    rows = registry_rows(
        platform,
        "SELECT from_state, to_state, at FROM zone_transitions WHERE zone_id = ? AND scope = '' ORDER BY id",
        (zone,),
    )
    from datetime import datetime

    return [(f, t) for f, t, at in rows if datetime.fromisoformat(str(at)).timestamp() >= since - 1]


def weight_writes(platform: Any, since: int, server: str) -> list[int]:
    """The weights ``SetBackendServers`` sent for ``server`` since call ``since``, in order."""
    sent = []
    for call in all_calls(platform.sandbox, since):
        if call["action"] != "SetBackendServers" or call["status"] != 200:
            continue
        for item in json.loads(call["params"]["BackendServers"]):
            if item["ServerId"] == server:
                sent.append(int(item["Weight"]))
    return sent


# -- tests (in file order) -------------------------------------------------------------------------


def test_bad_manual_requests_and_a_dry_run_change_nothing(platform: Any, zf: dict[str, Any]) -> None:
    since = platform.sandbox.calls()["next"]
    run_id, state = manual(platform, "cn-hangzhou-z", "evacuate", "OPS-ZF-0")
    assert state == "failed"
    assert "unknown zone 'cn-hangzhou-z'" in platform.explain("zone_failover", run_id)
    response = platform.client.api(
        "POST",
        "/api/v2/dags/zone_failover/dagRuns",
        json={"logical_date": None, "conf": {"zone_id": I, "action": "drain"}},
    )
    assert response.status_code == 400 and "action" in response.text
    run_id, state = manual(platform, I, "evacuate", "OPS-ZF-1", dry_run=True)
    assert state == "success", platform.explain("zone_failover", run_id)
    assert [c for c in all_calls(platform.sandbox, since) if is_mutating(c) and c["product"] != "k8s"] == []
    rows = registry_rows(
        platform, "SELECT action, outcome, ticket_id FROM audit_events WHERE run_id = ?", (run_id,)
    )
    assert ("SetBackendServers", "dry_run", "OPS-ZF-1") in rows and (
        "CordonNode",
        "dry_run",
        "OPS-ZF-1",
    ) in rows
    # svc-west serves only from the zone: its record in the global name would be disabled
    assert ("SetDomainRecordStatus", "dry_run", "OPS-ZF-1") in rows
    assert {o for _, o, _ in rows} == {"dry_run"}
    assert registry_rows(platform, "SELECT count(*) FROM zone_evacuations", ())[0][0] == 0


def test_the_scheduled_probe_round_runs_as_a_dag(platform: Any, zf: dict[str, Any]) -> None:
    from tests.fixtures.provisioning import task_log

    run_id = _trigger(platform, "zone_health", {}, "e2e")
    assert platform.wait("zone_health", run_id, timeout=300) == "success", platform.explain(
        "zone_health", run_id
    )
    states = {t["task_id"]: t["state"] for t in platform.client.task_instances("zone_health", run_id)}
    assert states == {"probe": "success", "announce": "skipped"}  # nothing changed: nothing announced
    log = task_log(platform, "zone_health", run_id, "probe")
    assert f"zone {H}: healthy" in log and f"zone {I}: healthy" in log
    platform.client.rest.set_paused("zone_health", True)


def test_an_outage_fails_over_fast_a_flapping_zone_moves_once_and_comes_back_gradually(
    platform: Any, zf: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    kappa = zf["cluster"].name
    before = service_lb_weights(platform, kappa)
    in_i = sorted(zone_ids(platform, kappa, I) & set(before))
    assert in_i and all(before[s] > 0 for s in in_i)
    west_before = service_lb_weights(platform, WEST)
    east_address = set(resolve(platform.sandbox, front(EAST)))
    west_address = set(resolve(platform.sandbox, front(WEST)))
    assert seen(platform, global_front(WEST)) == east_address | west_address
    since = platform.sandbox.calls()["next"]
    started = time.time()
    platform.sandbox.set_zone(I, outage=True)
    slb_at = wait_for(
        "kappa's backends in the zone at weight 0",
        lambda: all(service_lb_weights(platform, kappa)[s] == 0 for s in in_i),
        timeout=120,
    )
    dns_at = wait_for(
        "svc-west out of the global name",
        lambda: seen(platform, global_front(WEST)) == east_address,
        timeout=120,
    )
    # detection speed (issue 12 targets: 20 s and 30 s; measured over 10 outages by bench/zone_failover.py)
    with capsys.disabled():
        print(
            f"\noutage -> SLB weights 0: {slb_at - started:.1f} s; -> DNS updated: {dns_at - started:.1f} s"
        )
    assert slb_at - started <= 90 and dns_at - started <= 90
    # flap: up 8 s, down 8 s, twice; the zone is already evacuated and must not move again
    for _ in range(2):
        platform.sandbox.set_zone(I, outage=False)
        time.sleep(8)
        platform.sandbox.set_zone(I, outage=True)
        time.sleep(8)
    assert service_lb_weights(platform, WEST) == west_before  # every serving backend is in the zone: kept
    cordoned = nodes_in(zf, kappa, I)
    assert cordoned and all(n.spec.unschedulable for n in cordoned)
    assert all(
        n.metadata.annotations.get("yunfleet.io/cordoned-by") == f"zone-failover:{I}" for n in cordoned
    )
    platform.sandbox.set_zone(I, outage=False)
    wait_for("the zone restored", lambda: service_lb_weights(platform, kappa) == before, timeout=240, poll=2)
    wait_for(
        "kappa's nodes uncordoned", lambda: not any(n.spec.unschedulable for n in nodes_in(zf, kappa, I))
    )
    wait_for(
        "svc-west back in the global name",
        lambda: seen(platform, global_front(WEST)) == east_address | west_address,
        120,
    )
    settle(platform)
    moves = transitions(platform, I, started)
    evacuations = [m for m in moves if m[1] == "failed" and m[0] in ("healthy", "suspect")]
    restores = [m for m in moves if m[1] == "healthy" and m[0] in ("failed", "recovering")]
    assert len(evacuations) == 1 and len(restores) == 1, moves
    for server in in_i:  # gradual: 10 % -> 50 % -> 100 % of the weight before the outage
        writes = weight_writes(platform, since, server)
        assert writes[0] == 0 and writes[-3:] == [10, 50, 100] and writes.count(10) == 1, (server, writes)
    acts = registry_rows(
        platform,
        "SELECT action, outcome FROM audit_events WHERE dag_id = 'zone_failover' AND product = 'slb'",
        (),
    )
    sent = [o for _, o in acts if o != "dry_run"]  # the first test's dry run wrote dry_run rows
    assert len(sent) >= 4 and set(sent) == {"ok"}, acts  # the evacuation and three restore steps


def test_every_zone_down_at_once_changes_nothing(platform: Any, zf: dict[str, Any]) -> None:
    settle(platform)
    known = {r["dag_run_id"] for r in failover_runs(platform)}
    since = platform.sandbox.calls()["next"]
    names = {c: resolve(platform.sandbox, front(c)) for c in (EAST, WEST)}
    started = time.time()
    for zone in (H, I):
        platform.sandbox.set_zone(zone, outage=True)
    try:
        wait_for("an alert run of zone_failover", lambda: alerted(platform, known), timeout=120, poll=3)
        time.sleep(10)  # more probe rounds: still nothing may move
    finally:
        for zone in (H, I):
            platform.sandbox.set_zone(zone, outage=False)
    settle(platform)
    writes = [c for c in all_calls(platform.sandbox, since) if c["action"] in ("SetBackendServers",)]
    assert writes == []
    assert {c: resolve(platform.sandbox, front(c)) for c in (EAST, WEST)} == names
    assert [t for _, t in transitions(platform, H, started) + transitions(platform, I, started)].count(
        "failed"
    ) == 0


def test_manual_evacuation_holds_through_a_provisioning_rerun_and_faults_then_ends_by_hand(
    platform: Any, zf: dict[str, Any]
) -> None:
    kappa = zf["cluster"].name
    before = service_lb_weights(platform, kappa)
    in_i = sorted(zone_ids(platform, kappa, I) & set(before))
    assert in_i and all(before[s] > 0 for s in in_i), before  # nothing evacuated yet
    platform.sandbox.set_faults(
        [
            {
                "product": "slb",
                "action": "SetBackendServers",
                "error": "Throttling.User",
                "http_status": 400,
                "rate": 0.4,
            },
            {"product": "k8s", "action": "*", "error": "ServiceUnavailable", "http_status": 503, "rate": 0.1},
        ],
        seed=5,
    )
    try:
        run_id, state = manual(
            platform, I, "evacuate", "OPS-ZF-2", reason="planned network work", expires_in=3600
        )
    finally:
        platform.sandbox.clear_faults()
    assert state == "success", platform.explain("zone_failover", run_id)
    assert all(service_lb_weights(platform, kappa)[s] == 0 for s in in_i)
    rows = registry_rows(
        platform, "SELECT source, ticket_id, step FROM zone_evacuations WHERE zone_id = ?", (I,)
    )
    assert rows == [("manual", "OPS-ZF-2", "evacuated")]
    audited = registry_rows(
        platform, "SELECT DISTINCT ticket_id FROM audit_events WHERE run_id = ? AND outcome = 'ok'", (run_id,)
    )
    assert audited == [("OPS-ZF-2",)]
    # provisioning the same request again converges the cluster and leaves the evacuation in place
    rerun = _trigger(platform, "provision_cluster", small_conf(), "ticket OPS-5100")
    assert platform.wait("provision_cluster", rerun, timeout=600) == "success", platform.explain(
        "provision_cluster", rerun
    )
    assert all(service_lb_weights(platform, kappa)[s] == 0 for s in in_i)
    assert all(n.spec.unschedulable for n in nodes_in(zf, kappa, I))
    run_id, state = manual(platform, I, "restore", "OPS-ZF-3")
    assert state == "success", platform.explain("zone_failover", run_id)
    assert service_lb_weights(platform, kappa) == before
    assert not any(n.spec.unschedulable for n in nodes_in(zf, kappa, I))
    ended = registry_rows(platform, "SELECT step, ended_by FROM zone_evacuations WHERE zone_id = ?", (I,))
    assert ended == [("restored", "manual:OPS-ZF-3")]


def test_an_evacuation_past_its_expiry_is_restored(platform: Any, zf: dict[str, Any]) -> None:
    kappa = zf["cluster"].name
    before = service_lb_weights(platform, kappa)
    in_i = sorted(zone_ids(platform, kappa, I) & set(before))
    assert in_i and all(before[s] > 0 for s in in_i), before  # nothing evacuated yet
    run_id, state = manual(platform, I, "evacuate", "OPS-ZF-4", expires_in=60)
    assert state == "success", platform.explain("zone_failover", run_id)
    evacuated_at = time.time()
    assert all(service_lb_weights(platform, kappa)[s] == 0 for s in in_i)
    restored_at = wait_for(
        "the expired evacuation restored",
        lambda: service_lb_weights(platform, kappa) == before,
        timeout=180,
        poll=2,
    )
    assert restored_at - evacuated_at >= 55
    # the weights are back at the last restore step; the evacuation ends once its nodes are uncordoned
    sql = "SELECT ended_by FROM zone_evacuations WHERE zone_id = ?"
    wait_for(
        "the evacuation ended by its expiry", lambda: registry_rows(platform, sql, (I,)) == [("expiry",)], 60
    )
