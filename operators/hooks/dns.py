"""Alidns (API 2015-01-09) hook: records reconciled under TXT ownership, weighted round robin.

Ownership: a name ``<rr>`` that Yunfleet manages carries a TXT record at ``_yunfleet.<rr>``
(``_yunfleet`` for the apex) whose value is ``heritage=yunfleet,owner=<owner>``. Records at a name
without our ownership record, or owned by another owner, are never changed or deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from include.errors import ConfigurationError, NotOwnedError
from include.fleet.contract import HERITAGE, ownership_rr, ownership_value
from operators.hooks.base_alibaba import AlibabaCloudBaseHook
from operators.hooks.dns_zone import DnsZoneMixin

PAGE_SIZE = 500
RECORD_TYPES = frozenset({"A", "AAAA", "CNAME", "TXT", "MX", "NS", "SRV"})


@dataclass(frozen=True)
class DnsRecord:
    record_id: str
    rr: str
    record_type: str
    value: str
    ttl: int
    line: str = "default"
    weight: int | None = None
    status: str = "ENABLE"
    locked: bool = False

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> DnsRecord:
        weight = raw.get("Weight")
        return cls(
            record_id=str(raw["RecordId"]),
            rr=raw.get("RR", ""),
            record_type=raw.get("Type", ""),
            value=raw.get("Value", ""),
            ttl=int(raw.get("TTL") or 600),
            line=raw.get("Line") or "default",
            weight=int(weight) if weight not in (None, "") else None,
            status=str(raw.get("Status") or "ENABLE").upper(),
            locked=bool(raw.get("Locked")),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DnsHook(DnsZoneMixin, AlibabaCloudBaseHook):
    """Interact with Alibaba Cloud DNS (Alidns) in Yunfleet's terms."""

    product = "alidns"

    def _call(self, action: str, params: Mapping[str, Any], **kw: Any) -> dict[str, Any] | None:
        return self.invoke(action, self._request(action, params), **kw)

    # reads --------------------------------------------------------------------------------

    def iter_records(self, domain: str, *, rr: str | None = None) -> Iterator[DnsRecord]:
        """Every record of ``domain`` (optionally one exact RR), 500 per page."""
        params: dict[str, Any] = {"DomainName": domain, "RRKeyWord": rr}
        pages = self.invoke_pages(
            "DescribeDomainRecords", params, items=("DomainRecords", "Record"), page_size=PAGE_SIZE
        )
        for raw in pages:
            record = DnsRecord.from_api(raw)
            if rr is None or record.rr == rr:
                yield record

    def list_records(
        self, domain: str, *, rr: str | None = None, record_type: str | None = None
    ) -> list[DnsRecord]:
        return [
            r for r in self.iter_records(domain, rr=rr) if record_type is None or r.record_type == record_type
        ]

    def owner_of(self, domain: str, rr: str) -> str | None:
        """The Yunfleet owner recorded for ``rr``, or None."""
        for record in self.list_records(domain, rr=ownership_rr(rr), record_type="TXT"):
            value = record.value.strip('"')
            if value.startswith(HERITAGE + ",owner="):
                return value.split("owner=", 1)[1]
        return None

    def ownership_conflict(self, domain: str, rr: str, owner: str) -> str | None:
        """Why a write by ``owner`` at exactly ``rr`` would be refused, or ``None`` when it may go ahead.

        Read-only, for validation before the first write of a run (every page, the exact RR; the
        API's ``RRKeyWord`` is a fuzzy match). Refused: an ownership record naming another owner, or
        records of any type at ``rr`` without an ownership record (someone else's name).
        """
        current_owner = self.owner_of(domain, rr)
        if current_owner == owner:
            return None
        if current_owner is not None:
            return f"{rr}.{domain} is owned by {current_owner!r}, not {owner!r}"
        foreign = self.list_records(domain, rr=rr)
        if foreign:
            kinds = ", ".join(sorted({f"{r.record_type} {r.value}" for r in foreign})[:3])
            return (
                f"{rr}.{domain} already has records Yunfleet did not create ({kinds}) and no "
                f"{ownership_rr(rr)} TXT ownership record; remove them or choose another cluster name"
            )
        return None

    # writes -------------------------------------------------------------------------------

    def _add(self, domain: str, rr: str, record_type: str, value: str, ttl: int) -> str | None:
        body = self._call(
            "AddDomainRecord",
            {"DomainName": domain, "RR": rr, "Type": record_type, "Value": value, "TTL": ttl},
            mutating=True,
            target=f"{rr}.{domain} {record_type} {value}",
        )
        return str(body["RecordId"]) if body else None

    def _delete(self, domain: str, record: DnsRecord) -> None:
        self._call(
            "DeleteDomainRecord",
            {"RecordId": record.record_id},
            mutating=True,
            target=f"{record.rr}.{domain} {record.record_type} {record.value}",
        )

    def _claim(self, domain: str, rr: str, owner: str, *, allow_existing: bool) -> bool:
        """Make sure the ownership record exists; False if it had to be created."""
        current_owner = self.owner_of(domain, rr)
        if current_owner == owner:
            return True
        if current_owner is not None:
            raise NotOwnedError(
                f"{rr}.{domain} is owned by {current_owner!r}, not {owner!r}; it will not be changed",
                code="NotOwned",
                product="alidns",
                action="reconcile",
            )
        if not allow_existing:
            raise NotOwnedError(
                f"{rr}.{domain} has records that Yunfleet did not create (no {ownership_rr(rr)} TXT "
                "ownership record); remove them or add the ownership record by hand",
                code="NotOwned",
                product="alidns",
                action="reconcile",
            )
        self._add(domain, ownership_rr(rr), "TXT", ownership_value(owner), 600)
        return False

    def reconcile_records(
        self,
        *,
        domain: str,
        rr: str,
        record_type: str,
        values: Mapping[str, int | None],
        owner: str,
        ttl: int = 600,
    ) -> dict[str, Any]:
        """Make the records at ``rr`` of ``record_type`` exactly ``values`` ({value: weight or None}).

        Creates what is missing, fixes TTLs, deletes extra values, and when several values carry
        weights switches on weighted round robin and sets each weight (1-100). Converged input
        makes no mutating call. An empty ``values`` deletes the owned records and the TXT claim.
        """
        if record_type not in RECORD_TYPES:
            raise ConfigurationError(
                f"record_type must be one of {sorted(RECORD_TYPES)}, got {record_type!r}"
            )
        if not rr or not domain or not owner:
            raise ConfigurationError("domain, rr and owner are required")
        for value, weight in values.items():
            if weight is not None and not 1 <= int(weight) <= 100:
                raise ConfigurationError(f"DNS weight for {value} must be 1-100, got {weight}")
        if not values:
            return self.delete_records(domain=domain, rr=rr, owner=owner, record_type=record_type)
        current = self.list_records(domain, rr=rr, record_type=record_type)
        self._claim(domain, rr, owner, allow_existing=not current)
        summary: dict[str, Any] = {"created": [], "updated": [], "deleted": [], "reweighted": []}
        by_value = {r.value: r for r in current}
        record_ids: dict[str, str | None] = {}
        for value in sorted(values):
            record = by_value.get(value)
            if record is None:
                record_ids[value] = self._add(domain, rr, record_type, value, ttl)
                summary["created"].append(value)
            else:
                record_ids[value] = record.record_id
                if record.ttl != ttl:
                    self._call(
                        "UpdateDomainRecord",
                        {
                            "RecordId": record.record_id,
                            "RR": rr,
                            "Type": record_type,
                            "Value": value,
                            "TTL": ttl,
                        },
                        mutating=True,
                        target=f"{rr}.{domain} {record_type} {value}",
                    )
                    summary["updated"].append(value)
        for record in current:
            if record.value not in values and not record.locked:
                self._delete(domain, record)
                summary["deleted"].append(record.value)
        weighted = {v: int(w) for v, w in values.items() if w is not None}
        if len(values) > 1 and weighted:
            summary["reweighted"] = self._apply_weights(
                domain, rr, record_type, weighted, by_value, record_ids
            )
        summary["record_ids"] = record_ids
        summary["changes"] = sum(len(summary[k]) for k in ("created", "updated", "deleted", "reweighted"))
        return summary

    def _apply_weights(
        self,
        domain: str,
        rr: str,
        record_type: str,
        weights: Mapping[str, int],
        before: Mapping[str, DnsRecord],
        record_ids: Mapping[str, str | None],
    ) -> list[str]:
        sub_domain = f"{rr}.{domain}"
        if not self.weighted_round_robin_open(domain, rr):
            self._call(
                "SetDNSSLBStatus",
                {"DomainName": domain, "SubDomain": sub_domain, "Open": True, "Type": record_type},
                mutating=True,
                target=sub_domain,
            )
        changed: list[str] = []
        for value, weight in sorted(weights.items()):
            record_id = record_ids.get(value)
            previous = before.get(value)
            if record_id is None or (previous is not None and previous.weight == weight):
                continue
            self._call(
                "UpdateDNSSLBWeight",
                {"RecordId": record_id, "Weight": weight},
                mutating=True,
                target=f"{sub_domain} {value}",
            )
            changed.append(value)
        return changed

    def weighted_round_robin_open(self, domain: str, rr: str) -> bool:
        body = self._call("DescribeDNSSLBSubDomains", {"DomainName": domain, "Rr": rr, "PageSize": 100}) or {}
        for sub in (body.get("SlbSubDomains") or {}).get("SlbSubDomain") or []:
            if sub.get("SubDomain") in (f"{rr}.{domain}", rr):
                return bool(sub.get("Open"))
        return False

    def delete_records(
        self, *, domain: str, rr: str, owner: str, record_type: str | None = None
    ) -> dict[str, Any]:
        """Delete owned records at ``rr`` (one type or all) and, when none remain, the TXT claim."""
        current_owner = self.owner_of(domain, rr)
        if current_owner is None:
            return {"created": [], "updated": [], "deleted": [], "reweighted": [], "changes": 0}
        if current_owner != owner:
            raise NotOwnedError(
                f"{rr}.{domain} is owned by {current_owner!r}, not {owner!r}; it will not be deleted",
                code="NotOwned",
                product="alidns",
                action="delete",
            )
        records = self.list_records(domain, rr=rr)
        doomed = [
            r for r in records if (record_type is None or r.record_type == record_type) and not r.locked
        ]
        for record in doomed:
            self._delete(domain, record)
        deleted = [r.value for r in doomed]
        if len(doomed) == len(records):
            for claim in self.list_records(domain, rr=ownership_rr(rr), record_type="TXT"):
                if claim.value.strip('"') == ownership_value(owner):
                    self._delete(domain, claim)
        return {"created": [], "updated": [], "deleted": deleted, "reweighted": [], "changes": len(deleted)}

    def reconcile_and_claim(
        self,
        *,
        domain: str,
        rr: str,
        record_type: str,
        values: Mapping[str, int | None],
        owner: str,
        ttl: int = 600,
        cluster: str | None = None,
    ) -> dict[str, Any]:
        """:meth:`reconcile_records`, then the registry's ``dns_ownership`` rows follow: values deleted
        from the name are released, the values now there are claimed for ``owner`` (with their record
        ids and ``cluster``). In a dry run the registry is left alone.

        :returns: the summary of :meth:`reconcile_records`.
        """
        summary = self.reconcile_records(
            domain=domain, rr=rr, record_type=record_type, values=values, owner=owner, ttl=ttl
        )
        if self.dry_run:
            return summary
        from operators.hooks.registry import YunfleetRegistryHook

        registry = YunfleetRegistryHook(self.yunfleet_db_conn_id).registry
        for value in summary.get("deleted", []):
            registry.release_dns(domain=domain, rr=rr, record_type=record_type, value=value)
        for value in values:
            registry.claim_dns(
                domain=domain,
                rr=rr,
                record_type=record_type,
                value=value,
                owner=owner,
                record_id=(summary.get("record_ids") or {}).get(value),
                cluster=cluster,
            )
        return summary
