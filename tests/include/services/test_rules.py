"""Names, ownership values, exported Services, cluster health and the gate of the Service registry."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from include.fleet.contract import ownership_value, parse_ownership_value
from include.services.changes import ADD, DELETE, SET_STATUS, RecordChange
from include.services.health import cluster_health
from include.services.model import (
    ClusterView,
    ExportedService,
    RegistrationSettings,
    ZoneRecord,
    exported_service,
)
from include.services.naming import name_problem, parse_rr, parse_source
from include.services.plan import NamePlan, plan_registrations, plan_withdrawal
from include.services.quality import check_gate, ttl_problem
from include.services.scope import RegisteredCluster, run_scope
from tests.include.services.zone import DOMAIN, OWNER, FakeZone

LB = {"service_type": "LoadBalancer", "ingress_ips": ["203.0.113.9"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("heritage=yunfleet,owner=fleet/a,source=c1/shop/web", {"owner": "fleet/a", "source": "c1/shop/web"}),
        ('"heritage=yunfleet,owner=cluster/c1"', {"owner": "cluster/c1"}),
        ("heritage=external-dns,external-dns/owner=default", None),
        ("v=spf1 -all", None),
        ("heritage=yunfleet,source=x", None),
        ("heritage=yunfleet,owner=a,owner=b", None),
        ("heritage=yunfleet,owner", None),
    ],
)
def test_parse_ownership_value(value: str, expected: dict[str, str] | None) -> None:
    assert parse_ownership_value(value) == expected


def test_ownership_value_round_trips() -> None:
    assert parse_ownership_value(ownership_value("fleet/x", "global/ns/svc")) == {
        "owner": "fleet/x",
        "source": "global/ns/svc",
    }
    assert ownership_value("cluster/c1") == "heritage=yunfleet,owner=cluster/c1"


@pytest.mark.parametrize(
    ("text", "rr"),
    [
        ("c1/shop/web", "web.shop.c1"),
        ("global/shop/web", "web.shop.global"),
        ("c1/shop", None),
        ("C1/a/b", None),
    ],
)
def test_parse_source(text: str, rr: str | None) -> None:
    name = parse_source(text)
    assert (name.rr if name else None) == rr
    if name:
        assert parse_rr(name.rr) == name and name.source == text


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("c1", "shop", "web"), None),
        (("global", "shop", "web"), "reserved"),
        (("c1", "Shop", "web"), "not a DNS label"),
        (("c1", "shop", "w" * 64), "not a DNS label"),
        (("c1", "s" * 63, "w" * 63), "longer than 253"),
    ],
)
def test_name_problem(args: tuple[str, str, str], fragment: str | None) -> None:
    problem = name_problem(*args, "x" * 60 + "." + "y" * 60 + ".example.com")
    assert (problem is None) if fragment is None else (fragment in (problem or ""))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"annotations": {"yunfleet.io/export": "true"}, **LB},
            ExportedService("c", "n", "s", ("203.0.113.9",)),
        ),
        ({"annotations": {"yunfleet.io/export": "True"}, **LB}, None),
        ({"annotations": {}, **LB}, None),
        (
            {"annotations": {"yunfleet.io/export": "true"}, "service_type": "ClusterIP", "ingress_ips": []},
            None,
        ),
        (
            {"annotations": {"yunfleet.io/export": "true", "yunfleet.io/weight": "40"}, **LB},
            ExportedService("c", "n", "s", ("203.0.113.9",), 40),
        ),
        (
            {
                "annotations": {"yunfleet.io/export": "true"},
                "service_type": "LoadBalancer",
                "ingress_ips": ["203.0.113.9", "2001:db8::1", "203.0.113.2"],
            },
            ExportedService("c", "n", "s", ("203.0.113.2", "203.0.113.9")),
        ),
    ],
)
def test_exported_service(kwargs: dict[str, Any], expected: ExportedService | None) -> None:
    assert exported_service("c", "n", "s", **kwargs) == expected


@pytest.mark.parametrize("weight", ["0", "101", "ten", "-3", "2.5"])
def test_a_bad_weight_is_a_problem(weight: str) -> None:
    found = exported_service(
        "c", "n", "s", annotations={"yunfleet.io/export": "true", "yunfleet.io/weight": weight}, **LB
    )
    assert found is not None and found.problem and "1 to 100" in found.problem


@pytest.mark.parametrize(
    ("zones", "fleet", "own", "serving"),
    [
        (["h", "i"], {}, {}, True),
        (["h", "i"], {"h": "failed"}, {}, True),
        (["h", "i"], {"h": "failed"}, {"i": "failed"}, False),
        (["h"], {"h": "failed"}, {}, False),
        (["h"], {"h": "recovering"}, {}, True),
        (["h"], {"h": "degraded"}, {}, True),
        (["h"], {}, {"*": "failed"}, False),
        ([], {"h": "failed"}, {}, True),
    ],
)
def test_cluster_health(zones: list[str], fleet: dict[str, str], own: dict[str, str], serving: bool) -> None:
    assert cluster_health("c1", zones, fleet, own).serving is serving


def test_settings_errors() -> None:
    good = RegistrationSettings(domain=DOMAIN, owner=OWNER)
    assert good.errors() == []
    bad = replace(good, domain="", ttl=0, policy="mirror", default_weight=0)
    assert len(bad.errors()) == 4


@pytest.mark.parametrize(
    ("ttl", "min_ttl", "fragment"),
    [
        (60, 60, None),
        (600, 60, None),
        (30, 60, "below the minimum TTL 60 s"),
        (90000, 1, "above the maximum"),
    ],
)
def test_ttl_problem(ttl: int, min_ttl: int, fragment: str | None) -> None:
    problem = ttl_problem(ttl, min_ttl, DOMAIN, "version_enterprise_basic")
    assert (problem is None) if fragment is None else (fragment in (problem or ""))


def _two_cluster_plan() -> tuple[Any, list[ZoneRecord]]:
    zone = FakeZone()
    services = {
        "c1": ClusterView(
            "c1", "observed", services=(ExportedService("c1", "shop", "web", ("203.0.113.1",)),)
        ),
        "c2": ClusterView(
            "c2", "observed", services=(ExportedService("c2", "shop", "web", ("203.0.113.2",)),)
        ),
    }
    settings = RegistrationSettings(domain=DOMAIN, owner=OWNER)
    zone.apply(plan_registrations(settings, zone.listing(), services))
    degraded = dict(services, c1=replace(services["c1"], serving=False))
    return plan_registrations(settings, zone.listing(), degraded), zone.listing()


def test_gate_passes_a_sound_plan_and_skips_an_empty_one() -> None:
    plan, records = _two_cluster_plan()
    report = check_gate(plan, records, domain=DOMAIN, owner=OWNER, min_ttl=60)
    assert report.success, report.failures
    assert report.evaluated == 4
    assert check_gate(replace(plan, names=()), records, domain=DOMAIN, owner=OWNER, min_ttl=60).evaluated == 0


@pytest.mark.parametrize(
    ("tamper", "failed"),
    [
        ("foreign-record", "ours"),
        ("outside-zone", "fqdn"),
        ("low-ttl", "ttl"),
        ("disable-last", "left_empty"),
    ],
)
def test_gate_refuses_unsafe_plans(tamper: str, failed: str) -> None:
    plan, records = _two_cluster_plan()
    global_rr = "web.shop.global"
    name = next(n for n in plan.names if n.rr == global_rr)
    if tamper == "foreign-record":
        foreign = ZoneRecord("999", "www", "A", "198.51.100.1", 600)
        records = [*records, foreign]
        extra = RecordChange(DELETE, "www", "A", foreign.value, record_id="999")
        plan = replace(plan, names=(*plan.names, NamePlan("www", "x", (extra,))))
    elif tamper == "outside-zone":
        plan = replace(plan, domain="other.example.org")
    elif tamper == "low-ttl":
        add = RecordChange(ADD, global_rr, "A", "203.0.113.3", 5)
        plan = replace(plan, names=(replace(name, changes=(*name.changes, add)),))
    elif tamper == "disable-last":
        other = next(r for r in records if r.rr == global_rr and r.value == "203.0.113.2")
        off = RecordChange(
            SET_STATUS, global_rr, "A", other.value, record_id=other.record_id, status="Disable"
        )
        plan = replace(plan, names=(replace(name, changes=(*name.changes, off)),))
    report = check_gate(plan, records, domain=DOMAIN, owner=OWNER, min_ttl=60)
    assert not report.success
    assert any(failed in line for line in report.failures), report.failures


@pytest.mark.parametrize(
    ("state", "requested", "mode"),
    [
        ("ready", [], "observed"),
        ("degraded", [], "observed"),
        ("provisioning", [], "kept"),
        ("failed", [], "kept"),
        ("requested", [], "kept"),
        ("decommissioning", [], "gone"),
        ("deleted", [], "gone"),
        ("ready", ["other"], "kept"),
        ("decommissioning", ["other"], "gone"),
    ],
)
def test_run_scope_modes(state: str, requested: list[str], mode: str) -> None:
    registered = [RegisteredCluster("c1", state, ("h",)), RegisteredCluster("other", "ready", ("i",))]
    scope = run_scope(registered, requested, {"h": "failed"}, {})
    assert scope.views["c1"].mode == mode
    assert scope.complete is (not requested)
    assert scope.observe == sorted(n for n, v in scope.views.items() if v.mode == "observed")
    if mode != "gone":
        assert scope.views["c1"].serving is False  # its only zone is failed


def test_run_scope_refuses_unknown_clusters() -> None:
    with pytest.raises(ValueError, match=r"clusters not in the fleet registry: nope \(registered: c1\)"):
        run_scope([RegisteredCluster("c1", "ready")], ["nope"], {}, {})


def test_withdrawal_removes_only_the_cluster_names() -> None:
    zone = FakeZone()
    views = {
        c: ClusterView(c, "observed", services=(ExportedService(c, "shop", "web", (f"203.0.113.{i}",)),))
        for i, c in enumerate(("c1", "c2"), start=1)
    }
    settings = RegistrationSettings(domain=DOMAIN, owner=OWNER)
    zone.apply(plan_registrations(settings, zone.listing(), views))
    withdrawal = plan_withdrawal(settings, zone.listing(), "c2")
    zone.apply(withdrawal)
    assert {r.rr for r in zone.records.values()} == {
        "web.shop.c1",
        "_yunfleet.web.shop.c1",
        "web.shop.global",
        "_yunfleet.web.shop.global",
    }
    assert [r.value for r in zone.at("web.shop.global")] == ["203.0.113.1"]
    assert plan_withdrawal(settings, zone.listing(), "c2").changes == []
    zone.apply(plan_withdrawal(settings, zone.listing(), "c1"))
    assert zone.records == {}
