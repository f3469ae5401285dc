"""The DNS server, queried with dnspython over UDP and TCP, answering from Alidns records."""

from __future__ import annotations

from collections import Counter

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
from alibabacloud_alidns20150109 import models as dns_models

DOMAIN = "fleet.example.com"


def _add(client, rr, value, rtype="A") -> str:
    return client.add_domain_record(
        dns_models.AddDomainRecordRequest(domain_name=DOMAIN, rr=rr, type=rtype, value=value, ttl=60)
    ).body.record_id


def _query(sandbox, name, rtype="A", tcp=False):
    message = dns.message.make_query(name, rtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, "127.0.0.1", port=sandbox.dns_port, timeout=2)


def _values(response, rtype="A") -> list[str]:
    wanted = dns.rdatatype.from_text(rtype)
    return sorted(item.to_text() for rrset in response.answer if rrset.rdtype == wanted for item in rrset)


def test_record_types_over_udp_and_tcp(clean_sandbox):
    client = clean_sandbox.dns_client()
    _add(client, "api.demo", "203.0.113.10")
    _add(client, "api.demo", "2001:db8::10", rtype="AAAA")
    _add(client, "alias.demo", f"api.demo.{DOMAIN}", rtype="CNAME")
    _add(client, "owner.api.demo", "heritage=yunfleet,owner=demo", rtype="TXT")
    response = _query(clean_sandbox, f"api.demo.{DOMAIN}")
    assert response.rcode() == dns.rcode.NOERROR
    assert _values(response) == ["203.0.113.10"]
    assert response.answer[0].ttl == 60
    assert _values(_query(clean_sandbox, f"api.demo.{DOMAIN}", "AAAA", tcp=True), "AAAA") == ["2001:db8::10"]
    alias = _query(clean_sandbox, f"alias.demo.{DOMAIN}")
    assert _values(alias, "CNAME") == [f"api.demo.{DOMAIN}."]
    assert _values(alias) == ["203.0.113.10"]
    txt = _query(clean_sandbox, f"owner.api.demo.{DOMAIN}", "TXT")
    assert _values(txt, "TXT") == ['"heritage=yunfleet,owner=demo"']


def test_nxdomain_nodata_and_refused(clean_sandbox):
    _add(clean_sandbox.dns_client(), "only-a.demo", "198.18.0.10")
    assert _query(clean_sandbox, f"missing.demo.{DOMAIN}").rcode() == dns.rcode.NXDOMAIN
    nodata = _query(clean_sandbox, f"only-a.demo.{DOMAIN}", "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []
    assert _query(clean_sandbox, "www.example.org").rcode() == dns.rcode.REFUSED


def test_disabled_records_are_not_served(clean_sandbox):
    client = clean_sandbox.dns_client()
    keep = _add(client, "web", "198.18.3.1")
    drop = _add(client, "web", "198.18.3.2")
    assert _values(_query(clean_sandbox, f"web.{DOMAIN}")) == ["198.18.3.1", "198.18.3.2"]
    client.set_domain_record_status(dns_models.SetDomainRecordStatusRequest(record_id=drop, status="Disable"))
    assert _values(_query(clean_sandbox, f"web.{DOMAIN}")) == ["198.18.3.1"]
    client.set_domain_record_status(dns_models.SetDomainRecordStatusRequest(record_id=keep, status="Disable"))
    assert _query(clean_sandbox, f"web.{DOMAIN}").rcode() == dns.rcode.NXDOMAIN


def test_weighted_round_robin_follows_weights(clean_sandbox):
    client = clean_sandbox.dns_client()
    heavy = _add(client, "svc.global", "198.18.4.1")
    light = _add(client, "svc.global", "198.18.4.2")
    client.set_dnsslbstatus(dns_models.SetDNSSLBStatusRequest(sub_domain=f"svc.global.{DOMAIN}", open=True))
    client.update_dnsslbweight(dns_models.UpdateDNSSLBWeightRequest(record_id=heavy, weight=3))
    client.update_dnsslbweight(dns_models.UpdateDNSSLBWeightRequest(record_id=light, weight=1))
    answers = Counter()
    for _ in range(40):
        values = _values(_query(clean_sandbox, f"svc.global.{DOMAIN}"))
        assert len(values) == 1
        answers[values[0]] += 1
    assert answers == {"198.18.4.1": 30, "198.18.4.2": 10}
    client.set_domain_record_status(
        dns_models.SetDomainRecordStatusRequest(record_id=heavy, status="Disable")
    )
    assert {_values(_query(clean_sandbox, f"svc.global.{DOMAIN}"))[0] for _ in range(5)} == {"198.18.4.2"}
    client.set_dnsslbstatus(dns_models.SetDNSSLBStatusRequest(sub_domain=f"svc.global.{DOMAIN}", open=False))
    client.set_domain_record_status(dns_models.SetDomainRecordStatusRequest(record_id=heavy, status="Enable"))
    assert _values(_query(clean_sandbox, f"svc.global.{DOMAIN}")) == ["198.18.4.1", "198.18.4.2"]
