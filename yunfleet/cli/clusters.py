"""``yunfleet clusters``: the registered clusters and their state, as a table or JSON, from the Fleet API."""

from __future__ import annotations

import argparse
import json
from typing import Any

from yunfleet.cli.api import fleet_api, fleet_call


def _pools(cluster: dict[str, Any]) -> str:
    return ",".join(sorted({str(p.get("name")) for p in cluster.get("pools") or [] if p.get("name")}))


def _nodes(cluster: dict[str, Any]) -> str:
    """``Ready/total`` per zone from the last observation, e.g. ``h:2/2 i:1/2`` (zone's last letter)."""
    zones = (cluster.get("observed") or {}).get("zones") or {}
    return " ".join(f"{z.rsplit('-', 1)[-1]}:{c['ready']}/{c['total']}" for z, c in sorted(zones.items()))


def cluster_rows(clusters: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One row per cluster of ``GET /yunfleet/api/clusters``: name, state, region, kubernetes, zones,
    pools, nodes, api, ticket, updated."""
    return [
        {
            "name": c["name"],
            "state": c["state"],
            "region": c.get("region_id") or "",
            "kubernetes": c.get("kubernetes_version") or "",
            "zones": ",".join(c.get("zones") or []),
            "pools": _pools(c),
            "nodes": _nodes(c),
            "api": c.get("api_server") or "",
            "ticket": c.get("ticket_id") or "",
            "updated": (c.get("updated_at") or "")[:19].replace("T", " "),
        }
        for c in clusters
    ]


def render_table(rows: list[dict[str, str]], empty: str = "no clusters registered") -> str:
    """Columns padded to their widest cell, upper-case headers, no trailing blanks."""
    if not rows:
        return empty
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(str(row[h])) for row in rows)) for h in headers}
    lines = ["  ".join(h.upper().ljust(widths[h]) for h in headers)]
    lines += ["  ".join(str(row[h]).ljust(widths[h]) for h in headers) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_clusters(args: argparse.Namespace) -> str:
    with fleet_api(args) as api:
        clusters = fleet_call(lambda: api.clusters(include_deleted=args.all))
    rows = cluster_rows(clusters)
    return json.dumps(rows, indent=2) if args.json else render_table(rows)
