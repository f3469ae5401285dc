"""``yunfleet clusters``: the registered clusters and their state, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from yunfleet.cli.config import open_registry
from yunfleet.cli.errors import EXIT_ENV, CommandError


def cluster_rows(records: list[Any]) -> list[dict[str, str]]:
    """One row per registry record: name, state, region, kubernetes, zones, pools, api, ticket, updated.

    Pools come from the registered node pools, or from the requested spec while none is registered yet.
    """
    rows = []
    for r in records:
        spec = r.spec or {}
        pools = {p.name for p in r.node_pools} or {p.get("name") for p in spec.get("node_pools", [])}
        rows.append(
            {
                "name": r.name,
                "state": r.state,
                "region": r.region_id,
                "kubernetes": spec.get("kubernetes_version", ""),
                "zones": ",".join(spec.get("zones", [])),
                "pools": ",".join(sorted(p for p in pools if p)),
                "api": r.endpoints.get("dns_name") or r.api_server_name,
                "ticket": r.ticket_id or "",
                "updated": r.updated_at.strftime("%Y-%m-%d %H:%M:%S") if r.updated_at else "",
            }
        )
    return rows


def render_table(rows: list[dict[str, str]]) -> str:
    """Columns padded to their widest cell, upper-case headers, no trailing blanks."""
    if not rows:
        return "no clusters registered"
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(str(row[h])) for row in rows)) for h in headers}
    lines = ["  ".join(h.upper().ljust(widths[h]) for h in headers)]
    lines += ["  ".join(str(row[h]).ljust(widths[h]) for h in headers) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_clusters(args: argparse.Namespace) -> str:
    hook = open_registry(args.db_conn)
    try:
        records = hook.registry.list_clusters(include_deleted=args.all)
    except Exception as exc:
        raise CommandError(EXIT_ENV, f"cannot read the fleet registry: {type(exc).__name__}: {exc}") from exc
    rows = cluster_rows(records)
    return json.dumps(rows, indent=2) if args.json else render_table(rows)
