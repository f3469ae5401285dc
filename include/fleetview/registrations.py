"""DNS names in the Fleet view: each exported Service's names with their targets and weights, and
each cluster's API server name.

Service names are read from the zone itself, the registry of record for them (docs/service-registry.md):
:func:`service_registrations` takes the zone's records (one ``DescribeDomainRecords`` listing) and
keeps the names this fleet owns, per Service: ``<svc>.<ns>.<cluster>`` (that cluster's load balancer
addresses) and ``<svc>.<ns>.global`` (one weighted record per serving cluster, attributed to its
cluster by the addresses of the per-cluster names). API server names come from the registry's
``dns_ownership`` rows (:func:`api_server_names`), written when a cluster is provisioned.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine

from include.fleet.contract import api_record_owner
from include.registry.store import FleetRegistry
from include.services.model import ZoneRecord
from include.services.ownership import ZoneIndex


def _target(record: ZoneRecord, cluster: str | None) -> dict[str, Any]:
    return {
        "address": record.value,
        "cluster": cluster,
        "weight": record.weight,
        "enabled": record.enabled,
        "ttl": record.ttl,
        "record_id": record.record_id,
    }


def service_registrations(records: Iterable[ZoneRecord], owner: str, domain: str) -> list[dict[str, Any]]:
    """Per exported Service (by namespace, then name): ``{"namespace", "service", "names": [{"fqdn",
    "scope", "global", "weighted", "targets": [{"address", "cluster", "weight", "enabled", "ttl",
    "record_id"}]}]}``; per-cluster names first (by cluster), the global name last. A global target
    whose address no per-cluster name of the Service holds has ``cluster`` ``None``."""
    index = ZoneIndex.build(records, owner)
    services: dict[tuple[str, str], dict[str, Any]] = {}
    for name in index.owned_service_names():
        entry = services.setdefault(
            (name.namespace, name.service),
            {"namespace": name.namespace, "service": name.service, "names": [], "_owners": {}},
        )
        managed = index.state(name.rr).managed
        if not name.is_global:
            for record in managed:
                entry["_owners"].setdefault(record.value, name.scope)
        entry["names"].append(
            {
                "fqdn": f"{name.rr}.{domain}",
                "scope": name.scope,
                "global": name.is_global,
                "weighted": any(r.weighted for r in managed),
                "_records": managed,
            }
        )
    found = []
    for key in sorted(services):
        entry = services[key]
        owners: dict[str, str] = entry.pop("_owners")
        for name in entry["names"]:
            records_of_name: list[ZoneRecord] = name.pop("_records")
            name["targets"] = [
                _target(r, owners.get(r.value) if name["global"] else name["scope"])
                for r in sorted(records_of_name, key=lambda r: (r.value, r.record_id))
            ]
        entry["names"].sort(key=lambda n: (n["global"], n["scope"]))
        found.append(entry)
    return found


def api_server_names(engine: Engine) -> list[dict[str, Any]]:
    """Each cluster's API server name from ``dns_ownership``: ``{"fqdn", "cluster", "targets":
    [{"address", "record_id"}]}``, by name."""
    names: dict[str, dict[str, Any]] = {}
    for row in FleetRegistry(engine).list_dns_ownership():
        if row.record_type != "A" or not row.cluster or row.owner != api_record_owner(row.cluster):
            continue
        fqdn = f"{row.rr}.{row.domain}"
        entry = names.setdefault(fqdn, {"fqdn": fqdn, "cluster": row.cluster, "targets": []})
        entry["targets"].append({"address": row.value, "record_id": row.record_id})
    return [names[k] for k in sorted(names)]
