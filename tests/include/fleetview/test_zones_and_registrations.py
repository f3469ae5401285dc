"""Zone states with and without the history tables of zone health; Service names with their targets
and weights; API server names; the admin kubeconfig."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table

from include.fleetview.kubeconfig import KubeconfigUnavailable, admin_kubeconfig
from include.fleetview.registrations import api_server_names, service_registrations
from include.fleetview.zones import EVACUATIONS_TABLE, TRANSITIONS_TABLE, zone_view
from include.services.model import ZoneRecord
from tests.fixtures.fleet_data import DOMAIN, H, I

OWNER = "fleet/default"


def _drop_history_tables(engine: Any) -> None:
    """A registry migrated before zone health kept its history."""
    meta = MetaData()
    meta.reflect(engine, only=lambda name, _meta: name in (TRANSITIONS_TABLE, EVACUATIONS_TABLE))
    meta.drop_all(engine)


def test_zone_states_now_without_history_tables(fleet: dict[str, Any]) -> None:
    _drop_history_tables(fleet["engine"])
    view = zone_view(fleet["engine"])
    assert [(z["scope"], z["zone_id"], z["state"]) for z in view["zones"]] == [
        ("", H, "healthy"),
        ("", I, "failed"),
        ("alpha", "*", "degraded"),
    ]
    failed = view["zones"][1]
    assert failed["detail"] == {"reason": "ECS instances stopped"} and failed["since"].endswith("Z")
    assert failed["timeline"] == [{"state": "failed", "from": failed["since"], "to": None}]
    assert view["transitions"] == [] and view["evacuations"] == []
    assert view["history"] == {TRANSITIONS_TABLE: "absent", EVACUATIONS_TABLE: "absent"}


def test_history_tables_when_zone_health_keeps_them(fleet_any: dict[str, Any]) -> None:
    engine = fleet_any["engine"]
    _drop_history_tables(engine)  # the columns zone health keeps, whatever migration is at head here
    meta = MetaData()
    transitions = Table(
        TRANSITIONS_TABLE,
        meta,
        Column("id", Integer, primary_key=True),
        Column("scope", String(63)),
        Column("zone_id", String(64)),
        Column("from_state", String(32)),
        Column("to_state", String(32)),
        Column("at", DateTime(timezone=True)),
        Column("reason", String(200)),
    )
    evacuations = Table(
        EVACUATIONS_TABLE,
        meta,
        Column("id", Integer, primary_key=True),
        Column("zone_id", String(64)),
        Column("ticket_id", String(64)),
        Column("started_at", DateTime(timezone=True)),
    )
    meta.create_all(engine)
    t = [datetime(2026, 3, 1, h, tzinfo=UTC) for h in (8, 9, 10)]
    with engine.begin() as connection:
        connection.execute(
            transitions.insert(),
            [
                {
                    "scope": "",
                    "zone_id": I,
                    "from_state": "healthy",
                    "to_state": "suspect",
                    "at": t[0],
                    "reason": "1 bad",
                },
                {
                    "scope": "",
                    "zone_id": I,
                    "from_state": "suspect",
                    "to_state": "failed",
                    "at": t[1],
                    "reason": "3 bad",
                },
                {
                    "scope": "",
                    "zone_id": H,
                    "from_state": "failed",
                    "to_state": "healthy",
                    "at": t[2],
                    "reason": "ok",
                },
            ],
        )
        connection.execute(evacuations.insert(), [{"zone_id": I, "ticket_id": "OPS-9", "started_at": t[1]}])
    view = zone_view(engine)
    assert view["history"] == {TRANSITIONS_TABLE: "present", EVACUATIONS_TABLE: "present"}
    assert [tr["to_state"] for tr in view["transitions"]] == ["healthy", "failed", "suspect"]  # newest first
    by_zone = {(z["scope"], z["zone_id"]): z for z in view["zones"]}
    i_states = [(s["state"], s["from"], s["to"]) for s in by_zone[("", I)]["timeline"]]
    assert i_states == [
        ("healthy", None, "2026-03-01T08:00:00Z"),
        ("suspect", "2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z"),
        ("failed", "2026-03-01T09:00:00Z", None),
    ]
    (evacuation,) = view["evacuations"]
    assert evacuation["ticket_id"] == "OPS-9" and evacuation["at"] == "2026-03-01T09:00:00Z"
    since = zone_view(engine, since=t[2])
    assert [tr["zone_id"] for tr in since["transitions"]] == [H] and since["evacuations"] == []


def _zone() -> list[ZoneRecord]:
    records = []
    ids = iter(range(1, 100))

    def add(rr: str, rtype: str, value: str, **kw: Any) -> None:
        records.append(ZoneRecord(str(next(ids)), rr, rtype, value, 60, **kw))

    for scope in ("east", "west", "global"):
        add(f"_yunfleet.web.shop.{scope}", "TXT", f"heritage=yunfleet,owner={OWNER},source={scope}/shop/web")
    add("web.shop.east", "A", "203.0.113.1")
    add("web.shop.west", "A", "203.0.113.2")
    add("web.shop.global", "A", "203.0.113.1", weight=30, weighted=True)
    add("web.shop.global", "A", "203.0.113.2", weight=10, weighted=True, status="DISABLE")
    add("web.shop.global", "A", "203.0.113.99", weight=5, weighted=True)  # no per-cluster name holds it
    # another fleet's Service and a hand-made record: not ours, not shown
    add("_yunfleet.db.shop.east", "TXT", "heritage=yunfleet,owner=fleet/other,source=east/shop/db")
    add("db.shop.east", "A", "203.0.113.3")
    add("www", "A", "203.0.113.4")
    add("_yunfleet.api.east", "TXT", "heritage=yunfleet,owner=cluster/east")
    add("api.east", "A", "203.0.113.5")
    return records


def test_service_names_with_targets_weights_and_clusters() -> None:
    (web,) = service_registrations(_zone(), OWNER, DOMAIN)
    assert (web["namespace"], web["service"]) == ("shop", "web")
    assert [(n["fqdn"], n["scope"], n["global"], n["weighted"]) for n in web["names"]] == [
        (f"web.shop.east.{DOMAIN}", "east", False, False),
        (f"web.shop.west.{DOMAIN}", "west", False, False),
        (f"web.shop.global.{DOMAIN}", "global", True, True),
    ]
    targets = [(t["address"], t["cluster"], t["weight"], t["enabled"]) for t in web["names"][2]["targets"]]
    assert targets == [
        ("203.0.113.1", "east", 30, True),
        ("203.0.113.2", "west", 10, False),
        ("203.0.113.99", None, 5, True),
    ]
    assert web["names"][0]["targets"][0]["cluster"] == "east"
    assert service_registrations(_zone(), "fleet/nobody", DOMAIN) == []


def test_api_server_names_from_the_registry(fleet: dict[str, Any]) -> None:
    assert api_server_names(fleet["engine"]) == [
        {
            "fqdn": f"api.alpha.{DOMAIN}",
            "cluster": "alpha",
            "targets": [{"address": "203.0.113.10", "record_id": "r-1"}],
        }
    ]


def test_kubeconfig_for_a_registered_cluster(fleet: dict[str, Any]) -> None:
    registry, creds = fleet["registry"], fleet["creds"]
    record = registry.get_cluster("alpha")
    text = admin_kubeconfig(
        record,
        registry.get_credentials("alpha"),
        name="alpha",
        domain=DOMAIN,
        template="https://127.0.0.1:9/k8s/{cluster}",
    )
    doc = yaml.safe_load(text)
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:9/k8s/alpha"
    assert doc["current-context"] == "kubernetes-admin@alpha" or doc["current-context"].endswith("@alpha")
    default = yaml.safe_load(admin_kubeconfig(record, creds, name="alpha", domain=DOMAIN))
    assert default["clusters"][0]["cluster"]["server"] == f"https://api.alpha.{DOMAIN}:6443"
    override = yaml.safe_load(admin_kubeconfig(record, creds, name="alpha", domain=DOMAIN, ca_pem="OTHER CA"))
    assert (
        override["clusters"][0]["cluster"]["certificate-authority-data"]
        != (default["clusters"][0]["cluster"]["certificate-authority-data"])
    )


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("nope", 404, "cluster 'nope' is not registered"),
        ("gone", 404, "cluster 'gone' is not registered"),
        ("beta", 409, "cluster 'beta' has no credentials yet (state provisioning)"),
    ],
)
def test_kubeconfig_refusals(fleet: dict[str, Any], name: str, status: int, message: str) -> None:
    with pytest.raises(KubeconfigUnavailable, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        admin_kubeconfig(fleet["registry"].get_cluster(name), None, name=name, domain=DOMAIN)
    assert err.value.status == status


def test_kubeconfig_without_a_client_certificate(fleet: dict[str, Any]) -> None:
    record = fleet["registry"].get_cluster("alpha")
    with pytest.raises(KubeconfigUnavailable, match="no admin client certificate") as err:
        admin_kubeconfig(record, {"ca_cert_pem": "CA"}, name="alpha", domain=DOMAIN)
    assert err.value.status == 409
