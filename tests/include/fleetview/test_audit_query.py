"""The Fleet view's audit log: filters, newest first, totals, offset and cursor paging, a ticket's runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from include.fleetview.audit import AuditFilter, audit_page, run_path
from include.fleetview.paging import MAX_LIMIT, PageRequest, decode_cursor, encode_cursor
from tests.fixtures.fleet_data import N_OTHER, T0


def test_a_ticket_gives_its_events_newest_first_and_its_run(fleet_any: dict[str, Any]) -> None:
    page = audit_page(fleet_any["engine"], AuditFilter(ticket_id="OPS-1"), PageRequest())
    assert page.total == 4 and page.next_cursor is None
    assert [e["action"] for e in page.events] == [
        "AddDomainRecord",
        "RunInstances",
        "RunInstances",
        "CreateSecurityGroup",
    ]
    first = page.events[0]
    assert first["run_path"] == "/dags/provision_cluster/runs/manual__ops1"
    assert first["occurred_at"] == "2026-03-01T08:04:00Z" and first["request"] == {"RegionId": "cn-hangzhou"}
    (run,) = page.runs
    assert run["run_id"] == "manual__ops1" and run["clusters"] == ["alpha"]
    assert run["events"] == 4 and run["outcomes"] == {"ok": 3, "error": 1}
    assert (run["first_at"], run["last_at"]) == ("2026-03-01T08:01:00Z", "2026-03-01T08:04:00Z")


def test_filters_combine(fleet: dict[str, Any]) -> None:
    engine = fleet["engine"]
    errors = audit_page(engine, AuditFilter(cluster="alpha", outcome="error"), PageRequest())
    assert [e["error_code"] for e in errors.events] == ["OperationDenied.NoStock"]
    beta = audit_page(engine, AuditFilter(cluster="beta"), PageRequest())
    assert beta.total == 1 and beta.events[0]["outcome"] == "dry_run"
    window = AuditFilter(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4))
    assert [e["occurred_at"] for e in audit_page(engine, window, PageRequest()).events] == [
        "2026-03-01T08:03:00Z",
        "2026-03-01T08:02:00Z",
    ]
    assert audit_page(engine, AuditFilter(ticket_id="OPS-404"), PageRequest()).total == 0


def test_browsing_without_a_ticket_skips_the_runs_summary(fleet: dict[str, Any]) -> None:
    page = audit_page(fleet["engine"], AuditFilter(), PageRequest(limit=5))
    assert page.total == 5 + N_OTHER and len(page.events) == 5 and page.runs == []


def test_cursor_pages_cover_everything_once_even_as_rows_arrive(fleet: dict[str, Any]) -> None:
    from include.audit import AuditRecord, AuditStore

    engine = fleet["engine"]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = audit_page(engine, AuditFilter(), PageRequest.build(limit=7, cursor=cursor))
        seen += [e["id"] for e in page.events]
        pages += 1
        if pages == 1:  # a new event after the first page does not shift the next ones
            AuditStore(engine).write(AuditRecord(product="ecs", action="StartInstance", outcome="ok"))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 5 + N_OTHER
    assert seen == sorted(seen, reverse=True) and pages == 5


def test_offset_pages(fleet: dict[str, Any]) -> None:
    engine = fleet["engine"]
    everything = [e["id"] for e in audit_page(engine, AuditFilter(), PageRequest(limit=100)).events]
    third = audit_page(engine, AuditFilter(), PageRequest(limit=10, offset=20))
    assert [e["id"] for e in third.events] == everything[20:30] and third.offset == 20
    assert third.next_cursor is None  # fewer rows than the limit: the end


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be from 1 to"),
        ({"limit": MAX_LIMIT + 1}, "limit must be from 1 to"),
        ({"offset": -1}, "offset must be 0 or more"),
        ({"cursor": "bm9wZQ"}, "is not one this API gave out"),
        ({"cursor": "%%%"}, "is not one this API gave out"),
    ],
)
def test_bad_paging_is_refused_in_one_line(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PageRequest.build(**kwargs)


def test_cursor_round_trip_and_bad_outcome() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    with pytest.raises(ValueError, match="outcome must be one of ok, error, dry_run"):
        AuditFilter(outcome="failed")


def test_run_path_quotes_ids() -> None:
    assert run_path("provision_cluster", "ticket__OPS/1__x y") == (
        "/dags/provision_cluster/runs/ticket__OPS%2F1__x%20y"
    )
    assert run_path(None, "r") is None and run_path("d", None) is None
