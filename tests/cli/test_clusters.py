"""``yunfleet clusters``: rows from registry records, and the table they print as."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from yunfleet.cli.clusters import cluster_rows, render_table


def _record(name, *, pools=(), spec=None, **extra):
    values = {
        "name": name,
        "state": "ready",
        "region_id": "cn-hangzhou",
        "spec": spec,
        "node_pools": [SimpleNamespace(name=p) for p in pools],
        "endpoints": {},
        "api_server_name": f"api.{name}.fleet.example.com",
        "ticket_id": None,
        "updated_at": None,
    }
    return SimpleNamespace(**{**values, **extra})


def test_rows_prefer_registered_pools_and_fall_back_to_the_spec():
    spec = {
        "kubernetes_version": "1.31",
        "zones": ["h", "i"],
        "node_pools": [{"name": "gpu"}, {"name": "web"}],
    }
    registered = _record(
        "alpha",
        pools=["web", "general"],
        spec=spec,
        ticket_id="OPS-7",
        endpoints={"dns_name": "api.alpha.example"},
        updated_at=datetime(2026, 1, 2, 3, 4, 5),
    )
    requested = _record("beta", spec=spec, state="provisioning")
    bare = _record("gamma")

    rows = cluster_rows([registered, requested, bare])

    assert rows[0] == {
        "name": "alpha",
        "state": "ready",
        "region": "cn-hangzhou",
        "kubernetes": "1.31",
        "zones": "h,i",
        "pools": "general,web",
        "api": "api.alpha.example",
        "ticket": "OPS-7",
        "updated": "2026-01-02 03:04:05",
    }
    assert (rows[1]["pools"], rows[1]["state"]) == ("gpu,web", "provisioning")
    assert (rows[2]["pools"], rows[2]["kubernetes"], rows[2]["api"]) == (
        "",
        "",
        "api.gamma.fleet.example.com",
    )


def test_table_columns_are_aligned_without_trailing_blanks():
    rows = [
        {"name": "a", "state": "ready", "ticket": ""},
        {"name": "longer-name", "state": "deleted", "ticket": "T"},
    ]
    assert render_table(rows).splitlines() == [
        "NAME         STATE    TICKET",
        "a            ready",
        "longer-name  deleted  T",
    ]


def test_empty_registry():
    assert render_table([]) == "no clusters registered"
