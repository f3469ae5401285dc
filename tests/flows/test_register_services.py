"""``register_services`` task code against the sandbox, outside a scheduler.

Two live simulated clusters (``east`` and ``west``), made once for the module; Services are created
through the kubernetes client and get their SLB address from the sandbox's cloud controller; the run's
tasks are called in the DAG's order; DNS is checked with dnspython against the sandbox's DNS server and
records through the official Alidns SDK. The DAG itself, through the REST API, is in tests/e2e.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest
from airflow.sdk.exceptions import AirflowFailException
from alibabacloud_alidns20150109 import models as dns_models
from cryptography.fernet import Fernet
from kubernetes.client.exceptions import ApiException

from flows import register_services as steps
from include.audit import AuditStore
from include.registry import create_registry_engine, migrate
from tests.fixtures.building_blocks import alibaba_conn_json
from tests.fixtures.flows import flow_context, load_dag
from tests.fixtures.provisioning import READ_PREFIXES, all_calls, resolve

DOMAIN = "fleet.example.com"
EAST, WEST = "east", "west"
ZONE = {EAST: "cn-hangzhou-h", WEST: "cn-hangzhou-i"}


@pytest.fixture(scope="module")
def fleet(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Connections to the session sandbox and a fresh registry; two ready clusters, one zone each."""
    from tests.fixtures.fleet_cluster import make_cluster

    sandbox.reset()
    home = tmp_path_factory.mktemp("register-services")
    url = f"sqlite:///{home / 'yunfleet.db'}"
    engine = create_registry_engine(url)
    migrate(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT", alibaba_conn_json(sandbox, fleet_id="test"))
        patch.setenv("AIRFLOW_CONN_YUNFLEET_DB", json.dumps({"conn_type": "generic", "extra": {"url": url}}))
        patch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
        from operators.hooks.registry import YunfleetRegistryHook

        store = AuditStore(engine)
        registry = YunfleetRegistryHook().registry
        for name in (EAST, WEST):
            make_cluster(name, 1, store, None)
            registry.upsert_cluster(name, region_id="cn-hangzhou", domain=DOMAIN, state="ready")
            registry.upsert_node_pool(
                name,
                "general",
                zone_id=ZONE[name],
                instance_type="ecs.g7.large",
                min_size=1,
                max_size=3,
                desired_size=1,
            )
            kube(name).create_namespace({"metadata": {"name": "shop"}})
        yield {"sandbox": sandbox, "registry": registry, "audit": store, "patch": patch}
        _HOOKS.clear()
    engine.dispose()


# -- helpers ---------------------------------------------------------------------------------------


def reconcile(before_apply: Callable[[], None] | None = None, **params: Any) -> dict[str, Any]:
    """One run: the tasks in the DAG's order, XComs passed as the scheduler would; ``before_apply``
    is called between the plan and the apply step (what happens elsewhere while a run is underway)."""
    dag = load_dag("register_services")
    ctx = flow_context(dag, "select_clusters", params)
    clusters = steps.select_clusters.function(**ctx)
    xcoms = dict(ctx["ti"].xcoms)
    xcoms[("select_clusters", "return_value")] = clusters
    observed = [
        steps.observe_cluster.function(c, **flow_context(dag, "observe_cluster", params)) for c in clusters
    ]
    xcoms[("observe_cluster", "return_value")] = observed

    def context(task_id: str) -> dict[str, Any]:
        found = flow_context(dag, task_id, params)
        found["ti"].xcoms.update(xcoms)
        return found

    planned = steps.plan.function(**context("plan"))
    show = context("show_plan")
    if not steps.show_plan.function(planned, **show):
        return {"plan": planned, "dry_run": True}
    if before_apply is not None:
        before_apply()
    applied = steps.apply.function(planned, **context("apply"))
    report = steps.report.function(planned, applied, **context("report"))
    return {"plan": planned, "applied": applied, "report": report}


_HOOKS: dict[str, Any] = {}


def kube(cluster: str) -> Any:
    """The kubernetes client's CoreV1Api of a cluster (its hook kept alive: it owns the key files)."""
    from operators.hooks.kubernetes import FleetKubernetesHook

    if cluster not in _HOOKS:
        _HOOKS[cluster] = FleetKubernetesHook(cluster)
    return _HOOKS[cluster].core_v1_client


def export(cluster: str, name: str, *, weight: int | None = None, namespace: str = "shop") -> str:
    """Create (or re-annotate) a LoadBalancer Service; returns its SLB address once it has one."""
    from tests.sandbox.kube.helpers import wait_until

    core = kube(cluster)
    annotations = {"yunfleet.io/export": "true"}
    if weight is not None:
        annotations["yunfleet.io/weight"] = str(weight)
    body = {
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": name},
            "ports": [{"port": 80, "targetPort": 8080}],
        },
    }
    try:
        core.create_namespaced_service(namespace, body)
    except ApiException as exc:  # already there: set the annotations
        if exc.status != 409:
            raise
        core.patch_namespaced_service(name, namespace, {"metadata": {"annotations": annotations}})
    service = wait_until(
        lambda: (s := core.read_namespaced_service(name, namespace)).status.load_balancer.ingress and s,
        timeout=30,
        what=f"{cluster}/{namespace}/{name} load balancer address",
    )
    return str(service.status.load_balancer.ingress[0].ip)


