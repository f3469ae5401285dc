"""Alidns a whole zone at a time: one paged read of every record, then one call per planned change.

Mixed into ``DnsHook`` for reconcilers that plan a diff in ``include/`` (the Service registry): the
read is ``⌈records / 500⌉`` ``DescribeDomainRecords`` calls, whatever the number of names, and each
:class:`~include.services.changes.RecordChange` becomes exactly its action. Sending a change twice
is harmless (a retried task, a retry after a lost response): an add that finds its record
(``DomainRecordDuplicate``) returns that record's id, a delete of a record already gone
(``DomainRecordNotBelongToUser``) and an update that changes nothing (``DomainRecordDuplicate``)
are done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from include.errors import CloudError
from include.services.changes import ADD, DELETE, SET_WEIGHTED, UPDATE, NamePlan, RecordChange
from include.services.model import ZoneRecord

#: ``DescribeDomainRecords`` page size: the API's maximum
ZONE_PAGE_SIZE = 500
#: ``DescribeSubDomainRecords`` page size: the API's maximum
SUBDOMAIN_PAGE_SIZE = 100

ALREADY_DONE = {
    ADD: "DomainRecordDuplicate",
    UPDATE: "DomainRecordDuplicate",
    DELETE: "DomainRecordNotBelongToUser",
}


class DnsZoneMixin:
    """Zone-wide reads and single-record writes for ``DnsHook``."""

    def _call(self, action: str, params: Mapping[str, Any], **kw: Any) -> dict[str, Any] | None:
        raise NotImplementedError  # DnsHook's

    def list_zone(self, domain: str) -> list[ZoneRecord]:
        """Every record of ``domain`` (all types and lines), ``⌈records / 500⌉`` calls."""
        records: list[ZoneRecord] = []
        page = 1
        while True:
            body = (
                self._call(
                    "DescribeDomainRecords",
                    {"DomainName": domain, "PageNumber": page, "PageSize": ZONE_PAGE_SIZE},
                )
                or {}
            )
            items = (body.get("DomainRecords") or {}).get("Record") or []
            records.extend(ZoneRecord.from_api(raw) for raw in items)
            if len(items) < ZONE_PAGE_SIZE or len(records) >= int(body.get("TotalCount") or 0):
                return records
            page += 1

    def domain_min_ttl(self, domain: str) -> tuple[int, str]:
        """``(MinTtl, VersionCode)`` of ``domain``'s DNS edition (``DescribeDomainInfo``), seconds."""
        body = self._call("DescribeDomainInfo", {"DomainName": domain, "NeedDetailAttributes": True}) or {}
        return int(body.get("MinTtl") or 1), str(body.get("VersionCode") or "")

    def find_record_id(self, domain: str, rr: str, record_type: str, value: str) -> str | None:
        """The id of record ``rr`` ``record_type`` ``value``, or ``None`` (``DescribeSubDomainRecords``)."""
        sub_domain = domain if rr == "@" else f"{rr}.{domain}"
        page = 1
        while True:
            body = (
                self._call(
                    "DescribeSubDomainRecords",
                    {
                        "SubDomain": sub_domain,
                        "DomainName": domain,
                        "Type": record_type,
                        "PageNumber": page,
                        "PageSize": SUBDOMAIN_PAGE_SIZE,
                    },
                )
                or {}
            )
            items = (body.get("DomainRecords") or {}).get("Record") or []
            for raw in items:
                if raw.get("Value") == value and str(raw.get("RR", "")).lower() == rr.lower():
                    return str(raw["RecordId"])
            if len(items) < SUBDOMAIN_PAGE_SIZE:
                return None
            page += 1

    def apply_change(self, domain: str, change: RecordChange, *, cluster: str | None = None) -> str | None:
        """Send one change; returns the id of the record it wrote (``None`` for weighted round robin).

        A change to a record added earlier in the plan must carry that record's id by now.

        :raises include.errors.CloudError: the call failed after the hook's retries.
        """
        if change.action not in (ADD, SET_WEIGHTED) and not change.record_id:
            raise ValueError(f"{change.action} at {change.rr} needs a record id")
        params = change.request(domain)
        target = change.target(domain)
        try:
            body = self._call(
                change.action, params, mutating=True, target=target, cluster=cluster or change.cluster
            )
        except CloudError as exc:
            if exc.code != ALREADY_DONE.get(change.action):
                raise
            if change.action == ADD:
                return self.find_record_id(domain, change.rr, change.record_type, change.value)
            return change.record_id
        if change.action == ADD:
            return str((body or {}).get("RecordId") or "") or None
        return change.record_id

    def apply_name_plan(self, domain: str, name: NamePlan) -> tuple[int, str | None]:
        """Send one name's changes in order; stop that name at its first error.

        Returns ``(changes sent, None)``, or ``(changes sent before the error, one-line error)``: the
        caller goes on with the other names, and the next run plans what is still missing.
        """
        added: dict[tuple[str, str, str], str] = {}
        sent = 0
        for change in name.changes:
            if change.record_id is None and change.action not in (ADD, SET_WEIGHTED):
                record_id = added.get((change.rr, change.record_type, change.value))
                if record_id is None:
                    return sent, f"{change.describe(domain)}: the record was not added"
                change = replace(change, record_id=record_id)
            try:
                written = self.apply_change(domain, change)
            except CloudError as exc:
                return sent, f"{name.rr}.{domain}: {exc}"
            sent += 1
            if change.action == ADD and written:
                added[(change.rr, change.record_type, change.value)] = written
        return sent, None
