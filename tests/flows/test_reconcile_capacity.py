"""``reconcile_capacity`` task code against the sandbox, outside a scheduler.

One live simulated cluster (``cap``: a control plane, pool ``general`` with one worker in each of two
zones), made once for the module. Deployments are created through the kubernetes client, demand is
set through the sandbox's load model, stock and zone states through the sandbox and the registry; the
run's tasks are called in the DAG's order (``apply`` once per planned cluster, as the mapped task);
calls are counted in the sandbox's call log. Each run has its own run id, so its ClientTokens are its
own. The DAG through the REST API is in tests/e2e.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from cryptography.fernet import Fernet

from flows import reconcile_capacity as steps
from include.audit import AuditStore
from include.capacity.model import REMOVE_NODE, Action
from include.fleet.contract import TaskIdentity
from include.fleetview.capacity import capacity_series
from include.registry import create_registry_engine, migrate
from operators.utils.audit import AuditContext
from tests.fixtures.building_blocks import alibaba_conn_json
from tests.fixtures.flows import flow_context, load_dag
from tests.fixtures.provisioning import all_calls, is_mutating

CLUSTER = "cap"
H, I = "cn-hangzhou-h", "cn-hangzhou-i"  # noqa: E741 (the zones' letters)
POOL = "general"
POOL_LABEL = "yunfleet.io/node-pool"
#: the planner's waits set to zero so each test needs one or two runs, not minutes
PLANNER = {"downscale_stabilization_s": 0, "unneeded_time_s": 0, "new_node_grace_s": 0}
EXTRA = {
    "capacity": PLANNER,
    "capacity_drain_timeout_s": 3,
    "capacity_verify_timeout_s": 60,
    "capacity_instance_fallbacks": {"ecs.g7.large": ["ecs.g7.xlarge"]},
    "image_id": "ubuntu_22_04_x64_20G_alibase_20240130.vhd",
}
AUTOSCALE = {
    "yunfleet.io/autoscale": "true",
    "yunfleet.io/min-replicas": "1",
    "yunfleet.io/max-replicas": "6",
    "yunfleet.io/target-cpu-utilization": "50",
}

_CURRENT: dict[str, AuditContext] = {"ctx": AuditContext()}
_RUNS = iter(range(1, 1000))
_HOOKS: dict[str, Any] = {}


@pytest.fixture(scope="module")
def fleet(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Connections to the session sandbox and a fresh registry; cluster ``cap`` ready, 1 worker per zone."""
    from tests.fixtures.fleet_cluster import make_cluster

    sandbox.reset()
    home = tmp_path_factory.mktemp("reconcile-capacity")
    url = f"sqlite:///{home / 'yunfleet.db'}"
    engine = create_registry_engine(url)
    migrate(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT", alibaba_conn_json(sandbox, **EXTRA))
        patch.setenv("AIRFLOW_CONN_YUNFLEET_DB", json.dumps({"conn_type": "generic", "extra": {"url": url}}))
        patch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
        patch.setattr(AuditContext, "current", classmethod(lambda cls: _CURRENT["ctx"]))
        from operators.hooks.registry import YunfleetRegistryHook

        store = AuditStore(engine)
        registry = YunfleetRegistryHook().registry
        made = make_cluster(CLUSTER, 2, store, None)
        registry.upsert_cluster(
            CLUSTER,
            region_id="cn-hangzhou",
            domain="fleet.example.com",
            state="ready",
            spec={"kubernetes_version": "1.31"},
        )
        for zone in (H, I):
            registry.upsert_node_pool(
                CLUSTER,
                POOL,
                zone_id=zone,
                instance_type="ecs.g7.large",
                min_size=1,
                max_size=4,
                desired_size=1,
            )
        yield {"sandbox": sandbox, "registry": registry, "audit": store, "cluster": made}
        _HOOKS.clear()
    engine.dispose()


# -- helpers ---------------------------------------------------------------------------------------


def kube() -> Any:
    """The cluster's hook (kept alive: it owns the client key files)."""
    from operators.hooks.kubernetes import FleetKubernetesHook

    if CLUSTER not in _HOOKS:
        _HOOKS[CLUSTER] = FleetKubernetesHook(CLUSTER)
    return _HOOKS[CLUSTER]


def _enter(run_id: str, task_id: str, map_index: int = -1) -> None:
    _CURRENT["ctx"] = AuditContext(
        identity=TaskIdentity(
            dag_id="reconcile_capacity", run_id=run_id, task_id=task_id, map_index=map_index
        ),
        ticket_id="OPS-CAP",
    )


def reconcile(**params: Any) -> dict[str, Any]:
    """One run: the tasks in the DAG's order, XComs passed as the scheduler would."""
    dag = load_dag("reconcile_capacity")
    run_id = f"manual__cap{next(_RUNS)}"
    xcoms: dict[tuple[str, str], Any] = {}

    def context(task_id: str, map_index: int = -1) -> dict[str, Any]:
        _enter(run_id, task_id, map_index)
        found = flow_context(dag, task_id, params)
        found["run_id"] = run_id
        found["ti"].xcoms.update(xcoms)
        return found

    ctx = context("select_clusters")
    clusters = steps.select_clusters.function(**ctx)
    xcoms.update(ctx["ti"].xcoms)
    xcoms[("select_clusters", "return_value")] = clusters
    observed = [steps.observe.function(c, **context("observe", i)) for i, c in enumerate(clusters)]
    xcoms[("observe", "return_value")] = observed
    ctx = context("plan")
    planned = steps.plan.function(**ctx)
    xcoms.update(ctx["ti"].xcoms)
    xcoms[("plan", "return_value")] = planned
    if not steps.show_plan.function(planned, **context("show_plan")):
        return {"run_id": run_id, "plan": planned, "dry_run": True}
    applied = [steps.apply.function(item, **context("apply", i)) for i, item in enumerate(planned)]
    xcoms[("apply", "return_value")] = applied
    verified = steps.verify.function(**context("verify"))
    return {"run_id": run_id, "plan": planned, "applied": applied, "verified": verified}


def converge(runs: int = 4, **params: Any) -> list[dict[str, Any]]:
    """Runs until one plans nothing (at most ``runs``); returns every run's result."""
    results = []
    for _ in range(runs):
        results.append(reconcile(**params))
        if not actions(results[-1]):
            return results
    raise AssertionError(f"not converged after {runs} runs: {actions(results[-1])}")


def actions(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for item in result["plan"] for a in item["plan"]["actions"]]


def mark(sandbox: Any) -> int:
    return int(sandbox.calls()["next"])


def policy() -> Any:
    from kubernetes import client

    return client.PolicyV1Api(kube().api_client)


def workers() -> list[Any]:
    return [n for n in kube().list_nodes(label_selector=f"yunfleet.io/node-pool={POOL}")]


def zone_counts() -> Counter[str]:
    return Counter(n.zone for n in workers() if not n.unschedulable)


def deploy(
    name: str, replicas: int, cpu: str, *, annotations: dict[str, str] | None = None, **spec: Any
) -> None:
    from tests.sandbox.kube.helpers import deployment_body

    body = deployment_body(name, replicas, cpu=cpu, memory="256Mi", node_selector=spec.get("node_selector"))
    body["metadata"]["annotations"] = annotations or {}
    kube().apps_v1_client.create_namespaced_deployment("default", body)


def pods_of(name: str) -> list[Any]:
    return kube().list_pods("default", label_selector=f"app={name}")


def wait_running(name: str, count: int, timeout: float = 30) -> None:
    from tests.sandbox.kube.helpers import wait_until

    wait_until(
        lambda: sum(1 for p in pods_of(name) if p.phase == "Running") == count,
        timeout=timeout,
        what=f"{count} running pods of {name}",
    )


def launch_unmanaged_worker(made: Any, zone: str = H) -> str:
    """A worker of the cluster joined by hand, then relabelled: its Node has no ``yunfleet.io/node-pool``
    label (Yunfleet does not manage it), and its instance's pool tag names no pool of the registry.
    Returns its instance id (the Node's name), once the Node is Ready."""
    from include.provisioning.cloudinit import Delivery, render_user_data
    from include.provisioning.delivery import Endpoint, delivery_tags, join_bundle
    from include.provisioning.node import NodeSpec
    from include.provisioning.sources import node_sources
    from operators.hooks.ecs import EcsHook, InstanceSpec
    from operators.hooks.kms import KmsHook
    from tests.fixtures.fleet_cluster import IMAGE, ROLE, ZONES

    ecs, kms = EcsHook(cluster=CLUSTER), KmsHook(cluster=CLUSTER)
    node = NodeSpec(
        CLUSTER, "cn-hangzhou", "fleet.example.com", "1.31", "worker", zone, "ecs.g7.large", "by-hand"
    )
    bundle = join_bundle(
        node,
        token=made.control_plane.token,
        ca_hash=made.creds.ca_hash,
        endpoint=Endpoint(f"api.{CLUSTER}.fleet.example.com", 6443),
    )
    secret = f"yunfleet/{CLUSTER}/worker-by-hand-{zone}"
    kms.create_secret(secret, bundle, tags=delivery_tags(CLUSTER), cluster=CLUSTER)
    (group,) = [g.security_group_id for g in ecs.list_security_groups(CLUSTER)]
    ids = ecs.ensure_instances(
        InstanceSpec(
            cluster=CLUSTER,
            role="worker",
            count=1,
            zone_id=zone,
            vswitch_id=dict(ZONES)[zone],
            instance_type="ecs.g7.large",
            image_id=IMAGE,
            security_group_id=group,
            node_pool="by-hand",
            user_data=render_user_data(node, node_sources("cn-hangzhou", "1.31"), Delivery(secret)),
            ram_role_name=ROLE,
        )
    ).instance_ids
    from tests.sandbox.kube.helpers import wait_until

    name = str(ids[0])
    wait_until(
        lambda: any(n.name == name and n.ready for n in kube().list_nodes()), timeout=30, what=f"{name} Ready"
    )
    kube().core_v1_client.patch_node(name, {"metadata": {"labels": {POOL_LABEL: None}}})
    return name


# -- tests (in module order: each starts from what the previous left) -------------------------------


def test_a_converged_cluster_plans_nothing_and_makes_no_mutating_call(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    deploy("web", 1, "900m", annotations=AUTOSCALE)
    wait_running("web", 1)
    since = mark(sandbox)
    result = reconcile()
    assert [i["cluster"] for i in result["plan"]] == [CLUSTER]
    assert actions(result) == []
    assert [c for c in all_calls(sandbox, since) if is_mutating(c)] == []
    reads = {c["action"] for c in all_calls(sandbox, since) if c["product"] == "ecs"}
    assert reads == {"DescribeInstances"}


def test_an_unmanaged_node_changes_nothing_and_does_not_stop_the_loop(fleet: dict[str, Any]) -> None:
    from operators.hooks.ecs import EcsHook
    from tests.sandbox.kube.helpers import wait_until

    sandbox = fleet["sandbox"]
    stranger = launch_unmanaged_worker(fleet["cluster"])
    try:
        since = mark(sandbox)
        # empty and idle with every wait at 0: a managed node like it would be drained and released
        result = reconcile()
        (item,) = result["plan"]
        assert item["plan"]["unmanaged_nodes"] and stranger in item["plan"]["unmanaged_nodes"]
        assert actions(result) == []
        assert result["verified"]["clusters"][CLUSTER]["removed"] == 0
        assert [c for c in all_calls(sandbox, since) if is_mutating(c)] == []
        node = next(n for n in kube().list_nodes() if n.name == stranger)
        assert node.ready and not node.unschedulable and node.node_pool in (None, "")
        # the loop goes on around it: demand on web still scales web (a dry run shows it, changes nothing)
        sandbox.set_workload(CLUSTER, "default", "web", 3000)
        planned = actions(reconcile(dry_run=True))
        assert [a["kind"] for a in planned if a["target"] == "default/web"] == ["scale_deployment"]
        assert not [a for a in planned if a["kind"] == "remove_node"]
    finally:
        sandbox.set_workload(CLUSTER, "default", "web", 0)
        EcsHook(cluster=CLUSTER).delete_instances([stranger], cluster=CLUSTER)
        wait_until(
            lambda: stranger not in {n.name for n in kube().list_nodes()},
            timeout=30,
            what="the hand-joined node removed",
        )


def test_a_dry_run_shows_its_plan_and_changes_nothing(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    sandbox.set_workload(CLUSTER, "default", "web", 6000)
    since, first_row = mark(sandbox), fleet["audit"].max_id()
    result = reconcile(dry_run=True, ticket_id="OPS-CAP")
    planned = actions(result)
    assert result["dry_run"] is True
    scale = [a for a in planned if a["kind"] == "scale_deployment"]
    # HPA rule: 1 pod at 6000m of a 900m request is 667 %, target 50 %: wants 14, scale-up limit 1 + 4 = 5
    assert [(a["target"], a["previous"], a["replicas"]) for a in scale] == [("default/web", 1, 5)]
    assert [c for c in all_calls(sandbox, since) if is_mutating(c)] == []
    rows = fleet["audit"].list(since_id=first_row)
    assert len(rows) == len(planned) and {r.outcome for r in rows} == {"dry_run"}
    assert kube().get_deployment("default", "web").spec.replicas == 1


def test_demand_up_scales_replicas_and_adds_balanced_nodes_with_fresh_tokens(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    core = kube().core_v1_client
    # the tokens the cluster was built with are gone: new workers must join with their own
    for secret in core.list_namespaced_secret("kube-system").items:
        if secret.metadata.name.startswith("bootstrap-token-"):
            core.delete_namespaced_secret(secret.metadata.name, "kube-system")
    before = {n.name for n in workers()}
    since = mark(sandbox)
    results = converge()
    kinds = Counter(a["kind"] for result in results for a in actions(result))
    assert kinds["scale_deployment"] >= 1 and kinds["add_nodes"] >= 1 and kinds["remove_node"] == 0
    # one run scales the replicas and buys the nodes they need (not a run later, when they are Pending)
    assert {"scale_deployment", "add_nodes"} <= {a["kind"] for a in actions(results[0])}
    assert kube().get_deployment("default", "web").spec.replicas == 6
    wait_running("web", 6)
    added = {n.name for n in workers()} - before
    assert added, "no worker joined"
    counts = zone_counts()
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert all(n.ready for n in workers())
    tokens = [
        s.metadata.name
        for s in core.list_namespaced_secret("kube-system").items
        if s.metadata.name.startswith("bootstrap-token-")
    ]
    launches = [c for c in all_calls(sandbox, since) if c["action"] == "RunInstances" and c["status"] == 200]
    assert len(tokens) == len(launches) >= 1
    # every RunInstances carried its own ClientToken
    assert len({c["params"].get("ClientToken") for c in launches}) == len(launches)
    history = fleet["registry"].capacity_history(CLUSTER, limit=1000)
    assert {"pod", "node"} <= {h.tier for h in history if h.subject != "snapshot"}
    # one snapshot per run for the Fleet view; the last run (which planned nothing) saw today's nodes
    (series,) = capacity_series(fleet["registry"].engine, cluster=CLUSTER)
    run_ids = [r["run_id"] for r in results]
    assert [p["run_id"] for p in series["points"]][-len(run_ids) :] == run_ids
    last = series["points"][-1]
    assert last["nodes"] == last["nodes_desired"] == len(kube().list_nodes())
    assert last["nodes_ready"] <= last["nodes"] and last["pods_running"] + last["pods_pending"] >= 6
    window = fleet["registry"].recommendations(
        CLUSTER, since=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    )
    # the pod tier's recommendations are kept for the stabilisation window of later runs
    assert window[("default", "web")] and all(r.replicas >= 1 for r in window[("default", "web")])


def test_pinned_pods_get_a_node_in_their_zone_falling_back_to_the_next_type(fleet: dict[str, Any]) -> None:
    sandbox, registry = fleet["sandbox"], fleet["registry"]
    sandbox.set_zone(H, stock={"ecs.g7.large": 0})
    deploy("cache", 2, "1500m", node_selector={"topology.kubernetes.io/zone": H})
    since = mark(sandbox)
    result = reconcile()
    calls = all_calls(sandbox, since)
    launches = [c for c in calls if c["action"] == "RunInstances"]
    refused = [c for c in launches if c["error_code"] == "OperationDenied.NoStock"]
    assert [c["params"]["ZoneId"] for c in refused] == [H]
    assert [c["params"]["InstanceType"] for c in refused] == ["ecs.g7.large"]
    good = [c for c in launches if c["status"] == 200]
    assert {(c["params"]["ZoneId"], c["params"]["InstanceType"]) for c in good} == {(H, "ecs.g7.xlarge")}
    assert good[0]["params"]["ClientToken"] != refused[0]["params"]["ClientToken"]
    added = [a for item in result["applied"] for a in item["added"]]
    assert [(a["zone"], a["instance_type"], a["fallback"]) for a in added] == [(H, "ecs.g7.xlarge", True)]
    wait_running("cache", 2)
    assert {p.node_name for p in pods_of("cache")} <= {n.name for n in workers() if n.zone == H}
    backoffs = registry.active_backoffs()
    assert [(b.zone_id, b.instance_type, b.failures) for b in backoffs] == [(H, "ecs.g7.large", 1)]
    # a later run that needs the pinned zone again does not try the backed-off offering
    kube().apps_v1_client.patch_namespaced_deployment_scale("cache", "default", {"spec": {"replicas": 4}})
    since = mark(sandbox)
    reconcile()
    again = [c for c in all_calls(sandbox, since) if c["action"] == "RunInstances"]
    assert all((c["params"]["ZoneId"], c["params"]["InstanceType"]) != (H, "ecs.g7.large") for c in again)
    wait_running("cache", 4)
    sandbox.set_zone(H, stock={"ecs.g7.large": 100})


def test_a_failed_zone_gets_no_new_node(fleet: dict[str, Any]) -> None:
    sandbox, registry = fleet["sandbox"], fleet["registry"]
    registry.set_zone_state(I, "failed", scope=CLUSTER)
    try:
        kube().apps_v1_client.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 6}})
        sandbox.set_workload(CLUSTER, "default", "web", 6000)
        deploy("batch", 3, "1500m")
        since = mark(sandbox)
        reconcile()
        launches = [c for c in all_calls(sandbox, since) if c["action"] == "RunInstances"]
        assert launches and {c["params"]["ZoneId"] for c in launches} == {H}
    finally:
        registry.set_zone_state(I, "healthy", scope=CLUSTER)
    kube().apps_v1_client.delete_namespaced_deployment("batch", "default")


def test_a_refused_drain_uncordons_the_node_and_keeps_it(fleet: dict[str, Any]) -> None:
    from flows.capacity_apply import remove_node
    from include.capacity.model import instance_id_of
    from operators.hooks.ecs import EcsHook

    node = sorted(workers(), key=lambda n: n.name)[0]
    deploy("guarded", 1, "50m", node_selector={"kubernetes.io/hostname": node.name})
    wait_running("guarded", 1)
    policy().create_namespaced_pod_disruption_budget(
        "default",
        {
            "metadata": {"name": "guarded"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}},
        },
    )
    action = Action(
        REMOVE_NODE,
        node.name,
        "test",
        pool=POOL,
        zone=node.zone,
        instance_id=instance_id_of(node.provider_id),
    )
    done = remove_node(action, kube=kube(), ecs=EcsHook(cluster=CLUSTER), drain_timeout=2.0)
    assert (
        done["removed"] is False
        and "disruption budgets" in done["refused"]
        and "default/guarded" in done["refused"]
    )
    after = {n.name: n for n in workers()}
    assert node.name in after and after[node.name].unschedulable is False
    statuses = EcsHook(cluster=CLUSTER).get_instance_statuses([action.instance_id])
    assert statuses[action.instance_id] == "Running"
    policy().delete_namespaced_pod_disruption_budget("guarded", "default")
    kube().apps_v1_client.delete_namespaced_deployment("guarded", "default")


