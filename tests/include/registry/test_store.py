"""FleetRegistry on SQLite and Postgres: clusters, encrypted credentials, pools, zones, capacity, DNS."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from include.registry import CredentialCipher, FleetRegistry


def add_demo(registry: FleetRegistry) -> None:
    registry.upsert_cluster(
        "demo", region_id="cn-hangzhou", domain="fleet.example.com", spec={"k8s": "1.31"}, ticket_id="OPS-1"
    )


def test_cluster_lifecycle(registry: FleetRegistry) -> None:
    add_demo(registry)
    record = registry.require_cluster("demo")
    assert (record.state, record.spec, record.ticket_id) == ("requested", {"k8s": "1.31"}, "OPS-1")
    assert record.api_server_name == "api.demo.fleet.example.com"
    registry.set_cluster_state("demo", "ready")
    registry.update_endpoints("demo", ca_cert="PEM", api_server="https://api.demo", load_balancer_id="lb-1")
    registry.update_endpoints("demo", address="203.0.113.4")
    record = registry.require_cluster("demo")
    assert record.state == "ready" and record.ca_cert == "PEM"
    assert record.endpoints == {
        "api_server": "https://api.demo",
        "load_balancer_id": "lb-1",
        "address": "203.0.113.4",
    }
    assert [c.name for c in registry.list_clusters()] == ["demo"]
    registry.set_cluster_state("demo", "deleted")
    assert registry.list_clusters() == [] and len(registry.list_clusters(include_deleted=True)) == 1
    with pytest.raises(ValueError, match="unknown cluster state"):
        registry.set_cluster_state("demo", "exploded")
    assert registry.delete_cluster("demo") and registry.get_cluster("demo") is None


def test_credentials_are_never_stored_in_plaintext(registry: FleetRegistry) -> None:
    add_demo(registry)
    secret = "very-secret-admin-token-123456"
    registry.put_credentials("demo", {"admin_token": secret, "join_token": "abcdef.0123456789abcdef"})
    with registry.engine.connect() as conn:
        stored = conn.execute(
            text("select credentials_encrypted from clusters where name='demo'")
        ).scalar_one()
        dump = " ".join(str(v) for v in conn.execute(text("select * from clusters")).one())
    assert secret not in stored and secret not in dump and "0123456789abcdef" not in dump
    assert registry.get_credentials("demo")["admin_token"] == secret
    assert registry.require_cluster("demo").has_credentials


def test_key_rotation_with_multifernet(registry: FleetRegistry, fernet_key: str) -> None:
    add_demo(registry)
    registry.put_credentials("demo", {"admin_token": "t0ken-value"})
    new_key = Fernet.generate_key().decode()
    rotated = FleetRegistry(registry.engine, CredentialCipher(f"{new_key},{fernet_key}"))
    assert rotated.get_credentials("demo") == {"admin_token": "t0ken-value"}
    only_new = FleetRegistry(registry.engine, CredentialCipher(new_key))
    with pytest.raises(ValueError, match="cannot be decrypted"):
        only_new.get_credentials("demo")
    without_key = FleetRegistry(registry.engine)
    with pytest.raises(ValueError, match="without a Fernet key"):
        without_key.get_credentials("demo")


def test_cipher_rejects_bad_keys() -> None:
    with pytest.raises(ValueError, match="Fernet key is required"):
        CredentialCipher("")
    with pytest.raises(ValueError, match="not a valid"):
        CredentialCipher("not-a-key")


def test_node_pools_per_zone(registry: FleetRegistry) -> None:
    add_demo(registry)
    for zone in ("cn-hangzhou-h", "cn-hangzhou-i"):
        registry.upsert_node_pool(
            "demo",
            "general",
            zone_id=zone,
            instance_type="ecs.g7.large",
            min_size=1,
            max_size=5,
            desired_size=2,
        )
    registry.set_desired_size("demo", "general", "cn-hangzhou-i", 4)
    pools = {(p.name, p.zone_id): p.desired_size for p in registry.list_node_pools("demo")}
    assert pools == {("general", "cn-hangzhou-h"): 2, ("general", "cn-hangzhou-i"): 4}
    with pytest.raises(ValueError, match="outside"):
        registry.set_desired_size("demo", "general", "cn-hangzhou-i", 6)
    with pytest.raises(ValueError, match="min"):
        registry.upsert_node_pool(
            "demo", "bad", zone_id="cn-hangzhou-h", instance_type="x", min_size=3, max_size=2, desired_size=2
        )
    with pytest.raises(KeyError, match="not registered"):
        registry.list_node_pools("nope")


def test_zone_state_since_moves_only_on_change(registry: FleetRegistry) -> None:
    first = registry.set_zone_state("cn-hangzhou-h", "healthy")
    same = registry.set_zone_state("cn-hangzhou-h", "healthy", detail={"probes": 3})
    assert same.since == first.since and same.detail == {"probes": 3}
    changed = registry.set_zone_state("cn-hangzhou-h", "failed", detail={"reason": "outage"})
    assert changed.since >= first.since and changed.state == "failed"
    registry.set_zone_state("cn-hangzhou-h", "healthy", scope="demo")
    assert [z.state for z in registry.list_zone_states()] == ["failed"]
    assert [z.state for z in registry.list_zone_states(scope="demo")] == ["healthy"]


def test_capacity_history_newest_first(registry: FleetRegistry) -> None:
    registry.record_capacity(
        "demo", tier="node", subject="general", current=2, desired=3, zone_id="cn-hangzhou-h"
    )
    registry.record_capacity(
        "demo", tier="pod", subject="default/web", current=3, desired=5, reason={"cpu": 90}
    )
    history = registry.capacity_history("demo")
    assert [(h.tier, h.desired) for h in history] == [("pod", 5), ("node", 3)]
    with pytest.raises(ValueError, match="tier"):
        registry.record_capacity("demo", tier="galaxy", subject="x", current=1, desired=1)


def test_dns_ownership_claims(registry: FleetRegistry) -> None:
    claim = dict(domain="fleet.example.com", rr="api.demo", record_type="A", value="203.0.113.1")
    registry.claim_dns(**claim, owner="yunfleet/demo", record_id="100", cluster="demo")
    registry.claim_dns(**claim, owner="yunfleet/demo", cluster="demo")
    owned = registry.list_dns_ownership(cluster="demo")
    assert [(o.rr, o.record_id) for o in owned] == [("api.demo", "100")]
    with pytest.raises(PermissionError, match="owned by"):
        registry.claim_dns(**claim, owner="someone-else")
    assert registry.release_dns(**claim) and registry.list_dns_ownership() == []
