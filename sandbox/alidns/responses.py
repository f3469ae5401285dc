"""Alidns actions: parse query parameters, call the model, serialise the response."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.alidns import exceptions as exc
from sandbox.alidns.models import Record
from sandbox.core.errors import InvalidParameter
from sandbox.core.params import Params, paginate
from sandbox.core.timefmt import iso_seconds, millis

if TYPE_CHECKING:
    from sandbox.world import World

DNS_SERVERS = ["ns1.sandbox.alidns.example", "ns2.sandbox.alidns.example"]


def record_view(r: Record, *, timestamps: bool = True, weighted: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "RecordId": r.record_id,
        "DomainName": r.domain_name,
        "RR": r.rr,
        "Type": r.type,
        "Value": r.value,
        "TTL": r.ttl,
        "Line": r.line,
        "Status": r.status,
        "Locked": r.locked,
        "Weight": r.weight,
        "Remark": r.remark,
        "LbaStatus": weighted,
    }
    if r.priority is not None:
        view["Priority"] = r.priority
    if timestamps:
        view["CreateTimestamp"] = millis(r.created_at)
        view["UpdateTimestamp"] = millis(r.updated_at)
    return view


def _page(p: Params, default: int, maximum: int) -> tuple[int, int]:
    number = p.int("PageNumber", 1, minimum=1) or 1
    size = p.int("PageSize", default) or default
    if not 1 <= size <= maximum:
        raise exc.InvalidPageSize(
            f"The specified PageSize is not valid: {size}; it must be from 1 to {maximum}."
        )
    return number, size


def describe_domains(world: World, p: Params) -> dict[str, Any]:
    domains = sorted(world.alidns.domains.values(), key=lambda d: d.domain_name)
    keyword = p.str("KeyWord")
    if keyword:
        exact = p.str("SearchMode", "LIKE") == "EXACT"
        domains = [
            d
            for d in domains
            if (d.domain_name == keyword.lower() if exact else keyword.lower() in d.domain_name)
        ]
    number, size = _page(p, 20, 100)
    rows = [
        {
            "DomainId": d.domain_id,
            "DomainName": d.domain_name,
            "PunyCode": d.domain_name,
            "AliDomain": False,
            "RecordCount": len(d.records),
            "VersionCode": d.edition,
            "VersionName": "Enterprise Standard Edition",
            "CreateTime": iso_seconds(d.created_at),
            "CreateTimestamp": millis(d.created_at),
            "DnsServers": {"DnsServer": DNS_SERVERS},
            "InstanceExpired": False,
            "Starmark": False,
            "ResourceGroupId": "rg-sandbox",
            "Tags": {"Tag": []},
        }
        for d in paginate(domains, number, size)
    ]
    return {"TotalCount": len(domains), "PageNumber": number, "PageSize": size, "Domains": {"Domain": rows}}


def describe_domain_info(world: World, p: Params) -> dict[str, Any]:
    d = world.alidns.get_domain(p.req("DomainName"))
    return {
        "DomainId": d.domain_id,
        "DomainName": d.domain_name,
        "PunyCode": d.domain_name,
        "AliDomain": False,
        "VersionCode": d.edition,
        "VersionName": "Enterprise Standard Edition",
        "MinTtl": d.min_ttl,
        "CreateTime": iso_seconds(d.created_at),
        "DnsServers": {"DnsServer": DNS_SERVERS},
        "AvailableTtls": {"AvailableTtl": [str(t) for t in (60, 120, 300, 600, 1800, 3600, 43200, 86400)]},
        "RecordLines": {
            "RecordLine": [{"LineCode": "default", "LineName": "default", "LineDisplayName": "default"}]
        },
    }


def _int_field(p: Params, name: str, default: int | None = None) -> int | None:
    return p.int(name, default)


def add_domain_record(world: World, p: Params) -> dict[str, Any]:
    record = world.alidns.add_record(
        p.req("DomainName"),
        p.req("RR"),
        p.req("Type"),
        p.req("Value"),
        ttl=_int_field(p, "TTL", 600) or 600,
        line=p.str("Line", "default") or "default",
        priority=p.int("Priority", minimum=1, maximum=50),
    )
    return {"RecordId": record.record_id}


def update_domain_record(world: World, p: Params) -> dict[str, Any]:
    record = world.alidns.update_record(
        p.req("RecordId"),
        p.req("RR"),
        p.req("Type"),
        p.req("Value"),
        ttl=_int_field(p, "TTL"),
        line=p.str("Line"),
        priority=p.int("Priority", minimum=1, maximum=50),
    )
    return {"RecordId": record.record_id}


def delete_domain_record(world: World, p: Params) -> dict[str, Any]:
    record_id = p.req("RecordId")
    world.alidns.delete_record(record_id)
    return {"RecordId": record_id}


def delete_sub_domain_records(world: World, p: Params) -> dict[str, Any]:
    rr = p.req("RR")
    count = world.alidns.delete_subdomain_records(p.req("DomainName"), rr, p.str("Type"))
    return {"RR": rr, "TotalCount": str(count)}


def _match(value: str, keyword: str | None, fuzzy: bool) -> bool:
    if keyword is None:
        return True
    return keyword.lower() in value.lower() if fuzzy else keyword.lower() == value.lower()


def describe_domain_records(world: World, p: Params) -> dict[str, Any]:
    domain = world.alidns.get_domain(p.req("DomainName"))
    records = list(domain.records.values())
    mode = p.enum("SearchMode", ("LIKE", "EXACT", "ADVANCED", "COMBINATION"))
    keyword = p.str("KeyWord")
    if mode is None and keyword is not None:
        mode = "LIKE"
    if mode in ("LIKE", "EXACT"):
        fuzzy = mode == "LIKE"
        records = [
            r
            for r in records
            if keyword is None or _match(r.rr, keyword, fuzzy) or _match(r.value, keyword, fuzzy)
        ]
    else:
        fuzzy = mode != "COMBINATION"
        status = p.str("Status")
        if status is not None and status.lower() not in ("enable", "disable"):
            raise exc.InvalidStatus()
        records = [
            r
            for r in records
            if _match(r.rr, p.str("RRKeyWord"), fuzzy)
            and _match(r.value, p.str("ValueKeyWord"), fuzzy)
            and _match(r.type, p.str("TypeKeyWord"), False)
            and _match(r.type, p.str("Type"), False)
            and _match(r.line, p.str("Line"), False)
            and _match(r.status, status, False)
        ]
    order_by = p.str("OrderBy")
    descending = (p.str("Direction", "DESC") or "DESC").upper() == "DESC"
    if order_by:
        attr = {"RR": "rr", "Type": "type", "Value": "value", "TTL": "ttl", "Line": "line"}.get(order_by)
        if attr is None:
            raise InvalidParameter("OrderBy", "Valid values: RR, Type, Value, TTL, Line.")
        records.sort(key=lambda r: (getattr(r, attr), int(r.record_id)), reverse=descending)
    else:
        records.sort(key=lambda r: int(r.record_id), reverse=descending)
    number, size = _page(p, 20, 500)
    return {
        "TotalCount": len(records),
        "PageNumber": number,
        "PageSize": size,
        "DomainRecords": {
            "Record": [
                record_view(r, weighted=world.alidns.weighting_open(domain, r))
                for r in paginate(records, number, size)
            ]
        },
    }


def describe_sub_domain_records(world: World, p: Params) -> dict[str, Any]:
    domain, rr = world.alidns.split_subdomain(p.req("SubDomain"), p.str("DomainName"))
    rtype = p.str("Type")
    line = p.str("Line")
    records = sorted(
        (
            r
            for r in domain.records.values()
            if r.rr == rr and (rtype is None or r.type == rtype.upper()) and (line is None or r.line == line)
        ),
        key=lambda r: int(r.record_id),
    )
    number, size = _page(p, 20, 100)
    return {
        "TotalCount": len(records),
        "PageNumber": number,
        "PageSize": size,
        "DomainRecords": {
            "Record": [record_view(r, timestamps=False) for r in paginate(records, number, size)]
        },
    }


def describe_domain_record_info(world: World, p: Params) -> dict[str, Any]:
    domain, record = world.alidns.find_record(p.req("RecordId"))
    view = record_view(record, timestamps=False)
    view.update(
        {"DomainId": domain.domain_id, "PunyCode": domain.domain_name, "GroupId": "", "GroupName": ""}
    )
    view.pop("Weight", None)
    view.pop("LbaStatus", None)
    return view


def set_domain_record_status(world: World, p: Params) -> dict[str, Any]:
    status = p.req("Status")
    record = world.alidns.set_record_status(p.req("RecordId"), status)
    return {"RecordId": record.record_id, "Status": status.capitalize()}


def set_dnsslb_status(world: World, p: Params) -> dict[str, Any]:
    open_ = p.bool("Open", True)
    count = world.alidns.set_weighting(
        p.req("SubDomain"),
        p.str("DomainName"),
        open_,
        p.str("Type", "A") or "A",
        p.str("Line", "default") or "default",
    )
    return {"Open": open_, "RecordCount": count}


def update_dnsslb_weight(world: World, p: Params) -> dict[str, Any]:
    weight = p.int("Weight", required=True)
    assert weight is not None
    record = world.alidns.set_weight(p.req("RecordId"), weight)
    return {"RecordId": record.record_id, "Weight": record.weight}


def describe_dnsslb_sub_domains(world: World, p: Params) -> dict[str, Any]:
    rows = world.alidns.weighted_subdomains(p.req("DomainName"), p.str("Rr"))
    number, size = _page(p, 20, 100)
    return {
        "TotalCount": len(rows),
        "PageNumber": number,
        "PageSize": size,
        "SlbSubDomains": {"SlbSubDomain": paginate(rows, number, size)},
    }


ACTIONS = {
    "DescribeDomains": describe_domains,
    "DescribeDomainInfo": describe_domain_info,
    "AddDomainRecord": add_domain_record,
    "UpdateDomainRecord": update_domain_record,
    "DeleteDomainRecord": delete_domain_record,
    "DeleteSubDomainRecords": delete_sub_domain_records,
    "DescribeDomainRecords": describe_domain_records,
    "DescribeSubDomainRecords": describe_sub_domain_records,
    "DescribeDomainRecordInfo": describe_domain_record_info,
    "SetDomainRecordStatus": set_domain_record_status,
    "SetDNSSLBStatus": set_dnsslb_status,
    "UpdateDNSSLBWeight": update_dnsslb_weight,
    "DescribeDNSSLBSubDomains": describe_dnsslb_sub_domains,
}
