"""Alidns state and behaviour: Python arguments in, typed errors out, no HTTP.

Also answers name lookups for the DNS server (``resolve``), honouring disabled records and
weighted round robin (smooth weighted round robin, so a cycle of ``sum(weights)`` answers gives
each record exactly its share).
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.alidns import exceptions as exc
from sandbox.core.errors import InvalidParameter

if TYPE_CHECKING:
    from sandbox.world import World

SEED_DOMAIN = "fleet.example.com"
SEED_DOMAIN_ID = "00000000-0000-4000-8000-f1ee7e8a3c01"
EDITION = "version_enterprise_basic"
EDITION_MIN_TTL = 60
MAX_TTL = 86400
MAX_RECORDS = 10000
RECORD_TYPES = ("A", "AAAA", "CNAME", "TXT", "MX", "NS", "SRV", "CAA")
WEIGHTED_TYPES = ("A", "AAAA", "CNAME")


@dataclass
class Record:
    record_id: str
    domain_name: str
    rr: str
    type: str
    value: str
    ttl: int
    line: str
    priority: int | None
    created_at: float
    updated_at: float
    status: str = "ENABLE"
    locked: bool = False
    weight: int = 1
    remark: str = ""

    @property
    def enabled(self) -> bool:
        return self.status == "ENABLE"


@dataclass
class Domain:
    domain_name: str
    domain_id: str
    edition: str
    min_ttl: int
    created_at: float
    records: dict[str, Record] = field(default_factory=dict)
    # "rr|type|line" -> whether weighted round robin is open for that subdomain
    weighted: dict[str, bool] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        data = asdict(self)
        data["records"] = [asdict(r) for r in self.records.values()]
        return data

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> Domain:
        data = dict(raw)
        data["records"] = {r["record_id"]: Record(**r) for r in data["records"]}
        return cls(**data)


def weight_key(rr: str, rtype: str, line: str) -> str:
    return f"{rr.lower()}|{rtype.upper()}|{line}"


class AlidnsBackend:
    def __init__(self, world: World):
        self.world = world
        self.domains: dict[str, Domain] = {}
        self._rr_state: dict[str, dict[str, int]] = {}

    # -- lifecycle of the backend ---------------------------------------------------------------

    def reset(self) -> None:
        self.domains = {
            SEED_DOMAIN: Domain(SEED_DOMAIN, SEED_DOMAIN_ID, EDITION, EDITION_MIN_TTL, self.world.now())
        }
        self._rr_state = {}

    def to_state(self) -> dict[str, Any]:
        return {"domains": [d.to_state() for d in self.domains.values()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.domains = {raw["domain_name"]: Domain.from_state(raw) for raw in state["domains"]}
        self._rr_state = {}

    # -- lookups --------------------------------------------------------------------------------

    def get_domain(self, name: str) -> Domain:
        domain = self.domains.get(name.lower().rstrip("."))
        if domain is None:
            raise exc.IncorrectDomainUser(f"The domain name does not belong to this user: {name}.")
        return domain

    def find_record(self, record_id: str) -> tuple[Domain, Record]:
        for domain in self.domains.values():
            record = domain.records.get(str(record_id))
            if record is not None:
                return domain, record
        raise exc.DomainRecordNotBelongToUser(f"The DNS record does not belong to this user: {record_id}.")

    def split_subdomain(self, subdomain: str, domain_name: str | None = None) -> tuple[Domain, str]:
        """(domain, host record) of a full name, as DescribeSubDomainRecords resolves it."""
        name = subdomain.lower().rstrip(".")
        if name.startswith("@."):
            name = name[2:]
        if domain_name:
            domain = self.get_domain(domain_name)
            candidates = [domain]
        else:
            candidates = sorted(self.domains.values(), key=lambda d: -len(d.domain_name))
        for domain in candidates:
            if name == domain.domain_name:
                return domain, "@"
            if name.endswith("." + domain.domain_name):
                return domain, name[: -len(domain.domain_name) - 1]
        raise exc.SubDomainInvalid(
            f"The specified SubDomain does not belong to a domain of this user: {subdomain}."
        )

    # -- records --------------------------------------------------------------------------------

    def _validate(self, domain: Domain, rr: str, rtype: str, value: str, ttl: int, line: str) -> None:
        if not rr or rr != rr.strip() or " " in rr or len(rr) > 253:
            raise exc.InvalidRr(f"The specified host record (RR) is not valid: {rr!r}.")
        if rtype not in RECORD_TYPES:
            raise exc.InvalidRecordType(f"The specified record type is not supported: {rtype}.")
        if ttl < domain.min_ttl:
            raise exc.TtlBelowMinimum(
                f"The TTL value is less than the minimum value allowed: {ttl} < {domain.min_ttl} "
                f"for the {domain.edition} edition."
            )
        if ttl > MAX_TTL:
            raise exc.InvalidTtl(f"The specified TTL is not valid: {ttl}; at most {MAX_TTL}.")
        if line != "default":
            raise InvalidParameter("Line", "The sandbox only serves the default line.")
        try:
            if rtype == "A":
                ipaddress.IPv4Address(value)
            elif rtype == "AAAA":
                ipaddress.IPv6Address(value)
        except ValueError as error:
            raise exc.InvalidRecordValue(
                f"The value {value!r} is not a valid {rtype} record value."
            ) from error
        if not value:
            raise exc.InvalidRecordValue("The record value must not be empty.")

    def _check_conflicts(
        self, domain: Domain, rr: str, rtype: str, value: str, line: str, skip: str | None
    ) -> None:
        for other in domain.records.values():
            if other.record_id == skip or other.rr.lower() != rr.lower() or other.line != line:
                continue
            if other.type == rtype and other.value == value:
                raise exc.DomainRecordDuplicate()
            if (rtype == "CNAME") != (other.type == "CNAME") and {rtype, other.type} & {"A", "AAAA", "CNAME"}:
                raise exc.DomainRecordConflict(
                    f"The DNS record conflicts with other records: {rr} already has a {other.type} record."
                )

    def add_record(
        self,
        domain_name: str,
        rr: str,
        rtype: str,
        value: str,
        ttl: int = 600,
        line: str = "default",
        priority: int | None = None,
    ) -> Record:
        domain = self.get_domain(domain_name)
        rtype = rtype.upper()
        self._validate(domain, rr, rtype, value, ttl, line)
        self._check_conflicts(domain, rr, rtype, value, line, None)
        if len(domain.records) >= MAX_RECORDS:
            raise exc.QuotaExceededRecord()
        now = self.world.now()
        record_id = str(self.world.next_number("dns-record", start=1_000_000_000_000_000))
        record = Record(
            record_id, domain.domain_name, rr.lower(), rtype, value, ttl, line, priority, now, now
        )
        domain.records[record_id] = record
        return record

    def update_record(
        self,
        record_id: str,
        rr: str,
        rtype: str,
        value: str,
        ttl: int | None = None,
        line: str | None = None,
        priority: int | None = None,
    ) -> Record:
        domain, record = self.find_record(record_id)
        if record.locked:
            raise exc.DomainRecordLocked()
        rtype = rtype.upper()
        ttl = record.ttl if ttl is None else ttl
        line = line or record.line
        self._validate(domain, rr, rtype, value, ttl, line)
        unchanged = (record.rr, record.type, record.value, record.ttl, record.line, record.priority) == (
            rr.lower(),
            rtype,
            value,
            ttl,
            line,
            priority if priority is not None else record.priority,
        )
        if unchanged:
            raise exc.DomainRecordDuplicate()
        self._check_conflicts(domain, rr, rtype, value, line, record.record_id)
        record.rr, record.type, record.value, record.ttl, record.line = rr.lower(), rtype, value, ttl, line
        if priority is not None:
            record.priority = priority
        record.updated_at = self.world.now()
        return record

    def delete_record(self, record_id: str) -> None:
        domain, record = self.find_record(record_id)
        if record.locked:
            raise exc.DomainRecordLocked()
        del domain.records[record.record_id]

    def set_record_status(self, record_id: str, status: str) -> Record:
        _, record = self.find_record(record_id)
        if status.lower() not in ("enable", "disable"):
            raise exc.InvalidStatus(f"The specified Status is not valid: {status!r}; use Enable or Disable.")
        record.status = status.upper()
        record.updated_at = self.world.now()
        return record

    def delete_subdomain_records(self, domain_name: str, rr: str, rtype: str | None) -> int:
        domain = self.get_domain(domain_name)
        doomed = [
            r.record_id
            for r in domain.records.values()
            if r.rr == rr.lower() and (rtype is None or r.type == rtype.upper()) and not r.locked
        ]
        for record_id in doomed:
            del domain.records[record_id]
        return len(doomed)

    # -- weighted round robin -------------------------------------------------------------------

    def set_weighting(
        self, subdomain: str, domain_name: str | None, open_: bool, rtype: str, line: str
    ) -> int:
        domain, rr = self.split_subdomain(subdomain, domain_name)
        rtype = rtype.upper()
        if rtype not in WEIGHTED_TYPES:
            raise InvalidParameter("Type", "Valid values: A, AAAA, CNAME.")
        count = sum(1 for r in domain.records.values() if r.rr == rr and r.type == rtype and r.line == line)
        if count == 0:
            raise exc.DnsSlbNoRecord(f"The subdomain {subdomain} has no {rtype} records.")
        domain.weighted[weight_key(rr, rtype, line)] = open_
        return count

    def set_weight(self, record_id: str, weight: int) -> Record:
        domain, record = self.find_record(record_id)
        if not 1 <= weight <= 100:
            raise exc.InvalidWeight(f"The specified Weight is not valid: {weight}; it must be from 1 to 100.")
        if not record.enabled:
            raise exc.DomainRecordDisable(f"The domain record is disable: {record_id}.")
        if not self.weighting_open(domain, record):
            raise exc.DisableDnsSlb(f"The subdomain's DNS SLB status is closed: {record.rr}.")
        record.weight = weight
        record.updated_at = self.world.now()
        return record

    def weighting_open(self, domain: Domain, record: Record) -> bool:
        """Whether weighted round robin is open at the record's name, type and line (``LbaStatus``)."""
        return record.type in WEIGHTED_TYPES and domain.weighted.get(
            weight_key(record.rr, record.type, record.line), False
        )

    def weighted_subdomains(self, domain_name: str, rr: str | None) -> list[dict[str, Any]]:
        domain = self.get_domain(domain_name)
        groups: dict[tuple[str, str], int] = {}
        for record in domain.records.values():
            if record.type in WEIGHTED_TYPES and (rr is None or record.rr == rr.lower()):
                groups[(record.rr, record.type)] = groups.get((record.rr, record.type), 0) + 1
        rows = []
        for (host, rtype), count in sorted(groups.items()):
            if count < 2 and weight_key(host, rtype, "default") not in domain.weighted:
                continue
            open_ = domain.weighted.get(weight_key(host, rtype, "default"), False)
            full = domain.domain_name if host == "@" else f"{host}.{domain.domain_name}"
            rows.append(
                {
                    "SubDomain": full,
                    "RecordCount": count,
                    "Open": open_,
                    "Type": rtype,
                    "LineAlgorithms": {"LineAlgorithm": [{"Line": "default", "Open": open_}]},
                }
            )
        return rows

    # -- name resolution for the DNS server -----------------------------------------------------

    def resolve(self, qname: str, qtype: str) -> tuple[str, list[Record]]:
        """("NOERROR"|"NXDOMAIN"|"REFUSED", records to answer with) for a query name and type."""
        name = qname.lower().rstrip(".")
        domain = next(
            (
                d
                for d in sorted(self.domains.values(), key=lambda d: -len(d.domain_name))
                if name == d.domain_name or name.endswith("." + d.domain_name)
            ),
            None,
        )
        if domain is None:
            return "REFUSED", []
        rr = "@" if name == domain.domain_name else name[: -len(domain.domain_name) - 1]
        records = [r for r in domain.records.values() if r.rr == rr and r.enabled and r.line == "default"]
        if not records and rr != "@":
            parts = rr.split(".")
            for i in range(len(parts)):
                wildcard = ".".join(["*", *parts[i + 1 :]]) if i + 1 < len(parts) else "*"
                records = [r for r in domain.records.values() if r.rr == wildcard and r.enabled]
                if records:
                    break
        if not records:
            exists_below = any(r.rr.endswith("." + rr) for r in domain.records.values() if r.enabled)
            return ("NOERROR" if exists_below or rr == "@" else "NXDOMAIN"), []
        cnames = [r for r in records if r.type == "CNAME"]
        if cnames and qtype != "CNAME":
            return "NOERROR", self._pick(domain, rr, "CNAME", cnames, single=True)
        matching = [r for r in records if r.type == qtype]
        if qtype in WEIGHTED_TYPES:
            return "NOERROR", self._pick(domain, rr, qtype, matching, single=qtype == "CNAME")
        return "NOERROR", matching

    def _pick(self, domain: Domain, rr: str, rtype: str, records: list[Record], single: bool) -> list[Record]:
        if not records:
            return []
        key = f"{domain.domain_name}|{weight_key(rr, rtype, 'default')}"
        if not domain.weighted.get(weight_key(rr, rtype, "default"), False):
            return records[:1] if single else records
        ordered = sorted(records, key=lambda r: r.record_id)
        current = self._rr_state.setdefault(key, {})
        total = sum(r.weight for r in ordered)
        for r in ordered:
            current[r.record_id] = current.get(r.record_id, 0) + r.weight
        best = max(ordered, key=lambda r: current[r.record_id])
        current[best.record_id] -= total
        return [best]
