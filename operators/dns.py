"""Alidns operators: reconcile owned records, delete owned records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from include.errors import ConfigurationError
from operators.base import AlibabaCloudBaseOperator, as_int, yunfleet_template_fields


def _values(raw: Any, rr: str) -> dict[str, int | None]:
    if isinstance(raw, Mapping):
        return {str(k): (None if v is None else as_int(v, f"weight of {k}")) for k, v in raw.items()}
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, Sequence):
        return {str(v): None for v in raw}
    raise ConfigurationError(f"values of {rr} must be a list of values or a {{value: weight}} mapping")


class DnsReconcileRecordsOperator(AlibabaCloudBaseOperator):
    """Make the owned DNS records of ``domain`` match ``records``; touch nothing not owned.

    ``records`` is a list of ``{"rr": "api.demo", "type": "A", "values": {"203.0.113.7": 100} |
    ["203.0.113.7"], "ttl": 600}``; an empty ``values`` removes the name. Each name carries a
    TXT ownership record for ``owner``; a name owned by someone else fails the task before any
    change to it. Ownership is also written to the registry's ``dns_ownership`` table when
    ``record_in_registry`` is set. Returns ``{rr: summary}``.
    """

    product = "alidns"
    template_fields: Sequence[str] = yunfleet_template_fields("domain", "records", "owner", "cluster")

    def __init__(
        self,
        *,
        domain: str,
        records: Sequence[Mapping[str, Any]],
        owner: str,
        cluster: str | None = None,
        record_in_registry: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.domain = domain
        self.records = records
        self.owner = owner
        self.cluster = cluster
        self.record_in_registry = record_in_registry

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        specs = []
        for item in self.records:
            if "rr" not in item:
                raise ConfigurationError(f"DNS record spec needs an 'rr': {dict(item)}")
            specs.append(
                (
                    str(item["rr"]),
                    str(item.get("type", "A")).upper(),
                    _values(item.get("values", []), str(item["rr"])),
                    as_int(item.get("ttl", 600), "ttl", minimum=1),
                )
            )
        self.hook.cluster = self.cluster
        reconcile = self.hook.reconcile_and_claim if self.record_in_registry else self.hook.reconcile_records
        extra = {"cluster": self.cluster} if self.record_in_registry else {}
        return {
            rr: reconcile(
                domain=self.domain,
                rr=rr,
                record_type=record_type,
                values=values,
                owner=self.owner,
                ttl=ttl,
                **extra,
            )
            for rr, record_type, values, ttl in specs
        }


class DnsDeleteRecordsOperator(AlibabaCloudBaseOperator):
    """Delete the owned records (and ownership TXT) at each of ``rrs``."""

    product = "alidns"
    template_fields: Sequence[str] = yunfleet_template_fields("domain", "rrs", "owner", "cluster")

    def __init__(
        self, *, domain: str, rrs: Sequence[str], owner: str, cluster: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.domain = domain
        self.rrs = rrs
        self.owner = owner
        self.cluster = cluster

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        self.hook.cluster = self.cluster
        return {rr: self.hook.delete_records(domain=self.domain, rr=rr, owner=self.owner) for rr in self.rrs}