def mark(sandbox: Any) -> int:
    return int(sandbox.calls()["next"])


def dns_writes(sandbox: Any, since: int) -> list[str]:
    return [
        c["action"]
        for c in all_calls(sandbox, since)
        if c["product"] == "alidns" and not str(c["action"]).startswith(READ_PREFIXES)
    ]


def answers(sandbox: Any, name: str, queries: int) -> Counter[str]:
    """How often each address is answered over ``queries`` A queries."""
    counted: Counter[str] = Counter()
    for _ in range(queries):
        counted.update(resolve(sandbox, name))
    return counted


def txt(sandbox: Any, name: str) -> list[str]:
    response = dns.query.udp(
        dns.message.make_query(name, dns.rdatatype.TXT), "127.0.0.1", port=sandbox.dns_port, timeout=5
    )
    return sorted(b"".join(r.strings).decode() for rrset in response.answer for r in rrset)


def zone_records(sandbox: Any) -> list[dict[str, Any]]:
    client = sandbox.dns_client()
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.describe_domain_records(
            dns_models.DescribeDomainRecordsRequest(domain_name=DOMAIN, page_number=page, page_size=500)
        ).body.to_map()
        batch = body["DomainRecords"]["Record"]
        found += batch
        if len(batch) < 500:
            return found
        page += 1


def fqdn(rr: str) -> str:
    return f"{rr}.{DOMAIN}"


# -- tests (in module order: each starts from what the previous left) -------------------------------


