"""DnsHook against the sandbox through the official Alidns SDK: ownership, weights, paging."""

from __future__ import annotations

from typing import Any

import pytest

from include.errors import NotOwnedError
from include.fleet.contract import ownership_rr
from operators.hooks.dns import DnsHook
from operators.hooks.registry import YunfleetRegistryHook
from tests.fixtures.building_blocks import FAST_RETRY, SANDBOX_DOMAIN, mutating_calls

D = SANDBOX_DOMAIN


def dns_hook(audit_store: Any, task_context: Any, **kw: Any) -> DnsHook:
    return DnsHook(audit_sink=audit_store, audit_context=task_context, retry_policy=FAST_RETRY, **kw)


def test_reconcile_creates_claims_and_converges(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = dns_hook(audit_store, task_context)
    summary = hook.reconcile_records(
        domain=D, rr="api.demo", record_type="A", values={"203.0.113.10": None}, owner="yunfleet/demo"
    )
    assert summary["created"] == ["203.0.113.10"] and summary["changes"] == 1
    assert hook.owner_of(D, "api.demo") == "yunfleet/demo"
    txt = hook.list_records(D, rr=ownership_rr("api.demo"), record_type="TXT")
    assert [r.value.strip('"') for r in txt] == ["heritage=yunfleet,owner=yunfleet/demo"]
    mark = cloud_env.calls()["next"]
    again = hook.reconcile_records(
        domain=D, rr="api.demo", record_type="A", values={"203.0.113.10": None}, owner="yunfleet/demo"
    )
    assert again["changes"] == 0 and mutating_calls(cloud_env, mark) == []


def test_weighted_values_replace_and_reweight(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = dns_hook(audit_store, task_context)
    rr = "web.default.global"
    hook.reconcile_records(
        domain=D,
        rr=rr,
        record_type="A",
        values={"203.0.113.1": 50, "203.0.113.2": 50},
        owner="yunfleet/global",
    )
    assert hook.weighted_round_robin_open(D, rr)
    summary = hook.reconcile_records(
        domain=D,
        rr=rr,
        record_type="A",
        values={"203.0.113.1": 90, "203.0.113.3": 10},
        owner="yunfleet/global",
    )
    assert summary["created"] == ["203.0.113.3"] and summary["deleted"] == ["203.0.113.2"]
    assert sorted(summary["reweighted"]) == ["203.0.113.1", "203.0.113.3"]
    records = {r.value: r.weight for r in hook.list_records(D, rr=rr, record_type="A")}
    assert records == {"203.0.113.1": 90, "203.0.113.3": 10}
    mark = cloud_env.calls()["next"]
    hook.reconcile_records(
        domain=D,
        rr=rr,
        record_type="A",
        values={"203.0.113.1": 90, "203.0.113.3": 10},
        owner="yunfleet/global",
    )
    assert mutating_calls(cloud_env, mark) == []


def test_records_not_owned_are_never_touched(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    client = cloud_env.dns_client()
    from alibabacloud_alidns20150109 import models

    client.add_domain_record(
        models.AddDomainRecordRequest(domain_name=D, rr="www", type="A", value="203.0.113.99")
    )
    hook = dns_hook(audit_store, task_context)
    mark = cloud_env.calls()["next"]
    with pytest.raises(NotOwnedError, match="did not create"):
        hook.reconcile_records(
            domain=D, rr="www", record_type="A", values={"203.0.113.5": None}, owner="yunfleet/x"
        )
    assert hook.delete_records(domain=D, rr="www", owner="yunfleet/x")["changes"] == 0
    assert mutating_calls(cloud_env, mark) == []
    hook.reconcile_records(
        domain=D, rr="svc", record_type="A", values={"203.0.113.6": None}, owner="yunfleet/a"
    )
    with pytest.raises(NotOwnedError, match="owned by 'yunfleet/a'"):
        hook.reconcile_records(
            domain=D, rr="svc", record_type="A", values={"203.0.113.7": None}, owner="yunfleet/b"
        )
    assert [r.value for r in hook.list_records(D, rr="www")] == ["203.0.113.99"]


def test_delete_removes_records_and_claim(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = dns_hook(audit_store, task_context)
    hook.reconcile_records(domain=D, rr="api.gone", record_type="A", values={"203.0.113.8": None}, owner="o")
    result = hook.delete_records(domain=D, rr="api.gone", owner="o")
    assert result["deleted"] == ["203.0.113.8"]
    assert hook.list_records(D, rr="api.gone") == [] and hook.owner_of(D, "api.gone") is None


def test_listing_pages_500_records(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    client = cloud_env.dns_client()
    from alibabacloud_alidns20150109 import models

    cloud_env.set_limits([{"product": "alidns", "action": "*", "qps": 10000, "burst": 10000}])
    try:
        for n in range(520):
            client.add_domain_record(
                models.AddDomainRecordRequest(
                    domain_name=D, rr=f"bulk{n}", type="A", value=f"203.0.113.{n % 250 + 1}"
                )
            )
    finally:
        cloud_env.reset_limits()
    hook = dns_hook(audit_store, task_context)
    mark = cloud_env.calls()["next"]
    records = hook.list_records(D)
    assert len([r for r in records if r.rr.startswith("bulk")]) == 520
    pages = [c for c in cloud_env.calls(mark)["calls"] if c["action"] == "DescribeDomainRecords"]
    assert len(pages) == 2 and {str(p["params"].get("PageSize")) for p in pages} == {"500"}


def test_reconcile_and_claim_keeps_the_registry_in_step(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    hook = dns_hook(audit_store, task_context)
    for address in ("203.0.113.30", "203.0.113.31"):
        hook.reconcile_and_claim(
            domain=D, rr="api.x", record_type="A", values={address: None}, owner="cluster/x", cluster="x"
        )
    owned = YunfleetRegistryHook().registry.list_dns_ownership(cluster="x")
    assert [(o.rr, o.value, o.owner) for o in owned] == [("api.x", "203.0.113.31", "cluster/x")]
    assert [r.value for r in hook.list_records(D, rr="api.x", record_type="A")] == ["203.0.113.31"]
