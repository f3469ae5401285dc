"""``yunfleet clusters``: rows from the Fleet API's clusters, and the table they print as."""

from __future__ import annotations

from yunfleet.cli.clusters import cluster_rows, render_table


def _cluster(name: str, **extra: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": name,
        "state": "ready",
        "region_id": "cn-hangzhou",
        "kubernetes_version": None,
        "zones": [],
        "pools": [],
        "api_server": f"api.{name}.fleet.example.com",
        "ticket_id": None,
        "updated_at": None,
        "observed": None,
    }
    return {**values, **extra}


def test_rows_name_pools_nodes_per_zone_and_the_api_name() -> None:
    alpha = _cluster(
        "alpha",
        kubernetes_version="1.31",
        zones=["cn-hangzhou-h", "cn-hangzhou-i"],
        pools=[{"name": "web", "zone_id": "cn-hangzhou-h"}, {"name": "general"}, {"name": "web"}],
        ticket_id="OPS-7",
        updated_at="2026-01-02T03:04:05.123456Z",
        observed={
            "zones": {"cn-hangzhou-i": {"ready": 1, "total": 2}, "cn-hangzhou-h": {"ready": 2, "total": 2}}
        },
    )
    beta = _cluster("beta", state="provisioning", pools=[{"name": None}])
    rows = cluster_rows([alpha, beta])
    assert rows[0] == {
        "name": "alpha",
        "state": "ready",
        "region": "cn-hangzhou",
        "kubernetes": "1.31",
        "zones": "cn-hangzhou-h,cn-hangzhou-i",
        "pools": "general,web",
        "nodes": "h:2/2 i:1/2",
        "api": "api.alpha.fleet.example.com",
        "ticket": "OPS-7",
        "updated": "2026-01-02 03:04:05",
    }
    assert (rows[1]["pools"], rows[1]["nodes"], rows[1]["kubernetes"]) == ("", "", "")


def test_table_columns_are_aligned_without_trailing_blanks() -> None:
    rows = [
        {"name": "a", "state": "ready", "ticket": ""},
        {"name": "longer-name", "state": "deleted", "ticket": "T"},
    ]
    assert render_table(rows).splitlines() == [
        "NAME         STATE    TICKET",
        "a            ready",
        "longer-name  deleted  T",
    ]


def test_empty_registry() -> None:
    assert render_table([]) == "no clusters registered"