def test_two_clusters_publish_their_names_and_a_weighted_global_name(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    east, west = export(EAST, "web"), export(WEST, "web", weight=30)
    first_row = fleet["audit"].max_id()
    result = reconcile(ticket_id="OPS-10")
    assert result["report"]["published"] == 3 and result["applied"]["failures"] == []
    assert resolve(sandbox, fqdn("web.shop.east")) == [east]
    assert resolve(sandbox, fqdn("web.shop.west")) == [west]
    # weighted round robin: 10 (default) and 30 over 40 queries
    assert answers(sandbox, fqdn("web.shop.global"), 40) == {east: 10, west: 30}
    assert txt(sandbox, fqdn("_yunfleet.web.shop.global")) == [
        "heritage=yunfleet,owner=fleet/test,source=global/shop/web"
    ]
    assert txt(sandbox, fqdn("_yunfleet.web.shop.east")) == [
        "heritage=yunfleet,owner=fleet/test,source=east/shop/web"
    ]
    rows = fleet["audit"].list(since_id=first_row, product="alidns")
    assert len(rows) == result["applied"]["sent"] and {r.outcome for r in rows} == {"ok"}


def test_a_dry_run_writes_nothing_and_records_its_plan(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    export(EAST, "cart")
    since, first_row = mark(sandbox), fleet["audit"].max_id()
    result = reconcile(dry_run=True, ticket_id="OPS-11")
    assert result["dry_run"] is True and dns_writes(sandbox, since) == []
    planned = result["plan"]["plan"]
    expected = sum(len(n["changes"]) for n in planned["names"])
    rows = fleet["audit"].list(since_id=first_row)
    assert len(rows) == expected == 4 and {r.outcome for r in rows} == {"dry_run"}
    assert resolve(sandbox, fqdn("cart.shop.east")) == []


def test_unexport_takes_a_cluster_out_of_the_global_name(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    east, west = export(EAST, "cart"), export(WEST, "cart")
    reconcile()
    assert set(answers(sandbox, fqdn("cart.shop.global"), 4)) == {east, west}
    kube(WEST).patch_namespaced_service(
        "cart", "shop", {"metadata": {"annotations": {"yunfleet.io/export": "false"}}}
    )
    since = mark(sandbox)
    reconcile()
    assert Counter(dns_writes(sandbox, since)) == {"DeleteDomainRecord": 3}
    assert set(answers(sandbox, fqdn("cart.shop.global"), 4)) == {east}
    assert resolve(sandbox, fqdn("cart.shop.west")) == []
    assert txt(sandbox, fqdn("_yunfleet.cart.shop.west")) == []


def test_a_failed_zone_disables_its_cluster_and_recovery_restores_it(fleet: dict[str, Any]) -> None:
    sandbox, registry = fleet["sandbox"], fleet["registry"]
    east, west = export(EAST, "web"), export(WEST, "web", weight=30)
    registry.set_zone_state(ZONE[WEST], "failed", detail={"reason": "test outage"})
    since = mark(sandbox)
    reconcile()
    assert dns_writes(sandbox, since) == ["SetDomainRecordStatus"]
    assert set(answers(sandbox, fqdn("web.shop.global"), 10)) == {east}
    status = {r["Value"]: r["Status"] for r in zone_records(sandbox) if r["RR"] == "web.shop.global"}
    assert status == {east: "ENABLE", west: "DISABLE"}
    assert resolve(sandbox, fqdn("web.shop.west")) == [west]  # its own name still answers
    registry.set_zone_state(ZONE[WEST], "recovering")
    since = mark(sandbox)
    reconcile()
    assert dns_writes(sandbox, since) == ["SetDomainRecordStatus"]
    assert answers(sandbox, fqdn("web.shop.global"), 40) == {east: 10, west: 30}
    registry.set_zone_state(ZONE[WEST], "healthy")


def test_an_evacuation_disables_at_once_and_a_run_planned_before_it_does_not_undo_it(
    fleet: dict[str, Any],
) -> None:
    sandbox, registry = fleet["sandbox"], fleet["registry"]
    east, west = export(EAST, "web"), export(WEST, "web", weight=30)
    reconcile()
    zone = ZONE[WEST]

    def evacuate() -> None:
        registry.start_or_extend_evacuation(zone, source="manual", reason="test evacuation", expires_in_s=600)

    try:
        # the fast path of zone_failover: one read of the zone, one write, no cluster read
        evacuate()
        since = mark(sandbox)
        done = steps.disable_out_of_service()
        assert done == {"disabled": [f"{fqdn('web.shop.global')} A {west}"], "enabled": [], "failures": []}
        calls = [(c["product"], c["action"]) for c in all_calls(sandbox, since)]
        assert calls == [("alidns", "DescribeDomainRecords"), ("alidns", "SetDomainRecordStatus")]
        assert set(answers(sandbox, fqdn("web.shop.global"), 10)) == {east}
        assert resolve(sandbox, fqdn("web.shop.west")) == [west]
        # again: nothing more to do
        since = mark(sandbox)
        assert steps.disable_out_of_service()["disabled"] == []
        assert dns_writes(sandbox, since) == []
        # a run that planned while the zone was back (west to be enabled again) and applies after the
        # zone was evacuated once more holds the enable back
        registry.end_evacuation(zone, source="manual")
        since = mark(sandbox)
        run = reconcile(before_apply=evacuate)
        assert [c["action"] for c in run["plan"]["plan"]["names"][0]["changes"]] == ["SetDomainRecordStatus"]
        assert run["applied"]["held_back"] == [
            f"{fqdn('web.shop.global')}: 1 write(s) held back ({WEST} no longer serving)"
        ]
        assert dns_writes(sandbox, since) == []
        status = {r["Value"]: r["Status"] for r in zone_records(sandbox) if r["RR"] == "web.shop.global"}
        assert status == {east: "ENABLE", west: "DISABLE"}
    finally:
        if registry.active_evacuation(zone) is not None:
            registry.end_evacuation(zone, source="manual")
    reconcile()
    assert answers(sandbox, fqdn("web.shop.global"), 40) == {east: 10, west: 30}


def test_the_fast_path_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*_: Any, **__: Any) -> Any:
        raise OSError("registry unreachable")

    monkeypatch.setattr(steps, "out_of_service_plan", unreachable)
    assert steps.disable_out_of_service() == {
        "disabled": [],
        "enabled": [],
        "failures": ["OSError: registry unreachable"],
    }


def test_foreign_records_stay_byte_identical_and_other_names_register(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    client = sandbox.dns_client()
    foreign = [
        ("api.shop.east", "A", "198.51.100.80"),
        ("_yunfleet.api.shop.west", "TXT", "heritage=yunfleet,owner=fleet/other,source=west/shop/api"),
        ("api.shop.global", "TXT", "v=spf1 include:_spf.example.org -all"),
    ]
    for rr, rtype, value in foreign:
        client.add_domain_record(
            dns_models.AddDomainRecordRequest(domain_name=DOMAIN, rr=rr, type=rtype, value=value, ttl=600)
        )
    before = {
        r["RecordId"]: r
        for r in zone_records(sandbox)
        if r["RR"].endswith("api.shop.east")
        or r["RR"].endswith("api.shop.west")
        or r["RR"] == "api.shop.global"
    }
    export(EAST, "api")
    export(WEST, "api")
    east_pay = export(EAST, "pay")
    result = reconcile()
    conflicts = result["report"]["conflicts"]
    assert sorted(c.split(":")[0] for c in conflicts) == sorted(
        fqdn(rr) for rr in ("api.shop.east", "api.shop.west", "api.shop.global")
    )
    after = {r["RecordId"]: r for r in zone_records(sandbox) if r["RecordId"] in before}
    assert after == before  # byte-identical, timestamps included
    assert resolve(sandbox, fqdn("pay.shop.east")) == [east_pay]  # other names still register
    since = mark(sandbox)
    again = reconcile()
    assert dns_writes(sandbox, since) == [] and len(again["report"]["conflicts"]) == 3


def test_a_record_deleted_by_hand_is_recreated_with_one_write(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    client = sandbox.dns_client()
    ours = next(r for r in zone_records(sandbox) if r["RR"] == "web.shop.east" and r["Type"] == "A")
    client.delete_domain_record(dns_models.DeleteDomainRecordRequest(record_id=ours["RecordId"]))
    assert resolve(sandbox, fqdn("web.shop.east")) == []
    since = mark(sandbox)
    reconcile()
    assert dns_writes(sandbox, since) == ["AddDomainRecord"]
    assert resolve(sandbox, fqdn("web.shop.east")) == [ours["Value"]]


def test_converged_run_over_1200_records_reads_pages_and_clusters_only(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    client = sandbox.bulk_dns_client()  # the sandbox's 200/s limit

    def add(i: int) -> None:
        client.add_domain_record(
            dns_models.AddDomainRecordRequest(
                domain_name=DOMAIN, rr=f"host{i}.lab", type="A", value="198.51.100.9", ttl=600
            )
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, range(1200)))
    reconcile()  # whatever the previous tests left to converge
    total = len(zone_records(sandbox))
    assert total > 1200
    since = mark(sandbox)
    result = reconcile()
    calls = all_calls(sandbox, since)
    assert result["plan"]["records"] == total and result["applied"]["sent"] == 0
    assert dns_writes(sandbox, since) == []
    dns_reads = Counter(c["action"] for c in calls if c["product"] == "alidns")
    assert dns_reads == {"DescribeDomainRecords": math.ceil(total / 500)}
    kube_calls = [c for c in calls if c["product"] == "k8s"]
    assert len(kube_calls) == 2, kube_calls  # one Service list per cluster


def test_throttling_faults_still_converge(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    east, west = export(EAST, "search"), export(WEST, "search", weight=50)
    sandbox.set_faults(
        [
            {"product": "alidns", "action": "*", "error": "Throttling.User", "rate": 0.3},
            {"product": "k8s", "action": "*", "error": "Throttling", "rate": 0.2},
        ],
        seed=10,
    )
    try:
        since = mark(sandbox)
        result = reconcile()
        refused = [c for c in all_calls(sandbox, since) if c.get("error_code")]
    finally:
        sandbox.clear_faults()
    assert refused, "the faults were not injected"
    assert result["applied"]["failures"] == []
    assert answers(sandbox, fqdn("search.shop.global"), 60) == {east: 10, west: 50}
    since = mark(sandbox)
    reconcile()
    assert dns_writes(sandbox, since) == []


def test_a_ttl_below_the_edition_minimum_fails_before_any_write(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    export(EAST, "mail")
    fleet["patch"].setenv(
        "AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT", alibaba_conn_json(sandbox, fleet_id="test", service_dns_ttl=30)
    )
    since = mark(sandbox)
    try:
        with pytest.raises(AirflowFailException, match=r"service_dns_ttl 30 s is below the minimum TTL 60 s"):
            reconcile()
    finally:
        fleet["patch"].setenv(
            "AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT", alibaba_conn_json(sandbox, fleet_id="test")
        )
    assert dns_writes(sandbox, since) == []
    actions = [c["action"] for c in all_calls(sandbox, since) if c["product"] == "alidns"]
    assert actions[-1] == "DescribeDomainInfo"


def test_unknown_clusters_are_refused_before_any_call(fleet: dict[str, Any]) -> None:
    sandbox = fleet["sandbox"]
    since = mark(sandbox)
    with pytest.raises(AirflowFailException, match=r"clusters not in the fleet registry: nowhere"):
        reconcile(clusters=["nowhere"])
    assert all_calls(sandbox, since) == []


def test_decommission_withdraws_the_cluster_names(fleet: dict[str, Any]) -> None:
    """``decommission_cluster``'s ``delete_dns`` takes the cluster's Service names out first."""
    from flows import decommission_cluster
    from include.provisioning.decommission import plan_decommission

    sandbox = fleet["sandbox"]
    reconcile()
    east = resolve(sandbox, fqdn("web.shop.east"))
    fleet["registry"].set_cluster_state(WEST, "decommissioning")
    params = {"cluster_name": WEST, "confirm_cluster_name": WEST, "ticket_id": "OPS-12"}
    inv = {"plan": plan_decommission(WEST, [], registered=True).to_json(), "domain": DOMAIN, "dns_owners": {}}
    context = flow_context(load_dag("decommission_cluster"), "delete_dns", params)
    deleted = decommission_cluster.delete_dns.function(inv, **context)["deleted"]
    assert deleted and all(".west." in d or ".global." in d for d in deleted)
    names = {r["RR"] for r in zone_records(sandbox)}
    assert not {n for n in names if n.endswith(".west") and not n.startswith("_yunfleet.api.")}
    assert set(answers(sandbox, fqdn("web.shop.global"), 6)) == set(east)
    assert resolve(sandbox, fqdn("web.shop.east")) == east
    assert txt(sandbox, fqdn("_yunfleet.api.shop.west")) != []  # the other fleet's record stays
    # a run while west is decommissioning has nothing left to remove
    since = mark(sandbox)
    reconcile()
    assert dns_writes(sandbox, since) == []


# -- the run's end, without a cloud ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("xcoms", "expected"),
    [
        ({("report", "return_value"): {"published": 3}}, "done"),
        ({("show_plan", "yunfleet_dry_run_done"): True}, "dry run: plan shown, nothing changed"),
        (
            {
                ("apply", "return_value"): {"sent": 2, "failures": ["x"]},
                ("report", "yunfleet_error"): "AirflowFailException: 1 problem(s): x",
            },
            "failed: report: AirflowFailException: 1 problem(s): x",
        ),
        (
            {("select_clusters", "yunfleet_error"): "AirflowFailException: invalid clusters"},
            "failed: select_clusters: AirflowFailException: invalid clusters; nothing was changed",
        ),
    ],
)
def test_finish_without_a_cluster_lock(xcoms: dict[tuple[str, str], Any], expected: str) -> None:
    from flows import run

    dag = load_dag("register_services")
    context = flow_context(dag, "finish", {})
    context["ti"].xcoms.update(xcoms)
    if expected.startswith("failed"):
        with pytest.raises(AirflowFailException) as info:
            run.finish(context, steps.LIFECYCLE)
        assert str(info.value) == expected
    else:
        assert run.finish(context, steps.LIFECYCLE) == {"outcome": "success", "message": expected}
