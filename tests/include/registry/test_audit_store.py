"""The audit store on SQLite and Postgres: JSON requests, filters, ordering."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from include.audit import AuditRecord, AuditStore, Redactor


def test_audit_rows_round_trip(registry_engine: Engine) -> None:
    store = AuditStore(registry_engine)
    request = Redactor().redact(
        {"UserData": "c2VjcmV0", "Tag": [{"Key": "k", "Value": "v"}], "Password": "p4ss"}
    )
    first = store.write(
        AuditRecord(
            product="ecs",
            action="RunInstances",
            outcome="ok",
            target="demo/general/cn-hangzhou-h",
            request=request,
            cloud_request_id="REQ-1",
            cluster="demo",
            dag_id="provision_cluster",
            run_id="manual__1",
            task_id="workers",
            map_index=0,
            try_number=2,
            ticket_id="OPS-9",
            actor="alice",
        )
    )
    store.write(AuditRecord(product="alidns", action="AddDomainRecord", outcome="dry_run", ticket_id="OPS-9"))
    store.write(
        AuditRecord(product="slb", action="SetBackendServers", outcome="error", error_code="X", cluster="b")
    )
    rows = store.list(ticket_id="OPS-9")
    assert [r.action for r in rows] == ["RunInstances", "AddDomainRecord"]
    row = rows[0]
    assert row.request == {
        "UserData": request["UserData"],
        "Tag": [{"Key": "k", "Value": "v"}],
        "Password": "***",
    }
    assert (row.map_index, row.try_number, row.actor, row.cloud_request_id) == (0, 2, "alice", "REQ-1")
    assert row.occurred_at is not None and row.occurred_at.tzinfo is not None
    assert row.occurred_at <= datetime.now(UTC)
    assert [r.outcome for r in store.list(since_id=first)] == ["dry_run", "error"]
    assert [r.product for r in store.list(cluster="b")] == ["slb"]
