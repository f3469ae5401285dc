"""Alidns operators executed with a task context against the sandbox."""

from __future__ import annotations

from typing import Any

from operators.dns import DnsReconcileRecordsOperator
from operators.hooks.registry import YunfleetRegistryHook
from tests.fixtures.building_blocks import SANDBOX_DOMAIN
from tests.operators.builders import audit_rows, context


def test_dns_operator_records_ownership(cloud_env: Any) -> None:
    op = DnsReconcileRecordsOperator(
        task_id="dns",
        domain=SANDBOX_DOMAIN,
        owner="yunfleet/demo",
        cluster="demo",
        records=[{"rr": "api.demo", "type": "A", "values": ["203.0.113.20"]}],
    )
    result = op.execute(context("dns"))
    assert result["api.demo"]["created"] == ["203.0.113.20"]
    owned = YunfleetRegistryHook().registry.list_dns_ownership(cluster="demo")
    assert [(o.rr, o.value, o.owner) for o in owned] == [("api.demo", "203.0.113.20", "yunfleet/demo")]
    assert {r.action for r in audit_rows()} == {"AddDomainRecord"} and all(
        r.cluster == "demo" for r in audit_rows()
    )
