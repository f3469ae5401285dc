"""Clusters with their pools and last observation; capacity points and decisions; the reconciler's
snapshot rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from include.capacity.model import Action, CapacityPlan
from include.fleetview.capacity import capacity_series, latest_snapshots, snapshot_records
from include.fleetview.clusters import cluster_view, cluster_views
from tests.fixtures.fleet_data import H, I
from tests.include.capacity.factory import node, pod, pool, snapshot


def test_clusters_without_deleted_with_pools_and_last_observation(fleet_any: dict[str, Any]) -> None:
    fleet = fleet_any
    clusters = cluster_views(fleet["engine"])
    assert [c["name"] for c in clusters] == ["alpha", "beta"]
    alpha, beta = clusters
    assert alpha["state"] == "ready" and alpha["kubernetes_version"] == "1.31"
    assert alpha["zones"] == [H, I] and alpha["api_server"] == "api.alpha.fleet.example.com"
    assert alpha["endpoints"] == {
        "dns_name": "api.alpha.fleet.example.com",
        "address": "203.0.113.10",
        "load_balancer_id": "lb-alpha",
    }
    assert alpha["has_credentials"] and alpha["ticket_id"] == "OPS-1" and not alpha["pools_requested"]
    assert [(p["zone_id"], p["min_size"], p["desired_size"], p["max_size"]) for p in alpha["pools"]] == [
        (H, 1, 2, 4),
        (I, 1, 2, 4),
    ]
    observed = alpha["observed"]
    assert observed["run_id"] == "scheduled__run2" and observed["nodes"] == 4
    assert observed["zones"] == {H: {"ready": 2, "total": 2}, I: {"ready": 2, "total": 2}}
    assert (observed["pods_running"], observed["pods_pending"]) == (13, 0)
    assert beta["observed"] is None and beta["pools_requested"]
    assert beta["pools"] == [
        {
            "name": "web",
            "zone_id": None,
            "role": "worker",
            "instance_type": "ecs.c7.large",
            "min_size": 0,
            "desired_size": 1,
            "max_size": 3,
        }
    ]
    assert "PRIVATE KEY" not in str(clusters) and fleet["creds"]["admin_cert_pem"] not in str(clusters)


def test_one_cluster_deleted_ones_included(fleet: dict[str, Any]) -> None:
    engine = fleet["engine"]
    assert cluster_view(engine, "gone")["state"] == "deleted"  # type: ignore[index]
    assert cluster_view(engine, "nope") is None
    assert [c["name"] for c in cluster_views(engine, include_deleted=True)] == ["alpha", "beta", "gone"]


def test_capacity_points_oldest_first_and_decisions(fleet: dict[str, Any]) -> None:
    (alpha,) = capacity_series(fleet["engine"], cluster="alpha")
    first, second = alpha["points"]
    assert (first["run_id"], first["nodes"], first["nodes_ready"], first["nodes_desired"]) == (
        "scheduled__run1",
        3,
        2,
        4,
    )
    assert (first["pods_running"], first["pods_pending"], first["pods_unschedulable"]) == (10, 3, 3)
    assert (second["nodes"], second["nodes_ready"], second["pods_pending"]) == (4, 4, 0)
    assert first["zones"][I] == {"ready": 1, "total": 1}
    (action,) = alpha["actions"]
    assert (action["kind"], action["zone_id"], action["current"], action["desired"]) == ("add_nodes", I, 1, 2)
    assert action["reason"] == "3 pods unschedulable" and action["run_id"] == "scheduled__run1"
    assert capacity_series(fleet["engine"], cluster="beta") == []
    later = datetime.now(UTC) + timedelta(hours=1)
    assert capacity_series(fleet["engine"], since=later) == []
    assert [c["cluster"] for c in capacity_series(fleet["engine"])] == ["alpha"]


def test_latest_snapshot_of_nobody_is_empty(fleet: dict[str, Any]) -> None:
    assert latest_snapshots(fleet["engine"], []) == {}
    assert set(latest_snapshots(fleet["engine"], ["alpha", "beta"])) == {"alpha"}


def test_snapshot_records_count_what_the_run_saw_and_planned() -> None:
    snap = snapshot(
        nodes=(node("n1", H), node("n2", H, ready=False), node("n3", I)),
        pods=(
            pod("a", "n1"),
            pod("b", "n3"),
            pod("c"),
            pod("d"),
            pod("e", "n1", phase="Succeeded"),
        ),
        pools=(pool(),),
        upcoming=(node("i-up", I, ready=False),),
    )
    plan = CapacityPlan(
        cluster=snap.cluster,
        actions=(
            Action(kind="add_nodes", target="workers", reason="pending", pool="workers", zone=I, count=2),
            Action(kind="remove_node", target="n2", reason="underused", pool="workers", zone=H),
        ),
    )
    nodes, pods = snapshot_records(snap, plan, "scheduled__1")
    assert (nodes["tier"], nodes["subject"], nodes["current"], nodes["desired"]) == ("node", "snapshot", 3, 5)
    assert nodes["reason"] == {
        "kind": "snapshot",
        "run_id": "scheduled__1",
        "zones": {H: {"ready": 1, "total": 2}, I: {"ready": 1, "total": 1}},
        "upcoming": 1,
    }
    assert (pods["tier"], pods["current"], pods["desired"]) == ("pod", 2, 4)
    assert pods["reason"]["pending"] == 2
