"""Alidns through the official SDK: records, search, status, weights and the real error codes."""

from __future__ import annotations

import pytest
from alibabacloud_alidns20150109 import models as dns_models
from alibabacloud_tea_openapi.exceptions import ClientException

DOMAIN = "fleet.example.com"


def _error(call) -> ClientException:
    with pytest.raises(ClientException) as info:
        call()
    return info.value


def _add(client, rr, value, rtype="A", ttl=600) -> str:
    return client.add_domain_record(
        dns_models.AddDomainRecordRequest(domain_name=DOMAIN, rr=rr, type=rtype, value=value, ttl=ttl)
    ).body.record_id


def _records(client, **fields):
    return client.describe_domain_records(
        dns_models.DescribeDomainRecordsRequest(domain_name=DOMAIN, **fields)
    ).body


def test_domains(sandbox):
    body = sandbox.dns_client().describe_domains(dns_models.DescribeDomainsRequest()).body
    assert [d.domain_name for d in body.domains.domain] == [DOMAIN]


def test_record_crud(clean_sandbox):
    client = clean_sandbox.dns_client()
    record_id = _add(client, "api.demo", "203.0.113.10", ttl=60)
    assert record_id.isdigit()
    info = client.describe_domain_record_info(
        dns_models.DescribeDomainRecordInfoRequest(record_id=record_id)
    ).body
    assert (info.rr, info.type, info.value, info.ttl, info.status) == (
        "api.demo",
        "A",
        "203.0.113.10",
        60,
        "ENABLE",
    )
    client.update_domain_record(
        dns_models.UpdateDomainRecordRequest(
            record_id=record_id, rr="api.demo", type="A", value="203.0.113.11", ttl=120
        )
    )
    info = client.describe_domain_record_info(
        dns_models.DescribeDomainRecordInfoRequest(record_id=record_id)
    ).body
    assert (info.value, info.ttl) == ("203.0.113.11", 120)
    client.delete_domain_record(dns_models.DeleteDomainRecordRequest(record_id=record_id))
    error = _error(
        lambda: client.delete_domain_record(dns_models.DeleteDomainRecordRequest(record_id=record_id))
    )
    assert (error.code, error.status_code) == ("DomainRecordNotBelongToUser", 400)


def test_record_errors(clean_sandbox):
    client = clean_sandbox.dns_client()
    record_id = _add(client, "www", "198.18.0.10")
    error = _error(lambda: _add(client, "www", "198.18.0.10"))
    assert (error.code, error.status_code) == ("DomainRecordDuplicate", 400)
    error = _error(
        lambda: client.update_domain_record(
            dns_models.UpdateDomainRecordRequest(
                record_id=record_id, rr="www", type="A", value="198.18.0.10", ttl=600
            )
        )
    )
    assert error.code == "DomainRecordDuplicate"
    error = _error(lambda: _add(client, "low-ttl", "198.18.0.11", ttl=30))
    assert (error.code, error.status_code) == ("QuotaExceeded.TTL", 400)
    error = _error(lambda: _add(client, "www", "other.example.com.", rtype="CNAME"))
    assert error.code == "DomainRecordConflict"
    error = _error(
        lambda: client.add_domain_record(
            dns_models.AddDomainRecordRequest(
                domain_name="not-mine.example.org", rr="www", type="A", value="198.18.0.1"
            )
        )
    )
    assert error.code == "IncorrectDomainUser"
    error = _error(lambda: _add(client, "bad", "not-an-ip"))
    assert error.code == "InvalidValue"
    error = _error(
        lambda: client.update_domain_record(
            dns_models.UpdateDomainRecordRequest(record_id="123", rr="www", type="A", value="198.18.0.9")
        )
    )
    assert error.code == "DomainRecordNotBelongToUser"


