"""reconcile_capacity end to end: one provisioned cluster, demand through the sandbox's load model,
runs triggered through the Airflow REST API and by the unschedulable-pods asset watcher, calls counted
in the sandbox's call log, Deployments and nodes read through the kubernetes client.

The cluster is the session's shared small cluster (tests/fixtures/small_cluster.py: pool ``general``,
min 2, one worker in each of two zones); the cases build on each other in file order and leave it at
its minimum. Manual runs name the cluster
(``clusters``); the planner's waits are set to zero for this cluster only (connection extra
``capacity_clusters``, restored at the end), and the DAG is paused again when the module ends. Few runs:
a dry run, demand up (one manual run scales the Deployment and buys the nodes its new replicas need),
pinned pods in a sold-out zone (the watcher's run falls back in the same run; it times the event path:
pods created unschedulable -> first RunInstances) and demand down (two or three runs). Behaviour in
depth is in tests/flows/test_reconcile_capacity.py.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from tests.fixtures.provisioning import all_calls, cloud_extra, is_mutating, registry_rows, set_cloud_extra
from tests.fixtures.service_fleet import trigger
from tests.fixtures.small_cluster import SmallCluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

DAG = "reconcile_capacity"
CLUSTER = "kappa"  # the shared small cluster
H, I = "cn-hangzhou-h", "cn-hangzhou-i"  # noqa: E741 (the zones' letters)
UNSCHEDULABLE_URI = "x-yunfleet://clusters/unschedulable-pods"
#: the DAG's schedule period (``*/5 * * * *``)
SCHEDULE_S = 300
EXTRA = {
    # for this cluster only: a scheduled run over the fleet keeps every other cluster's defaults
    "capacity_clusters": {
        CLUSTER: {"downscale_stabilization_s": 0, "unneeded_time_s": 0, "new_node_grace_s": 0}
    },
    "capacity_drain_timeout_s": 20,
    "capacity_verify_timeout_s": 180,
    "capacity_instance_fallbacks": {"ecs.g7.large": ["ecs.g7.xlarge"]},
}
AUTOSCALE = {
    "yunfleet.io/autoscale": "true",
    "yunfleet.io/min-replicas": "1",
    "yunfleet.io/max-replicas": "5",
    "yunfleet.io/target-cpu-utilization": "50",
}


@pytest.fixture(scope="module")
def cap(platform: Any, small_cluster: SmallCluster) -> Iterator[dict[str, Any]]:
    """The session's small cluster, the kubernetes clients, the planner's waits at 0 for it."""
    assert small_cluster.name == CLUSTER and sorted(small_cluster.conf["zones"]) == [H, I]
    api = k8s_config.new_client_from_config(str(small_cluster.kubeconfig))
    saved = cloud_extra(platform)
    set_cloud_extra(platform, {**saved, **EXTRA})
    # unpaused before any demand: the runs unpausing may start (the schedule's latest interval, the
    # provisioned cluster's asset event) find nothing to do here
    platform.client.rest.wait_for_dag(DAG)
    platform.client.rest.set_paused(DAG, False)
    try:
        yield {"core": k8s.CoreV1Api(api), "apps": k8s.AppsV1Api(api)}
    finally:
        settle(platform)
        platform.client.rest.set_paused(DAG, True)
        for run in runs(platform):  # queued in the moment before the pause: never to run later
            if run["state"] == "queued":
                path = f"/api/v2/dags/{DAG}/dagRuns/{run['dag_run_id']}"
                platform.client.api("PATCH", path, json={"state": "failed"})
        set_cloud_extra(platform, saved)
        platform.sandbox.set_zone(H, stock={"ecs.g7.large": 1000})
        for name in ("web", "cache"):  # the shared cluster goes on without this module's workloads
            try:
                k8s.AppsV1Api(api).delete_namespaced_deployment(name, "default")
            except k8s.ApiException as exc:
                if exc.status != 404:
                    raise


# -- helpers ---------------------------------------------------------------------------------------


def reconcile(platform: Any, **conf: Any) -> str:
    run_id = trigger(platform, DAG, {"clusters": [CLUSTER], **conf}, "e2e")
    state = platform.wait(DAG, run_id, timeout=600)
    assert state == "success", platform.explain(DAG, run_id)
    return run_id


def runs(platform: Any) -> list[dict[str, Any]]:
    body = platform.client.api("GET", f"/api/v2/dags/{DAG}/dagRuns", params={"limit": 50}).json()
    return list(body.get("dag_runs") or [])


def settle(platform: Any, timeout: float = 300, quiet_for: float = 10) -> None:
    """Wait until no run of the DAG has been queued or running for ``quiet_for`` seconds: a watcher's
    event during a run becomes a run of its own only once that run has ended."""
    deadline = time.monotonic() + timeout
    calm_since = time.monotonic()
    while time.monotonic() - calm_since < quiet_for:
        assert time.monotonic() < deadline, f"runs still active after {timeout:.0f} s: {runs(platform)}"
        if any(r["state"] in ("queued", "running") for r in runs(platform)):
            calm_since = time.monotonic()
        time.sleep(2)


def after_cooldown(platform: Any, cooldown: float = 32) -> None:
    """Wait until the watcher may fire for this cluster again (it fires at most once per 30 s)."""
    fired = [
        datetime.fromisoformat(str(r["run_after"]).replace("Z", "+00:00")).timestamp()
        for r in runs(platform)
        if from_watcher(platform, r, "")
    ]
    if fired:
        time.sleep(max(0.0, max(fired) + cooldown - time.time()))


def quiet(platform: Any, margin: float = 45) -> None:
    """No run active, and none due from the 5-minute schedule in the next ``margin`` seconds: a scheduled
    run (it reconciles every cluster, this one too) then cannot act on the demand a test sets first."""
    left = SCHEDULE_S - time.time() % SCHEDULE_S
    if left < margin:
        time.sleep(left + 10)  # the scheduler creates the run a few seconds after the boundary
    settle(platform)


def watcher_run(platform: Any, known: set[str], pods: str, timeout: float = 240) -> str:
    """The run the unschedulable-pods watcher starts for pods named ``<pods>*`` (not in ``known``), once
    it has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in runs(platform):
            if run["dag_run_id"] not in known and from_watcher(platform, run, pods):
                state = platform.wait(DAG, run["dag_run_id"], timeout=600)
                assert state == "success", platform.explain(DAG, run["dag_run_id"])
                return str(run["dag_run_id"])
        time.sleep(2)
    raise AssertionError(
        f"no run started by the unschedulable-pods watcher in {timeout:.0f} s: {runs(platform)}"
    )


