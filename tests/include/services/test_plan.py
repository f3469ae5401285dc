"""The Service registry's planner, table-tested against an in-memory zone.

Each case plans, applies the plan to the zone as Alidns would, and plans again: the second plan must
be empty (a converged fleet makes no write).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from include.fleet.contract import ownership_value
from include.services.changes import (
    ADD,
    DELETE,
    SET_STATUS,
    SET_WEIGHT,
    SET_WEIGHTED,
    UPDATE,
    NamePlan,
    RecordChange,
)
from include.services.model import (
    MODE_GONE,
    MODE_KEPT,
    MODE_OBSERVED,
    ClusterView,
    ExportedService,
    RegistrationSettings,
)
from include.services.plan import ServicePlan, plan_registrations
from tests.include.services.zone import DOMAIN, OWNER, FakeZone

SETTINGS = RegistrationSettings(domain=DOMAIN, owner=OWNER, ttl=60)
IP1, IP2, IP3 = "203.0.113.10", "203.0.113.20", "203.0.113.30"


def svc(cluster: str, ip: str | None, name: str = "web", ns: str = "shop", **kw: Any) -> ExportedService:
    return ExportedService(cluster, ns, name, (ip,) if ip else (), **kw)


def view(
    name: str, *services: ExportedService, mode: str = MODE_OBSERVED, serving: bool = True
) -> ClusterView:
    return ClusterView(name, mode, serving=serving, reason="test", services=tuple(services))


def fleet(*views: ClusterView) -> dict[str, ClusterView]:
    return {v.name: v for v in views}


def plan(
    zone: FakeZone, clusters: dict[str, ClusterView], settings: RegistrationSettings = SETTINGS
) -> ServicePlan:
    return plan_registrations(settings, zone.listing(), clusters)


def converge(zone: FakeZone, clusters: dict[str, ClusterView], **kw: Any) -> ServicePlan:
    """Plan, apply, and check that planning again changes nothing; returns the first plan."""
    first = plan(zone, clusters, **kw)
    zone.apply(first)
    second = plan(zone, clusters, **kw)
    assert second.changes == [], "\n".join(second.summary())
    return first


def actions(p: ServicePlan) -> Counter[str]:
    return Counter(c.action for c in p.changes)


TWO = fleet(view("c1", svc("c1", IP1)), view("c2", svc("c2", IP2, weight=30)))


def test_from_empty_publishes_both_names_with_ownership_first() -> None:
    zone = FakeZone()
    first = converge(zone, TWO)
    assert actions(first) == {ADD: 3 + 4, SET_WEIGHTED: 1, SET_WEIGHT: 2}
    for name in first.names:
        assert name.changes[0].action == ADD and name.changes[0].rr == f"_yunfleet.{name.rr}"
    assert [r.value for r in zone.at("web.shop.c1")] == [IP1]
    assert [r.value for r in zone.at("web.shop.c2")] == [IP2]
    shared = zone.at("web.shop.global")
    assert [(r.value, r.weight, r.enabled) for r in shared] == [(IP1, 10, True), (IP2, 30, True)]
    assert [r.value for r in zone.at("_yunfleet.web.shop.global", "TXT")] == [
        ownership_value(OWNER, "global/shop/web")
    ]
    assert [r.value for r in zone.at("_yunfleet.web.shop.c1", "TXT")] == [
        ownership_value(OWNER, "c1/shop/web")
    ]
    assert first.published == 3


def test_one_cluster_gives_a_global_name_without_weights() -> None:
    zone = FakeZone()
    first = converge(zone, fleet(view("c1", svc("c1", IP1))))
    assert actions(first) == {ADD: 4}


@pytest.mark.parametrize(
    ("change", "clusters", "expected"),
    [
        pytest.param(
            "unexport in c2",
            fleet(view("c1", svc("c1", IP1)), view("c2")),
            {DELETE: 3},  # c2's A and TXT, and its global record
            id="unexport",
        ),
        pytest.param(
            "c2 not serving",
            fleet(view("c1", svc("c1", IP1)), view("c2", svc("c2", IP2, weight=30), serving=False)),
            {SET_STATUS: 1},
            id="failed-zone",
        ),
        pytest.param(
            "c2 weight 30 -> 50",
            fleet(view("c1", svc("c1", IP1)), view("c2", svc("c2", IP2, weight=50))),
            {SET_WEIGHT: 1},
            id="reweight",
        ),
        pytest.param(
            "a third cluster joins",
            fleet(*TWO.values(), view("c3", svc("c3", IP3))),
            {ADD: 3, SET_WEIGHT: 1},
            id="join",
        ),
        pytest.param(
            "c2 leaves the fleet",
            fleet(view("c1", svc("c1", IP1)), view("c2", mode=MODE_GONE)),
            {DELETE: 3},
            id="gone",
        ),
        pytest.param(
            "c2 unknown to the registry (complete run)",
            fleet(view("c1", svc("c1", IP1))),
            {DELETE: 3},
            id="unregistered",
        ),
        pytest.param(
            "c2 kept (not observed)",
            fleet(view("c1", svc("c1", IP1)), view("c2", mode=MODE_KEPT)),
            {},
            id="kept",
        ),
        pytest.param(
            "c2 unreadable in a failed zone: out of the global name, its own name as it is",
            fleet(view("c1", svc("c1", IP1)), view("c2", mode=MODE_KEPT, serving=False)),
            {SET_STATUS: 1},
            id="kept-not-serving",
        ),
        pytest.param(
            "a second Service in c1",
            fleet(view("c1", svc("c1", IP1), svc("c1", IP3, name="api")), TWO["c2"]),
            {ADD: 4},
            id="second-service",
        ),
    ],
)
def test_changes_from_a_converged_fleet(
    change: str, clusters: dict[str, ClusterView], expected: dict[str, int]
) -> None:
    zone = FakeZone()
    converge(zone, TWO)
    second = converge(zone, clusters)
    assert actions(second) == expected, change


def test_an_unreadable_failed_cluster_keeps_its_weight_and_comes_back_when_read() -> None:
    zone = FakeZone()
    converge(zone, TWO)
    converge(zone, fleet(TWO["c1"], view("c2", mode=MODE_KEPT, serving=False)))
    assert {r.value: (r.enabled, r.weight) for r in zone.at("web.shop.global")} == {
        IP1: (True, 10),
        IP2: (False, 30),
    }
    assert [r.value for r in zone.at("web.shop.c2")] == [IP2]
    again = converge(zone, TWO)
    assert actions(again) == {SET_STATUS: 1}
    assert {r.value: r.enabled for r in zone.at("web.shop.global")} == {IP1: True, IP2: True}


def test_failed_cluster_is_disabled_and_restored_on_recovery() -> None:
    zone = FakeZone()
    converge(zone, TWO)
    failed = fleet(TWO["c1"], view("c2", svc("c2", IP2, weight=30), serving=False))
    converge(zone, failed)
    assert {r.value: r.enabled for r in zone.at("web.shop.global")} == {IP1: True, IP2: False}
    assert [r.enabled for r in zone.at("web.shop.c2")] == [True]  # its own name still answers
    back = converge(zone, TWO)
    assert [(c.action, c.status) for c in back.changes] == [(SET_STATUS, "Enable")]


def test_every_cluster_failed_keeps_the_name_answering() -> None:
    zone = FakeZone()
    converge(zone, TWO)
    down = fleet(*(replace(v, serving=False) for v in TWO.values()))
    result = converge(zone, down)
    assert result.changes == []
    assert any("fail-open" in n for n in result.notes)
    assert all(r.enabled for r in zone.at("web.shop.global"))


def test_a_failed_cluster_does_not_join_a_global_name() -> None:
    zone = FakeZone()
    converge(zone, fleet(TWO["c1"]))
    result = converge(zone, fleet(TWO["c1"], view("c2", svc("c2", IP2), serving=False)))
    assert [r.value for r in zone.at("web.shop.global")] == [IP1]
    assert [r.value for r in zone.at("web.shop.c2")] == [IP2]
    assert actions(result) == {ADD: 2}


@pytest.mark.parametrize(
    ("rr", "rtype", "value"),
    [
        ("web.shop.c1", "A", "198.51.100.7"),  # someone's A record at our name
        ("_yunfleet.web.shop.c1", "TXT", ownership_value("fleet/other", "c1/shop/web")),  # another fleet
        ("web.shop.c1", "TXT", "v=spf1 include:mail.example.org -all"),  # an SPF record
        ("web.shop.c1", "CNAME", "elsewhere.example.org"),
    ],
)
def test_foreign_records_are_reported_and_never_touched(rr: str, rtype: str, value: str) -> None:
    zone = FakeZone()
    foreign = zone.add(rr, rtype, value, 600)
    result = converge(zone, TWO)
    assert len(result.conflicts) == 1 and result.conflicts[0].startswith(f"web.shop.c1.{DOMAIN}:")
    assert zone.records[foreign.record_id] == foreign
    touched = {c.rr for c in result.changes}
    assert not touched & {"web.shop.c1", "_yunfleet.web.shop.c1"}
    assert [r.value for r in zone.at("web.shop.c2")] == [IP2]
    assert {r.value for r in zone.at("web.shop.global")} == {IP1, IP2}


def test_a_foreign_global_name_leaves_the_cluster_names_registered() -> None:
    zone = FakeZone()
    zone.add("web.shop.global", "TXT", "v=spf1 -all", 600)
    result = converge(zone, TWO)
    assert [c.split(":")[0] for c in result.conflicts] == [f"web.shop.global.{DOMAIN}"]
    assert zone.at("web.shop.global") == []
    assert [r.value for r in zone.at("web.shop.c1")] == [IP1]


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("delete-a", {ADD: 1}),
        ("delete-global", {ADD: 1, SET_WEIGHT: 1}),
        ("change-value", {UPDATE: 1}),
        ("change-ttl", {UPDATE: 1}),
        ("disable", {SET_STATUS: 1}),
        ("reweight", {SET_WEIGHT: 1}),
        ("retag-owner-source", {UPDATE: 1}),
        ("extra-a-at-cluster-name", {DELETE: 1}),
    ],
)
def test_hand_damage_is_repaired_with_exactly_the_writes_needed(
    damage: str, expected: dict[str, int]
) -> None:
    zone = FakeZone()
    converge(zone, TWO)
    local = zone.at("web.shop.c1")[0]
    shared = {r.value: r for r in zone.at("web.shop.global")}
    if damage == "delete-a":
        del zone.records[local.record_id]
    elif damage == "delete-global":
        del zone.records[shared[IP2].record_id]
    elif damage == "change-value":
        zone.records[local.record_id] = replace(local, value="198.51.100.99")
    elif damage == "change-ttl":
        zone.records[local.record_id] = replace(local, ttl=3600)
    elif damage == "disable":
        zone.records[shared[IP1].record_id] = replace(shared[IP1], status="DISABLE")
    elif damage == "reweight":
        zone.records[shared[IP1].record_id] = replace(shared[IP1], weight=99)
    elif damage == "retag-owner-source":
        claim = zone.at("_yunfleet.web.shop.c1", "TXT")[0]
        zone.records[claim.record_id] = replace(claim, value=ownership_value(OWNER, "c9/x/y"))
    elif damage == "extra-a-at-cluster-name":
        zone.add("web.shop.c1", "A", "198.51.100.5")
    repair = converge(zone, TWO)
    assert actions(repair) == expected


def test_a_deleted_ownership_record_makes_the_name_foreign() -> None:
    zone = FakeZone()
    converge(zone, TWO)
    claim = zone.at("_yunfleet.web.shop.c1", "TXT")[0]
    del zone.records[claim.record_id]
    result = converge(zone, TWO)
    assert result.changes == [] and len(result.conflicts) == 1


def test_upsert_only_never_deletes() -> None:
    zone = FakeZone()
    converge(zone, TWO)
    upsert = replace(SETTINGS, policy="upsert-only")
    zone.add("web.shop.c1", "A", "198.51.100.5")
    result = converge(zone, fleet(view("c1", svc("c1", IP1)), view("c2")), settings=upsert)
    assert result.changes == []
    assert len(zone.at("web.shop.global")) == 2 and len(zone.at("web.shop.c1")) == 2
    assert any("kept (policy upsert-only)" in n for n in result.notes)


def test_subset_run_keeps_other_clusters_and_loose_global_records() -> None:
    zone = FakeZone()
    converge(zone, TWO)
    del zone.records[zone.at("web.shop.c2")[0].record_id]  # c2's own name gone: its global record is loose
    subset = replace(SETTINGS, complete=False)
    result = converge(zone, fleet(TWO["c1"]), settings=subset)
    assert result.changes == []
    assert {r.value for r in zone.at("web.shop.global")} == {IP1, IP2}


def test_new_ttl_rewrites_every_record() -> None:
    zone = FakeZone()
    converge(zone, TWO)
    result = converge(zone, TWO, settings=replace(SETTINGS, ttl=300))
    assert actions(result) == {UPDATE: 3 + 4}  # three TXT, four A
    assert all(r.ttl == 300 for r in zone.records.values())


@pytest.mark.parametrize(
    ("service", "note"),
    [
        (svc("c1", IP1, problem="bad weight"), "bad weight"),
        (svc("c1", None), "no load balancer address yet"),
    ],
)
def test_a_service_with_a_problem_is_left_as_it_is(service: ExportedService, note: str) -> None:
    zone = FakeZone()
    converge(zone, TWO)
    result = converge(zone, fleet(view("c1", service), TWO["c2"]))
    assert result.changes == []
    assert any(note in n for n in result.notes)


def test_a_cluster_named_global_is_refused() -> None:
    zone = FakeZone()
    result = converge(zone, fleet(view("global", svc("global", IP1))))
    assert result.changes == [] and any("reserved" in n for n in result.notes)


def test_locked_records_are_left_alone() -> None:
    zone = FakeZone()
    converge(zone, TWO)
    zone.add("web.shop.c1", "A", "198.51.100.5", locked=True)
    result = converge(zone, TWO)
    assert result.changes == [] and any("locked" in n for n in result.notes)


def test_plan_round_trips_through_json() -> None:
    first = plan(FakeZone(), TWO)
    assert ServicePlan.from_json(first.to_json()) == first
    assert first.writes_ttl and len(first.summary()) == len(first.changes)


THREE = fleet(
    view("c1", svc("c1", IP1)),
    view("c2", svc("c2", IP2, weight=30)),
    view("c3", svc("c3", IP3), svc("c3", IP3, name="api")),
)


def global_states(zone: FakeZone) -> dict[str, dict[str, bool]]:
    return {rr: {r.value: r.enabled for r in zone.at(rr)} for rr in ("web.shop.global", "api.shop.global")}


@pytest.mark.parametrize(
    ("not_serving", "expected"),
    [
        # one cluster out: only its record in the shared name goes off
        (
            {"c1": "z1 evacuated"},
            {"web.shop.global": {IP1: False, IP2: True, IP3: True}, "api.shop.global": {IP3: True}},
        ),
        # c3 alone serves api: it keeps answering (fail-open), web loses c3
        (
            {"c3": "z3 evacuated"},
            {"web.shop.global": {IP1: True, IP2: True, IP3: False}, "api.shop.global": {IP3: True}},
        ),
        # every cluster of web out: fail-open, nothing is disabled there
        (
            {"c1": "x", "c2": "x", "c3": "x"},
            {"web.shop.global": {IP1: True, IP2: True, IP3: True}, "api.shop.global": {IP3: True}},
        ),
        # nobody out: nothing to write
        ({}, {"web.shop.global": {IP1: True, IP2: True, IP3: True}, "api.shop.global": {IP3: True}}),
    ],
)
def test_out_of_service_disables_only_their_global_records(
    not_serving: dict[str, str], expected: dict[str, dict[str, bool]]
) -> None:
    from include.services.plan import plan_out_of_service

    zone = FakeZone()
    converge(zone, THREE)
    before = {r.record_id: r for r in zone.listing()}
    fast = plan_out_of_service(SETTINGS, zone.listing(), not_serving)
    assert {c.action for c in fast.changes} <= {SET_STATUS}
    assert all(c.status == "Disable" and c.cluster in not_serving for c in fast.changes)
    zone.apply(fast)
    assert global_states(zone) == expected
    # the clusters' own names and every other record are untouched
    after = {r.record_id: r for r in zone.listing()}
    assert set(after) == set(before)
    assert [r for r in after.values() if not r.rr.endswith("global") and r != before[r.record_id]] == []
    # the next full run, seeing the same health, plans nothing more for them
    full = fleet(*(replace(v, serving=v.name not in not_serving) for v in THREE.values()))
    assert plan(zone, full).changes == []


def test_a_plan_made_before_an_evacuation_does_not_turn_its_records_back_on() -> None:
    from include.services.plan import hold_back_enables, plan_out_of_service

    zone = FakeZone()
    converge(zone, fleet(view("c1", svc("c1", IP1)), view("c2", svc("c2", IP2))))
    zone.apply(plan_out_of_service(SETTINGS, zone.listing(), {"c2": "evacuated"}))
    assert global_states(zone)["web.shop.global"] == {IP1: True, IP2: False}
    # a run reads the zone: c2 has recovered and c3 exports web for the first time ...
    stale = plan(
        zone, fleet(view("c1", svc("c1", IP1)), view("c2", svc("c2", IP2)), view("c3", svc("c3", IP3)))
    )
    assert {(c.action, c.cluster) for c in stale.changes if c.rr == "web.shop.global"} >= {
        (SET_STATUS, "c2"),
        (ADD, "c3"),
    }
    # ... then the zone of c2 and c3 is evacuated, and the fast path disables what it can
    zone.apply(plan_out_of_service(SETTINGS, zone.listing(), {"c2": "evacuated", "c3": "evacuated"}))
    held_plan, held = hold_back_enables(stale, {"c2", "c3"})
    assert held == ["web.shop.global.fleet.example.com: 3 write(s) held back (c2, c3 no longer serving)"]
    zone.apply(held_plan)
    shared = global_states(zone)["web.shop.global"]
    assert shared == {IP1: True, IP2: False}
    # the clusters' own names are still written
    assert [r.value for r in zone.at("web.shop.c3")] == [IP3]
    # nothing held back when no cluster left service
    assert hold_back_enables(stale, set()) == (stale, [])


def g(action: str, value: str, **kw: Any) -> RecordChange:
    """A write on ``web.shop.global``."""
    return RecordChange(action, "web.shop.global", value=value, **kw)


def _global_plan(*changes: RecordChange) -> ServicePlan:
    return ServicePlan(
        domain=DOMAIN, ttl=60, policy="sync", names=(NamePlan("web.shop.global", "global/shop/web", changes),)
    )


@pytest.mark.parametrize(
    ("change", "held"),
    [
        (
            RecordChange(
                SET_STATUS, "web.shop.global", value=IP1, record_id="1", status="Enable", cluster="c1"
            ),
            True,
        ),
        (g(ADD, IP1, ttl=60, cluster="c1"), True),
        (g(UPDATE, IP1, ttl=60, record_id="1", cluster="c1"), True),
        (
            g(SET_WEIGHT, IP1, record_id="1", weight=30, cluster="c1"),
            True,
        ),
        (
            RecordChange(
                SET_STATUS, "web.shop.global", value=IP1, record_id="1", status="Disable", cluster="c1"
            ),
            False,
        ),
        (g(DELETE, IP1, record_id="1", cluster="c1"), False),
        (
            RecordChange(
                SET_STATUS, "web.shop.global", value=IP2, record_id="2", status="Enable", cluster="c2"
            ),
            False,
        ),
    ],
)
def test_a_global_name_is_held_back_whole_when_a_write_would_serve_a_cluster_that_left(
    change: RecordChange, held: bool
) -> None:
    from include.services.plan import hold_back_enables

    # with it, a disable of another cluster: sending only that half could leave no enabled record
    other = RecordChange(
        SET_STATUS, "web.shop.global", value=IP3, record_id="3", status="Disable", cluster="c3"
    )
    stale = _global_plan(change, other)
    sent, lines = hold_back_enables(stale, {"c1"})
    assert (sent.names == ()) is held
    assert len(lines) == int(held)
    # a cluster's own name is never held back
    own = replace(stale, names=(NamePlan("web.shop.c1", "c1/shop/web", (change,)),))
    assert hold_back_enables(own, {"c1"}) == (own, [])


def test_the_fast_path_writes_only_statuses_even_when_ttls_drifted() -> None:
    from include.services.plan import plan_out_of_service

    zone = FakeZone()
    converge(zone, THREE)
    fast = plan_out_of_service(replace(SETTINGS, ttl=30), zone.listing(), {"c1": "z1 evacuated"})
    assert [(c.action, c.status, c.cluster) for c in fast.changes] == [(SET_STATUS, "Disable", "c1")]