def test_search_and_paging(clean_sandbox):
    client = clean_sandbox.dns_client()
    for n in range(30):
        _add(client, f"svc{n}.default.demo", f"198.18.1.{n + 1}")
    _add(client, "owner.svc0.default.demo", '"heritage=yunfleet"', rtype="TXT")
    body = _records(client, page_size=500)
    assert body.total_count == 31 and len(body.domain_records.record) == 31
    error = _error(lambda: _records(client, page_size=501))
    assert error.code == "InvalidPageSize"
    page2 = _records(client, page_size=20, page_number=2)
    assert len(page2.domain_records.record) == 11
    fuzzy = _records(client, rrkey_word="svc1", search_mode="ADVANCED", page_size=100)
    assert fuzzy.total_count == 11  # svc1, svc10..svc19
    exact = _records(client, rrkey_word="svc1.default.demo", search_mode="COMBINATION")
    assert [r.rr for r in exact.domain_records.record] == ["svc1.default.demo"]
    txt = _records(client, type_key_word="txt")
    assert [r.type for r in txt.domain_records.record] == ["TXT"]
    sub = client.describe_sub_domain_records(
        dns_models.DescribeSubDomainRecordsRequest(sub_domain=f"svc3.default.demo.{DOMAIN}")
    ).body
    assert [(r.rr, r.value) for r in sub.domain_records.record] == [("svc3.default.demo", "198.18.1.4")]


def test_status_and_weights(clean_sandbox):
    client = clean_sandbox.dns_client()
    first = _add(client, "web.global", "198.18.2.1")
    second = _add(client, "web.global", "198.18.2.2")
    body = client.set_domain_record_status(
        dns_models.SetDomainRecordStatusRequest(record_id=first, status="Disable")
    ).body
    assert body.status == "Disable"
    disabled = _records(client, status="Disable")
    assert [r.record_id for r in disabled.domain_records.record] == [first]
    result = client.set_dnsslbstatus(
        dns_models.SetDNSSLBStatusRequest(sub_domain=f"web.global.{DOMAIN}", open=True)
    ).body
    assert (result.open, result.record_count) == (True, 2)
    weight = client.update_dnsslbweight(
        dns_models.UpdateDNSSLBWeightRequest(record_id=second, weight=70)
    ).body
    assert weight.weight == 70
    error = _error(
        lambda: client.update_dnsslbweight(dns_models.UpdateDNSSLBWeightRequest(record_id=second, weight=0))
    )
    assert error.code == "InvalidWeight"
    subs = client.describe_dnsslbsub_domains(
        dns_models.DescribeDNSSLBSubDomainsRequest(domain_name=DOMAIN)
    ).body
    rows = [(s.sub_domain, s.record_count, s.open) for s in subs.slb_sub_domains.slb_sub_domain]
    assert rows == [(f"web.global.{DOMAIN}", 2, True)]
    records = {r.record_id: r.weight for r in _records(client).domain_records.record}
    assert records[second] == 70
    error = _error(
        lambda: client.set_dnsslbstatus(
            dns_models.SetDNSSLBStatusRequest(sub_domain=f"nothing-here.{DOMAIN}")
        )
    )
    assert error.code == "DnsSLB.RecordNotExist"


def test_weights_need_weighting_open_and_an_enabled_record(clean_sandbox):
    """LbaStatus shows the name's weighted round robin; UpdateDNSSLBWeight refuses closed names and
    paused records with the real codes."""
    client = clean_sandbox.dns_client()
    first = _add(client, "api.shop.global", "203.0.113.41")
    second = _add(client, "api.shop.global", "203.0.113.42")
    _add(client, "api.shop.c1", "203.0.113.41")

    def lba() -> dict[str, bool]:
        return {r.record_id: r.lba_status for r in _records(client, page_size=500).domain_records.record}

    assert lba()[first] is False
    closed = _error(
        lambda: client.update_dnsslbweight(dns_models.UpdateDNSSLBWeightRequest(record_id=first, weight=5))
    )
    assert closed.code == "DisableDNSSLB"
    client.set_dnsslbstatus(
        dns_models.SetDNSSLBStatusRequest(sub_domain=f"api.shop.global.{DOMAIN}", open=True)
    )
    flags = lba()
    assert flags[first] is True and flags[second] is True
    assert sum(flags.values()) == 2  # api.shop.c1 is another name
    client.set_domain_record_status(
        dns_models.SetDomainRecordStatusRequest(record_id=second, status="Disable")
    )
    paused = _error(
        lambda: client.update_dnsslbweight(dns_models.UpdateDNSSLBWeightRequest(record_id=second, weight=5))
    )
    assert paused.code == "DomainRecordDisable"
    assert (
        client.update_dnsslbweight(
            dns_models.UpdateDNSSLBWeightRequest(record_id=first, weight=5)
        ).body.weight
        == 5
    )
