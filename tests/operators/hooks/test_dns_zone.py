"""DnsHook's zone-wide read and single-change writes against the sandbox, through the Alidns SDK."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from alibabacloud_alidns20150109 import models as dns_models

from include.services.changes import ADD, DELETE, SET_STATUS, SET_WEIGHT, SET_WEIGHTED, UPDATE, RecordChange
from operators.hooks.dns import DnsHook
from tests.fixtures.building_blocks import FAST_RETRY, SANDBOX_DOMAIN, mutating_calls

D = SANDBOX_DOMAIN


def hook(audit_store: Any, task_context: Any) -> DnsHook:
    return DnsHook(audit_sink=audit_store, audit_context=task_context, retry_policy=FAST_RETRY)


def _reads(sandbox: Any, since: int, action: str) -> int:
    return sum(1 for c in sandbox.calls(since)["calls"] if c.get("action") == action)


def test_list_zone_pages_at_500_and_reads_weighting(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    client = cloud_env.bulk_dns_client()  # the sandbox's 200/s limit

    def add(i: int) -> None:
        client.add_domain_record(
            dns_models.AddDomainRecordRequest(
                domain_name=D, rr=f"filler{i}", type="A", value="198.51.100.1", ttl=600
            )
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, range(1200)))
    dns = hook(audit_store, task_context)
    for value in ("203.0.113.1", "203.0.113.2"):
        dns.apply_change(D, RecordChange(ADD, "web.shop.global", "A", value, 60))
    dns.apply_change(D, RecordChange(SET_WEIGHTED, "web.shop.global", "A", open=True))
    mark = cloud_env.calls()["next"]
    records = dns.list_zone(D)
    assert len(records) == 1202
    assert _reads(cloud_env, mark, "DescribeDomainRecords") == math.ceil(1202 / 500)
    weighted = {r.value for r in records if r.rr == "web.shop.global" and r.weighted}
    assert weighted == {"203.0.113.1", "203.0.113.2"}
    assert not any(r.weighted for r in records if r.rr.startswith("filler"))


def test_each_change_is_its_action_and_repeating_it_is_harmless(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    dns = hook(audit_store, task_context)
    assert dns.domain_min_ttl(D) == (60, "version_enterprise_basic")
    rr = "api.shop.global"
    first = dns.apply_change(D, RecordChange(ADD, rr, "A", "203.0.113.7", 60))
    second = dns.apply_change(D, RecordChange(ADD, rr, "A", "203.0.113.8", 60))
    assert first and second and first != second
    mark = cloud_env.calls()["next"]
    assert dns.apply_change(D, RecordChange(ADD, rr, "A", "203.0.113.7", 60)) == first  # already there
    dns.apply_change(D, RecordChange(SET_WEIGHTED, rr, "A", open=True))
    dns.apply_change(D, RecordChange(SET_WEIGHT, rr, "A", "203.0.113.7", record_id=first, weight=40))
    dns.apply_change(D, RecordChange(UPDATE, rr, "A", "203.0.113.7", 120, record_id=first))
    dns.apply_change(D, RecordChange(UPDATE, rr, "A", "203.0.113.7", 120, record_id=first))  # no change
    dns.apply_change(D, RecordChange(SET_STATUS, rr, "A", "203.0.113.8", record_id=second, status="Disable"))
    dns.apply_change(D, RecordChange(DELETE, rr, "A", "203.0.113.8", record_id=second))
    dns.apply_change(D, RecordChange(DELETE, rr, "A", "203.0.113.8", record_id=second))  # already gone
    sent = [(c["action"], c.get("error_code")) for c in mutating_calls(cloud_env, mark)]
    assert sent == [
        ("AddDomainRecord", "DomainRecordDuplicate"),
        ("SetDNSSLBStatus", None),
        ("UpdateDNSSLBWeight", None),
        ("UpdateDomainRecord", None),
        ("UpdateDomainRecord", "DomainRecordDuplicate"),
        ("SetDomainRecordStatus", None),
        ("DeleteDomainRecord", None),
        ("DeleteDomainRecord", "DomainRecordNotBelongToUser"),
    ]
    left = [(r.value, r.ttl, r.weight, r.status) for r in dns.list_zone(D) if r.rr == rr]
    assert left == [("203.0.113.7", 120, 40, "ENABLE")]
    rows = audit_store.list(product="alidns")
    assert len(rows) == 2 + len(sent)  # one row per mutating call, the refused ones included
    assert {r.ticket_id for r in rows} == {"OPS-1234"}
    assert [r.error_code for r in rows if r.outcome == "error"] == [
        "DomainRecordDuplicate",
        "DomainRecordDuplicate",
        "DomainRecordNotBelongToUser",
    ]