def from_watcher(platform: Any, run: dict[str, Any], pods: str) -> bool:
    """The run was started by an event of the unschedulable-pods watcher (not the clusters asset) for
    this cluster's pods named ``<pods>*``."""
    if run["run_type"] != "asset_triggered":
        return False
    path = f"/api/v2/dags/{DAG}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents"
    response = platform.client.api("GET", path)
    if response.status_code == 500:
        # Airflow 3.3 answers 500 while a run its events created has no start_date yet (the
        # response model requires one); the caller polls again
        return False
    assert response.status_code == 200, response.text
    events = response.json().get("asset_events") or []
    for event in events:
        payload = (event.get("extra") or {}).get("payload") or {}
        if event.get("uri") == UNSCHEDULABLE_URI and payload.get("cluster") == CLUSTER:
            if any(str(p).startswith(pods) for p in payload.get("pods") or []):
                return True
    return False


def run_calls(platform: Any, run_id: str, since: int) -> list[dict[str, Any]]:
    run = platform.client.run(DAG, run_id)
    start, end = (
        datetime.fromisoformat(str(run[k]).replace("Z", "+00:00")).timestamp()
        for k in ("start_date", "end_date")
    )
    return [c for c in all_calls(platform.sandbox, since) if start <= c["time"] <= end]


def workers(cap: dict[str, Any]) -> list[Any]:
    return list(cap["core"].list_node(label_selector="yunfleet.io/node-pool=general").items)


def zone_of(node: Any) -> str:
    return str(node.metadata.labels["topology.kubernetes.io/zone"])


def running(cap: dict[str, Any], app: str) -> list[Any]:
    pods = cap["core"].list_namespaced_pod("default", label_selector=f"app={app}").items
    return [p for p in pods if p.status.phase == "Running"]


