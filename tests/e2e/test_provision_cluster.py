"""provision_cluster / decommission_cluster end to end, driven as a ticketing system drives them.

Everything goes through public interfaces: the Airflow REST API (JWT from /auth/token), the official
Alibaba Cloud SDKs against the sandbox, the sandbox's control API (call log, faults, stock), the
`yunfleet` command, kubectl, and DNS queries with dnspython.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.provisioning import (
    DOMAIN,
    cluster_conf,
    decommission,
    mutating_calls,
    provision,
    registry_rows,
    resolve,
    run_report,
    tagged_inventory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

CLUSTER = "alpha"
TICKET = "OPS-1001"


@pytest.fixture(scope="module")
def alpha(platform: Any) -> dict[str, Any]:
    """One 3-zone, 3-master, two-pool cluster, provisioned once for this module."""
    since = platform.sandbox.calls()["next"]
    run_id, state = provision(platform, cluster_conf(CLUSTER, TICKET), note=f"ticket {TICKET}")
    assert state == "success", platform.explain("provision_cluster", run_id)
    return {"run_id": run_id, "since": since, "until": platform.sandbox.calls()["next"]}


def test_resources_exist_with_tags_and_zones(platform: Any, alpha: dict[str, Any]) -> None:
    inv = tagged_inventory(platform.sandbox, CLUSTER)
    cp = [i for i in inv["instances"] if i["tags"].get("yunfleet:role") == "control-plane"]
    workers = [i for i in inv["instances"] if i["tags"].get("yunfleet:role") == "worker"]
    assert sorted(i["zone"] for i in cp) == ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    by_pool: dict[str, list[str]] = {}
    for w in workers:
        by_pool.setdefault(w["tags"]["yunfleet:node-pool"], []).append(w["zone"])
    assert sorted(by_pool["general"]) == ["cn-hangzhou-h", "cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    assert sorted(by_pool["compute"]) == ["cn-hangzhou-h", "cn-hangzhou-i"]
    assert all(i["status"] == "Running" for i in inv["instances"])
    assert len(inv["load_balancers"]) == 1
    lb = inv["load_balancers"][0]
    assert lb["tags"] == {"yunfleet:cluster": CLUSTER, "yunfleet:role": "apiserver-lb"}
    assert lb["address_type"] == "intranet"
    assert lb["listeners"] == [6443]
    assert sorted(lb["backends"]) == sorted(i["id"] for i in cp)
    assert len(inv["security_groups"]) == 1


def test_kubectl_lists_ready_nodes_with_zone_labels(
    platform: Any, alpha: dict[str, Any], tmp_path: Path
) -> None:
    kubeconfig = subprocess.run(
        [str(Path(sys.executable).parent / "yunfleet"), "kubeconfig", CLUSTER],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert kubeconfig.returncode == 0, kubeconfig.stderr
    assert kubeconfig.stdout.startswith("apiVersion: v1")
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig.stdout)
    nodes = subprocess.run(
        ["kubectl", "--kubeconfig", str(path), "get", "nodes", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert nodes.returncode == 0, nodes.stderr
    items = json.loads(nodes.stdout)["items"]
    assert len(items) == 3 + 6
    for node in items:
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", node["metadata"]["name"]
        assert node["metadata"]["labels"]["topology.kubernetes.io/zone"].startswith("cn-hangzhou-")
    pools = sorted(n["metadata"]["labels"].get("yunfleet.io/node-pool", "") for n in items)
    assert pools.count("general") == 4 and pools.count("compute") == 2


def test_api_name_resolves_to_the_slb(platform: Any, alpha: dict[str, Any]) -> None:
    inv = tagged_inventory(platform.sandbox, CLUSTER)
    address = inv["load_balancers"][0]["address"]
    assert resolve(platform.sandbox, f"api.{CLUSTER}.{DOMAIN}") == [address]


def test_yunfleet_clusters_lists_it_ready(platform: Any, alpha: dict[str, Any]) -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "yunfleet"), "clusters", "--json"],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows[CLUSTER]["state"] == "ready"
    assert rows[CLUSTER]["api"] == f"api.{CLUSTER}.{DOMAIN}"
    assert rows[CLUSTER]["pools"] == "compute,general"


def test_every_mutating_call_is_audited_with_the_ticket(platform: Any, alpha: dict[str, Any]) -> None:
    calls = mutating_calls(platform.sandbox, alpha["since"], alpha["until"])
    assert calls, "the run made no mutating call?"
    rows = registry_rows(
        platform,
        "SELECT product, action, ticket_id, outcome FROM audit_events WHERE run_id = ?",
        (alpha["run_id"],),
    )
    assert {r[2] for r in rows} == {TICKET}
    audited = sorted((p, a) for p, a, _t, outcome in rows if outcome in ("ok", "error") and p != "k8s")
    sent = sorted((c["product"], c["action"]) for c in calls if c["product"] != "k8s")
    assert audited == sent
    # each worker batch makes its own bootstrap token through the cluster's API, audited too
    tokens = [c for c in calls if c["product"] == "k8s" and c["action"].endswith("/kube-system/secrets")]
    audited_tokens = [r for r in rows if (r[0], r[1], r[3]) == ("k8s", "CreateBootstrapToken", "ok")]
    assert len(tokens) == len(audited_tokens) == 5  # general in 3 zones, compute in 2


def test_rerun_of_the_same_request_changes_nothing(platform: Any, alpha: dict[str, Any]) -> None:
    since = platform.sandbox.calls()["next"]
    run_id, state = provision(platform, cluster_conf(CLUSTER, "OPS-1002"))
    assert state == "success", platform.explain("provision_cluster", run_id)
    assert mutating_calls(platform.sandbox, since) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"cluster_name": "Bad_Name"}, "Invalid input for param cluster_name"),
        ({"zones": ["cn-hangzhou-h", "cn-hangzhou-z"]}, "Invalid input for param zones"),
        (
            {
                "node_pools": [
                    {
                        "name": "p",
                        "instance_type": "ecs.g7.xlarge",
                        "min_size": 5,
                        "max_size": 2,
                        "desired_size": 3,
                    }
                ]
            },
            "max_size must be at least min_size",
        ),
        (
            {
                "node_pools": [
                    {
                        "name": "p;reboot",
                        "instance_type": "ecs.g7.xlarge",
                        "min_size": 1,
                        "max_size": 2,
                        "desired_size": 1,
                    }
                ]
            },
            "Invalid input for param node_pools",
        ),
        ({"ticket_id": "OPS 1; rm -rf /"}, "Invalid input for param ticket_id"),
    ],
)
def test_bad_conf_is_refused_with_400_and_no_cloud_call(
    platform: Any, change: dict[str, Any], expected: str
) -> None:
    since = platform.sandbox.calls()["next"]
    conf = {**cluster_conf("beta", "OPS-2000"), **change}
    platform.client.wait_for_dag("provision_cluster")
    response = platform.api(
        "POST",
        "/api/v2/dags/provision_cluster/dagRuns",
        json={"logical_date": None, "conf": conf, "note": "bad"},
    )
    assert response.status_code == 400, response.text
    assert expected in response.json()["detail"]
    assert platform.sandbox.calls(since)["calls"] == []


def test_dry_run_plans_and_changes_nothing(platform: Any) -> None:
    since = platform.sandbox.calls()["next"]
    conf = {**cluster_conf("gamma", "OPS-3000"), "dry_run": True}
    run_id, state = provision(platform, conf)
    assert state == "success", platform.explain("provision_cluster", run_id)
    assert mutating_calls(platform.sandbox, since) == []
    rows = registry_rows(platform, "SELECT outcome, ticket_id FROM audit_events WHERE run_id = ?", (run_id,))
    assert rows and {r[0] for r in rows} == {"dry_run"} and {r[1] for r in rows} == {"OPS-3000"}
    assert tagged_inventory(platform.sandbox, "gamma")["instances"] == []
    assert registry_rows(platform, "SELECT name FROM clusters WHERE name = 'gamma'", ()) == []


def test_concurrent_runs_make_exactly_one_cluster(platform: Any) -> None:
    conf = cluster_conf("delta", "OPS-4000", small=True)
    results: list[tuple[str, str]] = []
    runs = [platform.trigger("provision_cluster", conf, note=f"ticket OPS-4000 #{n}") for n in (1, 2)]

    def follow(run_id: str) -> None:
        results.append((run_id, platform.wait("provision_cluster", run_id, timeout=900)))

    threads = [threading.Thread(target=follow, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    states = sorted(s for _r, s in results)
    assert states == ["failed", "success"], [platform.explain("provision_cluster", r) for r in runs]
    loser = next(r for r, s in results if s == "failed")
    assert "is busy: run" in run_report(platform, "provision_cluster", loser)
    inv = tagged_inventory(platform.sandbox, "delta")
    assert len(inv["instances"]) == 1 + 2
    assert len(inv["load_balancers"]) == 1 and len(inv["security_groups"]) == 1
    assert decommission(platform, "delta", "OPS-4001") == "success"


def test_decommission_dry_run_lists_and_changes_nothing(platform: Any, alpha: dict[str, Any]) -> None:
    since = platform.sandbox.calls()["next"]
    conf = {
        "cluster_name": CLUSTER,
        "confirm_cluster_name": CLUSTER,
        "ticket_id": "OPS-1098",
        "dry_run": True,
    }
    run_id = platform.trigger("decommission_cluster", conf, note="ticket OPS-1098, dry run")
    state = platform.wait("decommission_cluster", run_id, timeout=600)
    assert state == "success", platform.explain("decommission_cluster", run_id)
    assert mutating_calls(platform.sandbox, since) == []
    rows = registry_rows(
        platform, "SELECT outcome, action, ticket_id FROM audit_events WHERE run_id = ?", (run_id,)
    )
    assert {r[0] for r in rows} == {"dry_run"} and {r[2] for r in rows} == {"OPS-1098"}
    assert {"DeleteInstances", "DeleteLoadBalancer", "DeleteSecurityGroup"} <= {r[1] for r in rows}
    assert "dry run: plan shown, nothing changed" in run_report(platform, "decommission_cluster", run_id)
    assert len(tagged_inventory(platform.sandbox, CLUSTER)["instances"]) == 9
    assert registry_rows(platform, "SELECT state FROM clusters WHERE name = ?", (CLUSTER,)) == [("ready",)]


@pytest.mark.parametrize(
    ("dag_id", "typo", "message"),
    [
        ("provision_cluster", {"dryrun": True}, "unknown key 'dryrun'; did you mean 'dry_run'?"),
        ("provision_cluster", {"node_pool": []}, "unknown key 'node_pool'; did you mean 'node_pools'?"),
        ("decommission_cluster", {"dryrun": True}, "unknown key 'dryrun'; did you mean 'dry_run'?"),
    ],
)
def test_unknown_conf_key_is_refused_before_any_cloud_call(
    platform: Any, alpha: dict[str, Any], dag_id: str, typo: dict[str, Any], message: str
) -> None:
    since = platform.sandbox.calls()["next"]
    if dag_id == "provision_cluster":
        conf = {**cluster_conf("iota", "OPS-2100", small=True), **typo}
    else:
        conf = {"cluster_name": CLUSTER, "confirm_cluster_name": CLUSTER, "ticket_id": "OPS-2101", **typo}
    platform.client.wait_for_dag(dag_id)
    runs_before = platform.api("GET", f"/api/v2/dags/{dag_id}/dagRuns").json()["total_entries"]
    response = platform.api(
        "POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf, "note": "typo"}
    )
    # refused at the REST API by plugins/conf_guard.py; no run is created
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    assert platform.api("GET", f"/api/v2/dags/{dag_id}/dagRuns").json()["total_entries"] == runs_before
    assert platform.sandbox.calls(since)["calls"] == []
    assert registry_rows(platform, "SELECT name FROM clusters WHERE name = 'iota'", ()) == []
    assert registry_rows(platform, "SELECT state FROM clusters WHERE name = ?", (CLUSTER,)) == [("ready",)]


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer not-a-token"}, 403)],
)
def test_unknown_conf_key_from_a_caller_airflow_rejects_gets_airflows_answer(
    platform: Any, headers: dict[str, str], status: int
) -> None:
    """The conf guard judges only callers Airflow lets trigger the DAG: others learn no param name."""
    platform.client.wait_for_dag("provision_cluster")
    conf = {**cluster_conf("iota", "OPS-2102", small=True), "dryrun": True}
    response = httpx.post(
        f"{platform.base_url}/api/v2/dags/provision_cluster/dagRuns",
        json={"logical_date": None, "conf": conf},
        headers=headers,
        timeout=30.0,
        trust_env=False,
    )
    assert response.status_code == status, response.text
    assert "dry_run" not in response.text and "declared params" not in response.text


def test_decommission_leaves_nothing_tagged(platform: Any, alpha: dict[str, Any]) -> None:
    since = platform.sandbox.calls()["next"]
    assert decommission(platform, CLUSTER, "OPS-1099") == "success"
    inv = tagged_inventory(platform.sandbox, CLUSTER)
    assert inv == {"instances": [], "load_balancers": [], "security_groups": []}
    assert resolve(platform.sandbox, f"api.{CLUSTER}.{DOMAIN}") == []
    assert registry_rows(platform, "SELECT name FROM clusters WHERE name = ?", (CLUSTER,)) == []
    rows = registry_rows(
        platform,
        "SELECT ticket_id FROM audit_events WHERE dag_id = 'decommission_cluster' AND cluster = ? "
        "AND outcome = 'ok'",
        (CLUSTER,),
    )
    assert rows and {r[0] for r in rows} == {"OPS-1099"}
    assert mutating_calls(platform.sandbox, since)
    # and again: nothing left, nothing to do
    since = platform.sandbox.calls()["next"]
    assert decommission(platform, CLUSTER, "OPS-1100") == "success"
    assert mutating_calls(platform.sandbox, since) == []


def test_sqlite_registry_is_readable(platform: Any) -> None:
    db = Path(platform.home) / "yunfleet.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] > 0


def test_yunfleet_ticket_triggers_and_follows_a_run(platform: Any) -> None:
    since = platform.sandbox.calls()["next"]
    env = {**platform.env, "YUNFLEET_API_URL": platform.base_url}
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "yunfleet"),
            "ticket",
            "provision_cluster",
            "OPS-8000",
            "--conf",
            json.dumps(cluster_conf("theta", "ignored", small=True)),
            "--set",
            "dry_run=true",
            "--note",
            "from the service desk",
            "--unpause",
            "--timeout",
            "600",
            "--poll",
            "1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "triggered provision_cluster run ticket__OPS-8000__" in out.stdout
    assert "show_plan: success" in out.stdout and out.stdout.rstrip().endswith(": success")
    run_id = out.stdout.split("triggered provision_cluster run ", 1)[1].split()[0]
    run = platform.client.run("provision_cluster", run_id)
    assert run["note"] == "from the service desk" and run["conf"]["ticket_id"] == "OPS-8000"
    assert mutating_calls(platform.sandbox, since) == []


def test_decommission_refuses_a_mismatched_confirmation(platform: Any) -> None:
    since = platform.sandbox.calls()["next"]
    conf = {"cluster_name": "alpha", "confirm_cluster_name": "alpah", "ticket_id": "OPS-9000"}
    run_id = platform.trigger("decommission_cluster", conf, note="typo")
    assert platform.wait("decommission_cluster", run_id, timeout=600) == "failed"
    report = run_report(platform, "decommission_cluster", run_id)
    assert "confirm_cluster_name 'alpah' does not match cluster_name 'alpha'" in report
    assert "nothing was changed" in report
    assert platform.sandbox.calls(since)["calls"] == []
