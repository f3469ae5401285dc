"""The task code of zone_health / zone_failover without Airflow: what a run decides from the registry,
which load balancers and nodes an evacuation may touch, how the fleet is read, and how a provisioning
re-run keeps an evacuation. The DAG run itself is exercised in tests/e2e/test_zone_failover.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from flows import zone_failover as zf
from include.zones.machine import ZoneMachineState
from include.zones.settings import DEFAULT_SETTINGS
from include.zones.weights import Backend, LoadBalancer
from operators.zone_probe import FleetReader, FleetReads, drifted_zones

H, I, J = "cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"  # noqa: E741
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def machine(state: str, changed_at: datetime = NOW - timedelta(minutes=5)) -> ZoneMachineState:
    return ZoneMachineState(state=state, changed_at=changed_at, reason=f"{state} for the test")  # type: ignore[arg-type]


def evacuate(
    registry: Any,
    zone: str,
    source: str = "auto",
    *,
    expires_in: float = 3600,
    at: datetime = NOW,
    step: str = "evacuated",
    ticket: str | None = None,
) -> None:
    registry.start_or_extend_evacuation(
        zone, source=source, reason="test", ticket_id=ticket, expires_in_s=expires_in, now=at
    )
    if step != "evacuating":
        registry.update_evacuation_step(zone, step, now=at)


# -- what an automatic run decides ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "evacuations", "expected"),
    [
        pytest.param({H: "healthy", I: "healthy"}, [], [], id="all healthy: nothing"),
        pytest.param({H: "healthy", I: "suspect"}, [], [], id="suspect moves nothing"),
        pytest.param({I: "failed"}, [], [(I, "evacuate", "auto")], id="failed: evacuate"),
        pytest.param({I: "failed"}, [(I, "auto", 3600, "evacuated")], [], id="already evacuated"),
        pytest.param({I: "recovering"}, [], [], id="recovering without evacuation: nothing"),
        pytest.param(
            {I: "failed"},
            [(I, "auto", 3600, "evacuating")],
            [(I, "evacuate", "auto")],
            id="interrupted evacuation resumes",
        ),
        pytest.param(
            {I: "healthy"},
            [(I, "auto", 3600, "evacuated")],
            [(I, "restore", "auto")],
            id="healthy again: restore",
        ),
        pytest.param({I: "healthy"}, [(I, "manual", 3600, "evacuated")], [], id="manual holds until expiry"),
        pytest.param(
            {I: "healthy"},
            [(I, "manual", 60, "evacuated")],
            [(I, "restore", "expiry")],
            id="expired manual: restore",
        ),
        pytest.param(
            {I: "failed"},
            [(I, "manual", 60, "evacuated")],
            [(I, "evacuate", "auto")],
            id="expired but still failing: carried on",
        ),
        pytest.param(
            {I: "healthy"},
            [(I, "auto", 3600, "restoring:1")],
            [(I, "restore", "auto")],
            id="interrupted restore resumes",
        ),
    ],
)
def test_automatic_actions(
    flow_registry: Any,
    states: dict[str, str],
    evacuations: list[tuple[Any, ...]],
    expected: list[tuple[str, str, str]],
) -> None:
    registry = flow_registry.registry
    for zone, state in states.items():
        registry.put_zone_machine(zone, machine(state))
    for zone, source, expires, step in evacuations:
        evacuate(registry, zone, source, expires_in=expires, at=NOW - timedelta(seconds=120), step=step)
    got = [(a["zone"], a["action"], a["source"]) for a in zf.automatic_actions(registry, NOW)]
    assert got == expected


def test_a_manual_restore_during_an_outage_is_not_undone(flow_registry: Any) -> None:
    registry = flow_registry.registry
    registry.put_zone_machine(I, machine("failed", NOW - timedelta(minutes=10)))
    evacuate(registry, I, at=NOW - timedelta(minutes=9))
    registry.end_evacuation(I, source="manual", ticket_id="OPS-1", now=NOW - timedelta(minutes=1))
    assert zf.automatic_actions(registry, NOW) == []


# -- manual requests are checked before anything is read ---------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"zone_id": I}, "needs both zone_id and action"),
        ({"zone_id": I, "action": "drain", "ticket_id": "T-1"}, "action must be evacuate or restore"),
        (
            {"zone_id": "cn-hangzhou-z", "action": "evacuate", "ticket_id": "T-1"},
            "unknown zone 'cn-hangzhou-z'",
        ),
        ({"zone_id": I, "action": "evacuate"}, "needs a ticket_id"),
        (
            {"zone_id": I, "action": "evacuate", "ticket_id": "T-1", "expires_in": 30},
            "expires_in must be between",
        ),
    ],
)
def test_bad_manual_requests_fail_clearly(params: dict[str, Any], message: str) -> None:
    with pytest.raises(AirflowFailException, match=message) as err:
        zf.manual_action(params, {H, I}, DEFAULT_SETTINGS)
    assert "nothing was changed" in str(err.value)


def test_a_manual_request_carries_its_ticket_reason_and_expiry() -> None:
    action = zf.manual_action(
        {"zone_id": I, "action": "evacuate", "ticket_id": "OPS-9", "reason": "fiber cut", "expires_in": 600},
        {H, I},
        DEFAULT_SETTINGS,
    )
    assert action == {
        "zone": I,
        "action": "evacuate",
        "source": "manual",
        "ticket_id": "OPS-9",
        "reason": "fiber cut",
        "expires_in": 600.0,
    }


# -- what an evacuation may touch -------------------------------------------------------------------


def lb(lb_id: str, *backends: tuple[str, int, str]) -> LoadBalancer:
    return LoadBalancer(lb_id, "service-lb", tuple(Backend(s, w, z) for s, w, z in backends), "c")


def test_only_load_balancers_with_serving_backends_elsewhere_move() -> None:
    spread = lb("lb-spread", ("a", 100, H), ("b", 100, I))
    single = lb("lb-single", ("c", 100, I), ("d", 50, I))
    drained_elsewhere = lb("lb-zero-outside", ("e", 100, I), ("f", 0, H))
    elsewhere = lb("lb-h", ("g", 100, H))
    lbs = [spread, single, drained_elsewhere, elsewhere]
    assert [x.lb_id for x in zf.movable(lbs, I)] == ["lb-spread", "lb-h"]
    assert zf.pinned(lbs, I) == ["lb-single", "lb-zero-outside"]


def test_only_clusters_with_a_ready_node_elsewhere_are_cordoned() -> None:
    from include.zones.probes import NodeObservation

    reads = FleetReads(
        nodes=[
            NodeObservation("multi", H, "m1", True),
            NodeObservation("multi", I, "m2", False),
            NodeObservation("single", I, "s1", False),
        ],
        node_zones={"multi": {"m1": H, "m2": I}, "single": {"s1": I}},
    )
    assert zf.cordonable(reads, I) == [("multi", "m2")]


def test_weights_back_in_an_evacuated_zone_are_drift() -> None:
    reads = FleetReads(load_balancers=[lb("lb1", ("a", 100, H), ("b", 100, I)), lb("lb2", ("c", 100, I))])
    assert drifted_zones(reads, [I]) == {I}
    reads = FleetReads(load_balancers=[lb("lb1", ("a", 100, H), ("b", 0, I)), lb("lb2", ("c", 100, I))])
    assert drifted_zones(reads, [I]) == set()


# -- reading the fleet ------------------------------------------------------------------------------


class FakeEcs:
    def __init__(self, instances: list[Any] | None = None, fail: bool = False) -> None:
        self.instances, self.fail = instances or [], fail

    def list_cluster_instances(self, cluster: str, live_only: bool = True) -> list[Any]:
        if self.fail:
            raise RuntimeError("Throttling.User")
        return self.instances


class FakeSlb:
    def __init__(self, backends: dict[str, int], health: dict[str, str], listener: str = "running") -> None:
        self.backends, self.health, self.listener = backends, health, listener

    def find_load_balancers(self, cluster: str) -> list[Any]:
        return [SimpleNamespace(load_balancer_id="lb-1", tags={"yunfleet:role": "service-lb"})]

    def describe_load_balancer(self, lb_id: str) -> Any:
        return SimpleNamespace(backends=self.backends, listener_ports=[80])

    def backend_health(self, lb_id: str) -> dict[str, str]:
        return self.health

    def listener_status(self, lb_id: str, port: int) -> str:
        return self.listener


def instance(iid: str, zone: str, status: str = "Running", role: str = "worker") -> Any:
    return SimpleNamespace(instance_id=iid, zone_id=zone, status=status, tags={"yunfleet:role": role})


def registry_with(cluster: str = "c") -> Any:
    record = SimpleNamespace(
        name=cluster, state="ready", node_pools=[SimpleNamespace(zone_id=H)], spec={"zones": [H, I]}
    )
    return SimpleNamespace(list_clusters=lambda: [record])


class FakeKube:
    def __init__(self, nodes: list[Any] | None = None, fail: bool = False, ready: bool = True) -> None:
        self.nodes, self.fail, self.ready = nodes or [], fail, ready

    def list_nodes(self) -> list[Any]:
        if self.fail:
            raise RuntimeError("connection refused")
        return self.nodes

    def api_server_ready(self) -> bool:
        if self.fail:
            raise RuntimeError("connection refused")
        return self.ready


def test_the_reader_judges_what_the_apis_answer() -> None:
    ecs = FakeEcs(
        [
            instance("i-cp", H, role="control-plane"),
            instance("i-a", H),
            instance("i-b", I),
            instance("i-gone", I, "Stopping"),
        ]
    )
    slb = FakeSlb({"i-a": 100, "i-b": 0}, {"i-a": "normal", "i-b": "abnormal"}, listener="stopped")
    node = SimpleNamespace(name="n-b", zone=I, ready=False, node_pool="general")
    reads = FleetReader(registry_with(), ecs, slb, lambda c: FakeKube([node])).read()
    assert reads.zones == {H, I} and reads.clusters == ["c"]
    assert sorted(i.instance_id for i in reads.instances) == ["i-a", "i-b", "i-cp"]  # Stopping: on purpose
    # a backend at weight 0 takes no traffic: its health decides nothing; a stopped listener is bad
    assert [(b.server_id, b.listener_running) for b in reads.backends] == [("i-a", False)]
    assert [(b.server_id, b.weight, b.zone) for b in reads.load_balancers[0].backends] == [
        ("i-a", 100, H),
        ("i-b", 0, I),
    ]
    assert reads.node_pools == {"c": {"n-b": "general"}} and reads.node_zones == {"c": {"n-b": I}}
    assert [(a.zone, a.ready) for a in reads.apiservers] == [(H, True)]
    assert reads.errors == [] and reads.cloud_errors == []


def test_a_failed_cloud_read_is_a_cloud_error_and_a_failed_cluster_read_is_not() -> None:
    reads = FleetReader(
        registry_with(), FakeEcs(fail=True), FakeSlb({}, {}), lambda c: FakeKube(fail=True)
    ).read()
    assert len(reads.cloud_errors) == 1 and "DescribeInstances" in reads.cloud_errors[0]
    assert len(reads.errors) == 2 and "nodes not listed" in reads.errors[1]
    assert reads.nodes == [] and reads.apiservers == []  # unknown, never bad


# -- a provisioning re-run during an evacuation ------------------------------------------------------


def test_provisioning_keeps_an_evacuated_zone_at_weight_zero(
    flow_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows import provision_cluster

    registry = flow_registry.registry
    ecs = SimpleNamespace(describe_instances=lambda instance_ids: [instance("i-1", H), instance("i-2", I)])
    monkeypatch.setattr("flows.hooks.ecs", lambda cluster=None: ecs)
    assert provision_cluster.control_plane_weights("c", ["i-1", "i-2"]) == ({"i-1": 100, "i-2": 100}, {})
    evacuate(registry, I)
    weights, held = provision_cluster.control_plane_weights("c", ["i-1", "i-2"])
    assert weights == {"i-1": 100, "i-2": 0} and held == {I: ["i-2"]}
