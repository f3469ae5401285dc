"""Redaction table and the audit store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from include.audit import MASK, AuditRecord, AuditStore, Redactor, is_secret_key
from include.registry import create_registry_engine, migrate


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("AccessKeySecret", True),
        ("access_key_secret", True),
        ("Password", True),
        ("admin_token", True),
        ("join-token", True),
        ("SecurityToken", True),
        ("private_key", True),
        ("Authorization", True),
        ("ClientToken", False),
        ("NextToken", False),
        ("InstanceType", False),
        ("RegionId", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_redaction_of_nested_requests() -> None:
    redactor = Redactor()
    redactor.add_secret("sandbox-secret")
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
    out = redactor.redact(
        {
            "UserData": "I2Nsb3VkLWNvbmZpZw==",
            "AccessKeySecret": "sandbox-secret",
            "Description": "key sandbox-secret leaked",
            "Tag": [{"Key": "yunfleet:cluster", "Value": "demo"}],
            "Nested": {"password": "hunter22", "note": pem, "bootstrap": "token abcdef.0123456789abcdef"},
            "ClientToken": "yf-123",
            "Amount": 3,
        }
    )
    assert out["UserData"] == {
        "sha256": hashlib.sha256(b"I2Nsb3VkLWNvbmZpZw==").hexdigest(),
        "bytes": len("I2Nsb3VkLWNvbmZpZw=="),
    }
    assert out["AccessKeySecret"] == MASK and out["Description"] == f"key {MASK} leaked"
    assert out["Nested"] == {"password": MASK, "note": MASK, "bootstrap": f"token {MASK}"}
    assert out["Tag"] == [{"Key": "yunfleet:cluster", "Value": "demo"}]
    assert out["ClientToken"] == "yf-123" and out["Amount"] == 3


def test_audit_store_round_trip(tmp_path: Path) -> None:
    engine = create_registry_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate(engine)
    store = AuditStore(engine)
    row_id = store.write(
        AuditRecord(
            product="ecs",
            action="RunInstances",
            outcome="ok",
            ticket_id="T-1",
            cluster="demo",
            request={"a": 1},
        )
    )
    store.write(
        AuditRecord(
            product="slb", action="AddBackendServers", outcome="error", error_code="X", ticket_id="T-2"
        )
    )
    assert store.max_id() == row_id + 1
    assert [r.action for r in store.list(ticket_id="T-1")] == ["RunInstances"]
    assert [r.outcome for r in store.list(since_id=row_id)] == ["error"]
    assert store.list(cluster="demo")[0].request == {"a": 1}
    with pytest.raises(ValueError, match="outcome"):
        AuditRecord(product="ecs", action="x", outcome="maybe")
