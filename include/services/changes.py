"""One write to the zone (``RecordChange``) and the writes planned for one name (``NamePlan``).

A change names the Alidns action it becomes and carries exactly that action's parameters, so the
dry run records what would be sent and the apply step sends it. A change to a record this plan adds
has no ``record_id``: the apply step resolves it from the add (same name, type and value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

ADD = "AddDomainRecord"
UPDATE = "UpdateDomainRecord"
DELETE = "DeleteDomainRecord"
SET_STATUS = "SetDomainRecordStatus"
SET_WEIGHTED = "SetDNSSLBStatus"
SET_WEIGHT = "UpdateDNSSLBWeight"
ACTIONS = (ADD, UPDATE, DELETE, SET_STATUS, SET_WEIGHTED, SET_WEIGHT)
#: actions that write a TTL (checked against the domain edition's minimum before any write)
TTL_ACTIONS = (ADD, UPDATE)


@dataclass(frozen=True)
class RecordChange:
    """One Alidns write.

    :param rr: the name written (the ownership name ``_yunfleet.<rr>`` for an ownership record).
    :param record_id: the record changed; ``None`` for a record added earlier in the same plan.
    :param status: ``Enable`` or ``Disable`` (``SetDomainRecordStatus``).
    :param weight: 1-100 (``UpdateDNSSLBWeight``).
    :param open: weighted round robin on or off (``SetDNSSLBStatus``).
    :param cluster: the cluster the record stands for, for audit rows (``None`` for shared records).
    """

    action: str
    rr: str
    record_type: str = "A"
    value: str = ""
    ttl: int | None = None
    record_id: str | None = None
    status: str | None = None
    weight: int | None = None
    open: bool | None = None
    cluster: str | None = None

    def target(self, domain: str) -> str:
        """``<rr>.<domain> <type> <value>``: what the change touches, for logs and audit rows."""
        text = f"{self.rr}.{domain}"
        if self.action == SET_WEIGHTED:
            return f"{text} {self.record_type}"
        return f"{text} {self.record_type} {self.value}".rstrip()

    def describe(self, domain: str) -> str:
        """One line for the plan display."""
        what = self.target(domain)
        if self.action == ADD:
            return f"+ add {what} (TTL {self.ttl})"
        if self.action == UPDATE:
            return f"~ update {what} (TTL {self.ttl})"
        if self.action == DELETE:
            return f"- delete {what}"
        if self.action == SET_STATUS:
            return f"~ {self.status.lower() if self.status else '?'} {what}"
        if self.action == SET_WEIGHTED:
            return f"~ weighted round robin {'on' if self.open else 'off'} at {what}"
        return f"~ weight {self.weight} for {what}"

    def request(self, domain: str) -> dict[str, Any]:
        """The action's request parameters (``RecordId`` may be ``None`` for a record this plan adds)."""
        if self.action == ADD:
            return {
                "DomainName": domain,
                "RR": self.rr,
                "Type": self.record_type,
                "Value": self.value,
                "TTL": self.ttl,
            }
        if self.action == UPDATE:
            return {
                "RecordId": self.record_id,
                "RR": self.rr,
                "Type": self.record_type,
                "Value": self.value,
                "TTL": self.ttl,
            }
        if self.action == DELETE:
            return {"RecordId": self.record_id}
        if self.action == SET_STATUS:
            return {"RecordId": self.record_id, "Status": self.status}
        if self.action == SET_WEIGHTED:
            return {
                "DomainName": domain,
                "SubDomain": f"{self.rr}.{domain}",
                "Open": self.open,
                "Type": self.record_type,
            }
        return {"RecordId": self.record_id, "Weight": self.weight}

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordChange:
        return cls(**data)


@dataclass(frozen=True)
class NamePlan:
    """The changes of one published name, in the order they must be sent.

    Order: the ownership record first (so an interrupted run leaves a name that is still ours), then
    adds, TTL fixes, enables, weighted round robin, weights, disables, and deletes last (so a global
    name never loses an answer before its replacement exists).
    """

    rr: str
    source: str
    changes: tuple[RecordChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {"rr": self.rr, "source": self.source, "changes": [c.to_json() for c in self.changes]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NamePlan:
        return cls(data["rr"], data["source"], tuple(RecordChange.from_json(c) for c in data["changes"]))