def test_demand_down_shrinks_back_balanced_and_never_below_min(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    for name in ("cache",):
        kube().apps_v1_client.delete_namespaced_deployment(name, "default")
    sandbox.set_workload(CLUSTER, "default", "web", 0)
    peak = len(workers())
    since = mark(sandbox)
    results = converge(runs=6)
    assert kube().get_deployment("default", "web").spec.replicas == 1
    removed = [r for res in results for item in res.get("applied", []) for r in item["removed"]]
    from tests.sandbox.kube.helpers import wait_until

    gone = {r["node"] for r in removed}
    wait_until(lambda: not gone & {n.name for n in workers()}, timeout=30, what="released nodes removed")
    assert removed and len(workers()) < peak
    counts = zone_counts()
    assert counts[H] >= 1 and counts[I] >= 1, counts
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    calls = all_calls(sandbox, since)
    deletes = [c for c in calls if c["action"] == "DeleteInstances"]
    cordons = [
        c
        for c in calls
        if c["product"] == "k8s" and str(c["action"]).startswith("PATCH") and "/nodes/" in str(c["action"])
    ]
    assert len(deletes) == len(removed) and len(cordons) >= len(removed)
    rows = fleet["audit"].list(cluster=CLUSTER, product="ecs")
    assert {"RunInstances", "DeleteInstances"} <= {r.action for r in rows}


def test_a_gate_failure_changes_nothing(fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from include.services.quality import GateReport

    sandbox = fleet["sandbox"]
    sandbox.set_workload(CLUSTER, "default", "web", 3000)
    monkeypatch.setattr(
        "include.capacity.quality.check_plan", lambda *a, **k: GateReport(False, ("expect_x: bad rows",), 1)
    )
    since = mark(sandbox)
    with pytest.raises(AirflowFailException, match="failed its gate, nothing was changed"):
        reconcile()
    assert [c for c in all_calls(sandbox, since) if is_mutating(c)] == []
    sandbox.set_workload(CLUSTER, "default", "web", 0)


def test_unknown_clusters_are_refused_before_any_call(fleet: dict[str, Any]) -> None:
    since = mark(fleet["sandbox"])
    with pytest.raises(AirflowFailException, match="not registered or not ready: ghost"):
        reconcile(clusters=["ghost"])
    assert all_calls(fleet["sandbox"], since) == []


#: issue 11 "faults during apply converge without duplicates": 30 % 503 on RunInstances, 25 % throttling
#: (429 + Retry-After) on every Kubernetes call
APPLY_FAULTS = [
    {
        "product": "ecs",
        "action": "RunInstances",
        "error": "ServiceUnavailable",
        "http_status": 503,
        "rate": 0.3,
    },
    {"product": "k8s", "action": "*", "error": "Throttling", "rate": 0.25},
]


def test_faults_during_apply_converge_without_duplicate_instances(fleet: dict[str, Any]) -> None:
    from operators.hooks.ecs import EcsHook

    sandbox = fleet["sandbox"]
    before = {i.instance_id for i in EcsHook(cluster=CLUSTER).list_cluster_instances(CLUSTER, role="worker")}
    sandbox.set_workload(CLUSTER, "default", "web", 6000)
    since = mark(sandbox)
    sandbox.set_faults(APPLY_FAULTS, seed=23)
    try:
        results = converge(runs=5)
    finally:
        sandbox.clear_faults()
    calls = all_calls(sandbox, since)
    launches = [c for c in calls if c["action"] == "RunInstances"]
    assert 503 in [c["status"] for c in launches], "no RunInstances fault fired; the test proves nothing"
    assert 429 in [c["status"] for c in calls if c["product"] == "k8s"], "no Kubernetes call was throttled"
    assert kube().get_deployment("default", "web").spec.replicas == 6
    wait_running("web", 6, timeout=60)
    planned = sum(a["count"] for r in results for a in actions(r) if a["kind"] == "add_nodes")
    live = {i.instance_id for i in EcsHook(cluster=CLUSTER).list_cluster_instances(CLUSTER, role="worker")}
    new = live - before
    # exactly the planned nodes were bought: every 503'd RunInstances was retried with its ClientToken
    assert planned >= 1 and len(new) == planned, (planned, sorted(new))
    joined = {n.provider_id.rsplit(".", 1)[-1] for n in workers()}
    assert new <= joined
    tokens = Counter(c["params"].get("ClientToken") for c in launches)
    ok_tokens = {c["params"].get("ClientToken") for c in launches if c["status"] == 200}
    assert len(ok_tokens) == len([a for r in results for a in actions(r) if a["kind"] == "add_nodes"])
    assert any(n > 1 for n in tokens.values())  # a retry re-sent its token
    sandbox.set_workload(CLUSTER, "default", "web", 0)


def test_a_run_started_by_the_watcher_reconciles_the_clusters_its_events_name() -> None:
    from types import SimpleNamespace

    from airflow.sdk import Asset

    watcher = Asset(name=steps.UNSCHEDULABLE_ASSET_NAME, uri=steps.UNSCHEDULABLE_ASSET_URI)
    clusters_asset = Asset(name="yunfleet_clusters", uri="x-yunfleet://registry/clusters")
    events = {
        watcher: [
            SimpleNamespace(
                extra={"from_trigger": True, "payload": {"cluster": "b", "pods": ["x/y"], "count": 1}}
            ),
            SimpleNamespace(
                extra={"from_trigger": True, "payload": {"cluster": "a", "pods": [], "count": 3}}
            ),
        ],
        clusters_asset: [SimpleNamespace(extra={"cluster": "c", "event": "provisioned"})],
    }
    assert steps.event_clusters({"triggering_asset_events": events}) == ["a", "b"]
    assert steps.event_clusters({"triggering_asset_events": {clusters_asset: events[clusters_asset]}}) == []
    assert steps.event_clusters({}) == []


def test_per_cluster_settings_override_the_fleets_for_that_cluster_only() -> None:
    scope = steps.run_settings(
        {"capacity": {"unneeded_time_s": 900}, "capacity_clusters": {"cap": {"new_node_grace_s": 0}}}
    )
    mine, other = steps.planner_settings(scope, "cap"), steps.planner_settings(scope, "prod")
    assert (mine["unneeded_time_s"], mine["new_node_grace_s"]) == (900, 0)
    assert (other["unneeded_time_s"], other["new_node_grace_s"]) == (900, 600)
    with pytest.raises(ValueError, match=r"capacity_clusters\['cap'\]: unknown capacity settings"):
        steps.run_settings({"capacity_clusters": {"cap": {"unneeded": 0}}})
    with pytest.raises(ValueError, match="must map cluster names"):
        steps.run_settings({"capacity_clusters": ["cap"]})