def wait_for(what: str, check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(2)


def deploy(cap: dict[str, Any], name: str, replicas: int, cpu: str, **extra: Any) -> None:
    labels = {"app": name}
    spec: dict[str, Any] = {
        "containers": [
            {"name": "app", "image": "nginx:1.27", "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}
        ]
    }
    if extra.get("node_selector"):
        spec["nodeSelector"] = extra["node_selector"]
    cap["apps"].create_namespaced_deployment(
        "default",
        {
            "metadata": {"name": name, "labels": labels, "annotations": extra.get("annotations") or {}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": spec},
            },
        },
    )


# -- tests (in file order) -------------------------------------------------------------------------


def test_a_dry_run_shows_the_plan_and_makes_no_mutating_call(platform: Any, cap: dict[str, Any]) -> None:
    deploy(cap, "web", 1, "900m", annotations=AUTOSCALE)
    wait_for("web running", lambda: len(running(cap, "web")) == 1)
    quiet(platform)
    platform.sandbox.set_workload(CLUSTER, "default", "web", 6000)
    since = platform.sandbox.calls()["next"]
    run_id = reconcile(platform, dry_run=True, ticket_id="OPS-CAP-2")
    assert [c for c in run_calls(platform, run_id, since) if is_mutating(c)] == []
    rows = registry_rows(platform, "SELECT action, outcome FROM audit_events WHERE run_id = ?", (run_id,))
    assert ("ScaleDeployment", "dry_run") in rows and {o for _, o in rows} == {"dry_run"}
    assert cap["apps"].read_namespaced_deployment("web", "default").spec.replicas == 1


def test_demand_up_scales_replicas_and_buys_their_nodes_in_one_run(
    platform: Any, cap: dict[str, Any]
) -> None:
    before = {n.metadata.name for n in workers(cap)}
    quiet(platform)
    reconcile(platform, ticket_id="OPS-CAP-3")
    # HPA rule: 1 pod at 6000m of a 900m request against 50 % wants 14: the scale-up limit (1 + 4) and
    # max-replicas give 5; the 4 new replicas do not all fit on the two workers, so the same run buys
    assert cap["apps"].read_namespaced_deployment("web", "default").spec.replicas == 5
    scaled = registry_rows(
        platform,
        "SELECT DISTINCT run_id FROM audit_events WHERE cluster = ? AND action = 'ScaleDeployment'"
        " AND target = 'default/web' AND outcome = 'ok'",
        (CLUSTER,),
    )
    assert len(scaled) == 1, scaled  # one run scaled web (the manual one, or a scheduled one before it)
    run_id = scaled[0][0]
    wait_for("5 web pods running", lambda: len(running(cap, "web")) == 5, timeout=120)
    added = [n for n in workers(cap) if n.metadata.name not in before]
    assert added
    counts = Counter(zone_of(n) for n in workers(cap))
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    rows = registry_rows(
        platform, "SELECT action, outcome FROM audit_events WHERE run_id = ? AND product = 'ecs'", (run_id,)
    )
    assert ("RunInstances", "ok") in rows
    settle(platform)  # the new replicas' short wait may have started a watcher's run for the cluster


def test_pinned_pods_in_a_sold_out_zone_fall_back_in_the_same_run(
    platform: Any, cap: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    quiet(platform)
    after_cooldown(platform)
    platform.sandbox.set_zone(H, stock={"ecs.g7.large": 0})
    known = {r["dag_run_id"] for r in runs(platform)}
    since = platform.sandbox.calls()["next"]
    created = time.time()
    deploy(cap, "cache", 2, "1500m", node_selector={"topology.kubernetes.io/zone": H})
    run_id = watcher_run(platform, known, "default/cache-")
    launches = [c for c in run_calls(platform, run_id, since) if c["action"] == "RunInstances"]
    latency = launches[0]["time"] - created
    with capsys.disabled():  # the event path's latency (issue 11 target: 30 s)
        print(f"\nunschedulable pods -> first RunInstances: {latency:.1f} s")
    assert latency <= 120, f"the event path took {latency:.1f} s"
    refused = [(c["params"]["ZoneId"], c["params"]["InstanceType"]) for c in launches if c["error_code"]]
    placed = [(c["params"]["ZoneId"], c["params"]["InstanceType"]) for c in launches if c["status"] == 200]
    assert refused == [(H, "ecs.g7.large")] and set(placed) == {(H, "ecs.g7.xlarge")}
    wait_for("cache running", lambda: len(running(cap, "cache")) == 2)
    hosts = {p.spec.node_name for p in running(cap, "cache")}
    assert all(zone_of(cap["core"].read_node(h)) == H for h in hosts)
    backoffs = registry_rows(platform, "SELECT zone_id, instance_type FROM offering_backoffs", ())
    assert (H, "ecs.g7.large") in backoffs
    platform.sandbox.set_zone(H, stock={"ecs.g7.large": 1000})


def test_demand_down_shrinks_back_balanced_above_min(platform: Any, cap: dict[str, Any]) -> None:
    cap["apps"].delete_namespaced_deployment("cache", "default")
    platform.sandbox.set_workload(CLUSTER, "default", "web", 0)
    peak = len(workers(cap))
    since = platform.sandbox.calls()["next"]
    for _ in range(3):
        run_id = reconcile(platform, ticket_id="OPS-CAP-4")
        writes = [c for c in run_calls(platform, run_id, since) if is_mutating(c)]
        if not writes:
            break
    assert writes == [], "the last run still changed something"
    assert cap["apps"].read_namespaced_deployment("web", "default").spec.replicas == 1
    wait_for("released nodes gone", lambda: len(workers(cap)) < peak, timeout=120)
    counts = Counter(zone_of(n) for n in workers(cap) if not n.spec.unschedulable)
    assert counts[H] >= 1 and counts[I] >= 1 and max(counts.values()) - min(counts.values()) <= 1, counts
    deletes = [c for c in all_calls(platform.sandbox, since) if c["action"] == "DeleteInstances"]
    rows = registry_rows(
        platform, "SELECT count(*) FROM audit_events WHERE dag_id = ? AND action = 'DeleteInstances'", (DAG,)
    )
    assert deletes and rows[0][0] >= len(deletes)
