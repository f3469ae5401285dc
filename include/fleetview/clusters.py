"""The clusters of the Fleet view: what the registry says of each, with its last observed capacity.

A cluster's entry is JSON-ready: identity, state, Kubernetes version, zones, API server name and
address, the ticket that created it, its node pools (``min``/``desired``/``max`` per zone as
registered, or as requested while none is registered yet) and ``observed``: the last snapshot the
capacity reconciler recorded (nodes Ready/total per zone, pending pods; ``None`` before its first
run). Live figures read from the cluster itself are added by the API server, not here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from include.fleetview.capacity import latest_snapshots
from include.fleetview.times import iso
from include.registry.store import ClusterRecord, FleetRegistry

#: endpoint facts shown (the registry keeps more; none of these is a secret)
ENDPOINT_KEYS = ("dns_name", "address", "load_balancer_id", "api_server")


def _pools(record: ClusterRecord) -> tuple[list[dict[str, Any]], bool]:
    """The registered pools, or the requested ones (``True``) while none is registered."""
    if record.node_pools:
        return [
            {
                "name": p.name,
                "zone_id": p.zone_id,
                "role": p.role,
                "instance_type": p.instance_type,
                "min_size": p.min_size,
                "desired_size": p.desired_size,
                "max_size": p.max_size,
            }
            for p in sorted(record.node_pools, key=lambda p: (p.name, p.zone_id))
        ], False
    requested = []
    for pool in record.spec.get("node_pools") or []:
        if not isinstance(pool, dict):
            continue
        zones = pool.get("zones") or [None]
        for zone in zones:
            requested.append(
                {
                    "name": pool.get("name"),
                    "zone_id": zone,
                    "role": "worker",
                    "instance_type": pool.get("instance_type"),
                    "min_size": pool.get("min_size"),
                    "desired_size": pool.get("desired_size"),
                    "max_size": pool.get("max_size"),
                }
            )
    return requested, True


def cluster_json(record: ClusterRecord, observed: dict[str, Any] | None = None) -> dict[str, Any]:
    """One cluster as the API answers it."""
    spec = record.spec or {}
    pools, requested = _pools(record)
    zones = list(spec.get("zones") or []) or sorted({p["zone_id"] for p in pools if p["zone_id"]})
    control_plane = spec.get("control_plane") if isinstance(spec.get("control_plane"), dict) else {}
    return {
        "name": record.name,
        "state": record.state,
        "region_id": record.region_id,
        "domain": record.domain,
        "kubernetes_version": spec.get("kubernetes_version"),
        "zones": zones,
        "api_server": record.endpoints.get("dns_name") or record.api_server_name,
        "endpoints": {k: record.endpoints[k] for k in ENDPOINT_KEYS if record.endpoints.get(k)},
        "ticket_id": record.ticket_id,
        "has_credentials": record.has_credentials,
        "control_plane": {
            "instance_type": (control_plane or {}).get("instance_type"),
            "count": (control_plane or {}).get("count"),
        },
        "pools": pools,
        "pools_requested": requested,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "observed": observed,
    }


def cluster_views(engine: Engine, *, include_deleted: bool = False) -> list[dict[str, Any]]:
    """Every registered cluster (by name; deleted ones only with ``include_deleted``)."""
    records = FleetRegistry(engine).list_clusters(include_deleted=include_deleted)
    observed = latest_snapshots(engine, [r.name for r in records])
    return [cluster_json(r, observed.get(r.name)) for r in records]


def cluster_view(engine: Engine, name: str) -> dict[str, Any] | None:
    """One cluster, deleted ones included; ``None`` when the registry does not know it."""
    record = FleetRegistry(engine).get_cluster(name)
    if record is None:
        return None
    return cluster_json(record, latest_snapshots(engine, [name]).get(name))
