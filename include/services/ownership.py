"""Who owns a name of the zone, read from its TXT ownership record (the ExternalDNS TXT-registry idea).

A name ``<rr>`` is **ours** when ``_yunfleet.<rr>`` holds a TXT ownership record of this fleet
(``heritage=yunfleet,owner=fleet/<id>,source=...``) and no other TXT. It is **free** when neither
``<rr>`` nor ``_yunfleet.<rr>`` holds any record. Anything else is **foreign**: records at the name
without our ownership record (an A, a CNAME, an SPF TXT...), or another fleet's (or anyone's) TXT at
``_yunfleet.<rr>``. A foreign name is never written to; at a name we own, the A records of the
default line are ours, and records of other types or lines are left alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from include.fleet.contract import OWNERSHIP_PREFIX, ownership_rr, parse_ownership_value
from include.services.model import ZoneRecord
from include.services.naming import ServiceName, parse_rr

#: the record type and line Yunfleet manages at a name it owns
MANAGED_TYPE, MANAGED_LINE = "A", "default"


@dataclass(frozen=True)
class NameState:
    """The records at one name and at its ownership name."""

    rr: str
    records: tuple[ZoneRecord, ...] = ()
    claims: tuple[ZoneRecord, ...] = ()
    foreign_claims: tuple[ZoneRecord, ...] = ()

    @property
    def owned(self) -> bool:
        return bool(self.claims) and not self.foreign_claims

    @property
    def free(self) -> bool:
        return not (self.records or self.claims or self.foreign_claims)

    @property
    def managed(self) -> list[ZoneRecord]:
        """Our records at an owned name: the A records of the default line."""
        return [r for r in self.records if r.type == MANAGED_TYPE and r.line == MANAGED_LINE]

    def conflict(self) -> str | None:
        """Why the name is foreign (one line), or ``None`` when it is ours or free."""
        if self.owned or self.free:
            return None
        if self.foreign_claims:
            other = parse_ownership_value(self.foreign_claims[0].value)
            who = f"owner {other['owner']!r}" if other else f"TXT {self.foreign_claims[0].value[:60]!r}"
            return f"{ownership_rr(self.rr)} holds {who}, not ours"
        kinds = sorted({f"{r.type} {r.value[:60]}" for r in self.records})
        return f"records without our ownership record: {', '.join(kinds[:3])}"


@dataclass
class ZoneIndex:
    """The zone's records by name, with this fleet's ownership read from the TXT records."""

    owner: str
    by_rr: dict[str, list[ZoneRecord]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def build(cls, records: Iterable[ZoneRecord], owner: str) -> ZoneIndex:
        index = cls(owner)
        for record in records:
            index.by_rr[record.rr].append(record)
        return index

    def is_ours(self, record: ZoneRecord) -> bool:
        parsed = parse_ownership_value(record.value) if record.type == "TXT" else None
        return parsed is not None and parsed.get("owner") == self.owner

    def state(self, rr: str) -> NameState:
        claims = self.by_rr.get(ownership_rr(rr), [])
        return NameState(
            rr=rr,
            records=tuple(self.by_rr.get(rr, [])),
            claims=tuple(r for r in claims if self.is_ours(r)),
            foreign_claims=tuple(r for r in claims if not self.is_ours(r)),
        )

    def owned_service_names(self) -> list[ServiceName]:
        """Every Service name (``<svc>.<ns>.<scope>``) that carries an ownership record of ours."""
        found: dict[str, ServiceName] = {}
        prefix = OWNERSHIP_PREFIX + "."
        for rr, records in self.by_rr.items():
            if not rr.startswith(prefix) or not any(self.is_ours(r) for r in records):
                continue
            name = parse_rr(rr[len(prefix) :])
            if name is not None:
                found[name.rr] = name
        return [found[rr] for rr in sorted(found)]
