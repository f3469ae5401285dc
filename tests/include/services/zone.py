"""An in-memory zone for planner tests: applies a plan's changes as Alidns would, so a test can plan
again and check that the second plan is empty (convergence) without a cloud."""

from __future__ import annotations

from dataclasses import replace
from itertools import count

from include.services.changes import ADD, DELETE, SET_STATUS, SET_WEIGHT, SET_WEIGHTED, UPDATE
from include.services.model import ZoneRecord
from include.services.plan import ServicePlan

OWNER = "fleet/test"
DOMAIN = "fleet.example.com"


class FakeZone:
    def __init__(self, records: list[ZoneRecord] | None = None) -> None:
        self.ids = count(1000)
        self.records: dict[str, ZoneRecord] = {r.record_id: r for r in records or []}
        self.weighted: set[str] = {r.rr for r in records or [] if r.weighted}

    def add(self, rr: str, rtype: str, value: str, ttl: int = 60, **kw: object) -> ZoneRecord:
        record = ZoneRecord(str(next(self.ids)), rr, rtype, value, ttl, **kw)  # type: ignore[arg-type]
        self.records[record.record_id] = record
        return record

    def listing(self) -> list[ZoneRecord]:
        return [replace(r, weighted=r.rr in self.weighted and r.type == "A") for r in self.records.values()]

    def apply(self, plan: ServicePlan) -> int:
        """Apply every change; returns how many writes were sent."""
        writes = 0
        for name in plan.names:
            added: dict[tuple[str, str, str], str] = {}
            for change in name.changes:
                writes += 1
                record_id = change.record_id or added.get((change.rr, change.record_type, change.value))
                if change.action == ADD:
                    duplicate = [
                        r
                        for r in self.records.values()
                        if (r.rr, r.type, r.value) == (change.rr, change.record_type, change.value)
                    ]
                    assert not duplicate, f"DomainRecordDuplicate: {change}"
                    record = self.add(change.rr, change.record_type, change.value, change.ttl or 600)
                    added[(change.rr, change.record_type, change.value)] = record.record_id
                elif change.action == UPDATE:
                    old = self.records[str(record_id)]
                    self.records[old.record_id] = replace(old, value=change.value, ttl=change.ttl or old.ttl)
                elif change.action == DELETE:
                    del self.records[str(record_id)]
                elif change.action == SET_STATUS:
                    old = self.records[str(record_id)]
                    self.records[old.record_id] = replace(old, status=str(change.status).upper())
                elif change.action == SET_WEIGHTED:
                    count_a = sum(1 for r in self.records.values() if r.rr == change.rr and r.type == "A")
                    assert count_a >= 2, "weighted round robin needs two records"
                    self.weighted.add(change.rr)
                elif change.action == SET_WEIGHT:
                    old = self.records[str(record_id)]
                    assert old.enabled, "DomainRecordDisable: weight of a paused record"
                    assert change.rr in self.weighted, "DisableDNSSLB: weighted round robin is off"
                    self.records[old.record_id] = replace(old, weight=change.weight)
        return writes

    def at(self, rr: str, rtype: str = "A") -> list[ZoneRecord]:
        return sorted(
            (r for r in self.records.values() if r.rr == rr and r.type == rtype), key=lambda r: r.value
        )
