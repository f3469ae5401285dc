"""provision_cluster under sandbox faults, after a failure halfway, and its signed callback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from include.provisioning.callback import SIGNATURE_HEADER, verify
from tests.fixtures.provisioning import (
    all_calls,
    cluster_conf,
    decommission,
    mutating_calls,
    provision,
    registry_rows,
    run_report,
    tagged_inventory,
    task_log,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

# Issue 9 case 5: 25% throttling on every product (Kubernetes answers 429 + Retry-After), 30% 503 on
# RunInstances, 3% timeouts everywhere; the run must converge with no duplicate resource.
FAULTS = [
    {"product": "*", "action": "*", "error": "Throttling.User", "http_status": 400, "rate": 0.25},
    {
        "product": "ecs",
        "action": "RunInstances",
        "error": "ServiceUnavailable",
        "http_status": 503,
        "rate": 0.3,
    },
    {"product": "*", "action": "*", "error": "timeout", "rate": 0.03},
]


def test_faults_still_converge_without_duplicates(platform: Any) -> None:
    sandbox = platform.sandbox
    since = sandbox.calls()["next"]
    sandbox.set_faults(FAULTS, seed=7)
    try:
        run_id, state = provision(platform, cluster_conf("epsilon", "OPS-5000", small=True))
        assert state == "success", platform.explain("provision_cluster", run_id)
    finally:
        sandbox.clear_faults()
    injected = [
        c
        for c in all_calls(sandbox, since)
        if c.get("error_code") in ("Throttling.User", "ServiceUnavailable", "TooManyRequests")
    ]
    assert injected, "no fault was injected; the test proves nothing"
    assert any(c["product"] == "k8s" and c.get("status") == 429 for c in all_calls(sandbox, since)), (
        "no Kubernetes call was throttled; the test proves nothing for the Kubernetes API"
    )
    inv = tagged_inventory(sandbox, "epsilon")
    roles = sorted(i["tags"]["yunfleet:role"] for i in inv["instances"])
    assert roles == ["control-plane", "worker", "worker"]
    assert len(inv["load_balancers"]) == 1 and len(inv["security_groups"]) == 1
    sandbox.set_faults(FAULTS, seed=11)
    try:
        assert decommission(platform, "epsilon", "OPS-5001") == "success"
    finally:
        sandbox.clear_faults()
    assert tagged_inventory(sandbox, "epsilon") == {
        "instances": [],
        "load_balancers": [],
        "security_groups": [],
    }


def test_stock_running_out_halfway_fails_clearly_then_converges(platform: Any) -> None:
    sandbox = platform.sandbox
    conf = {
        "cluster_name": "zeta",
        "ticket_id": "OPS-6000",
        "zones": ["cn-hangzhou-h", "cn-hangzhou-i"],
        "control_plane": {"instance_type": "ecs.g7.large", "count": 1},
        "node_pools": [
            {
                "name": "batch",
                "instance_type": "ecs.c7.xlarge",
                "min_size": 0,
                "max_size": 8,
                "desired_size": 4,
            }
        ],
    }
    # Enough for validation to see stock, too little for the 2 instances the pool needs in zone i.
    sandbox.set_zone("cn-hangzhou-i", stock={"ecs.c7.xlarge": 1})
    try:
        run_id, state = provision(platform, conf)
        assert state == "failed"
        report = run_report(platform, "provision_cluster", run_id)
        assert "NoStock" in report
        assert "exists now:" in report and "security group" in report
        assert registry_rows(platform, "SELECT state FROM clusters WHERE name = 'zeta'", ()) == [("failed",)]
    finally:
        sandbox.set_zone("cn-hangzhou-i", stock={"ecs.c7.xlarge": 300})
    run_id, state = provision(platform, {**conf, "ticket_id": "OPS-6001"})
    assert state == "success", platform.explain("provision_cluster", run_id)
    inv = tagged_inventory(sandbox, "zeta")
    workers = sorted(i["zone"] for i in inv["instances"] if i["tags"]["yunfleet:role"] == "worker")
    assert workers == ["cn-hangzhou-h", "cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-i"]
    assert decommission(platform, "zeta", "OPS-6002") == "success"
    assert tagged_inventory(sandbox, "zeta") == {"instances": [], "load_balancers": [], "security_groups": []}


def _used_vcpus(sandbox: Any) -> int:
    from alibabacloud_ecs20140526 import models as ecs_models

    body = (
        sandbox.ecs_client()
        .describe_account_attributes(
            ecs_models.DescribeAccountAttributesRequest(
                region_id="cn-hangzhou", attribute_name=["used-postpaid-instance-vcpu-count"]
            )
        )
        .body
    )
    (item,) = body.account_attribute_items.account_attribute_item
    return int(item.attribute_values.value_item[0].value)


def test_vcpu_quota_too_small_fails_validation_before_any_change(platform: Any) -> None:
    sandbox = platform.sandbox
    # One free vCPU: the small cluster needs 3 instances of 2 vCPUs each.
    sandbox.set_vcpu_quota(_used_vcpus(sandbox) + 1)
    since = sandbox.calls()["next"]
    try:
        run_id, state = provision(platform, cluster_conf("theta", "OPS-7000", small=True))
    finally:
        sandbox.set_vcpu_quota(4000)
    assert state == "failed"
    explanation = platform.explain("provision_cluster", run_id)
    assert "quota:" in explanation and "vCPUs needed" in explanation, explanation
    assert mutating_calls(sandbox, since) == []
    nothing: dict[str, list[Any]] = {"instances": [], "load_balancers": [], "security_groups": []}
    assert tagged_inventory(sandbox, "theta") == nothing


def _add_records(sandbox: Any, records: list[tuple[str, str, str]]) -> list[str]:
    """Add ``(rr, type, value)`` records to the sandbox zone through the Alidns SDK; their record ids."""
    from alibabacloud_alidns20150109 import models as dns_models

    client = sandbox.bulk_dns_client()
    ids = []
    for rr, record_type, value in records:
        request = dns_models.AddDomainRecordRequest(
            domain_name="fleet.example.com", rr=rr, type=record_type, value=value, ttl=600
        )
        ids.append(client.add_domain_record(request).body.record_id)
    return ids


def _delete_records(sandbox: Any, record_ids: list[str]) -> None:
    from alibabacloud_alidns20150109 import models as dns_models

    client = sandbox.bulk_dns_client()
    for record_id in record_ids:
        client.delete_domain_record(dns_models.DeleteDomainRecordRequest(record_id=record_id))


def test_foreign_api_record_on_page_two_fails_validation_before_any_change(platform: Any) -> None:
    """A name the plan would own is someone else's: found by reading (all pages, exact RR), not by writing."""
    sandbox = platform.sandbox
    # 520 unrelated records push the foreign one past the first 500-record page; fuzzy neighbours
    # of the RR ("api.kappa2", "x.api.kappa") must not be mistaken for it.
    filler = [(f"filler{n:03d}.kappa", "A", f"10.9.{n // 250}.{n % 250 + 1}") for n in range(520)]
    neighbours = [("api.kappa2", "A", "10.8.0.2"), ("x.api.kappa", "A", "10.8.0.3")]
    ids = _add_records(sandbox, filler + neighbours + [("api.kappa", "A", "10.8.0.1")])
    since = sandbox.calls()["next"]
    try:
        run_id, state = provision(platform, cluster_conf("kappa", "OPS-7100", small=True))
        assert state == "failed"
        report = run_report(platform, "provision_cluster", run_id)
        assert "validation failed, nothing was changed" in report
        assert "api.kappa.fleet.example.com already has records Yunfleet did not create" in report
        assert mutating_calls(sandbox, since) == []
        assert registry_rows(platform, "SELECT name FROM clusters WHERE name = 'kappa'", ()) == []
    finally:
        _delete_records(sandbox, ids)


def test_cleared_run_after_decommission_rebuilds_the_cluster_for_real(platform: Any) -> None:
    """Same run id after decommission: ClientTokens replay released ids; success only if it is there."""
    sandbox = platform.sandbox
    run_id, state = provision(platform, cluster_conf("lambda", "OPS-7200", small=True))
    assert state == "success", platform.explain("provision_cluster", run_id)
    assert decommission(platform, "lambda", "OPS-7201") == "success"
    response = platform.api(
        "POST",
        "/api/v2/dags/provision_cluster/clearTaskInstances",
        json={"dry_run": False, "dag_run_id": run_id, "only_failed": False, "reset_dag_runs": True},
    )
    assert response.status_code == 200, response.text
    state = platform.wait("provision_cluster", run_id, timeout=900)
    inv = tagged_inventory(sandbox, "lambda")
    registered = registry_rows(platform, "SELECT state FROM clusters WHERE name = 'lambda'", ())
    try:
        # the hooks see through the replays (new tokens), so the run rebuilds the cluster for real
        assert state == "success", platform.explain("provision_cluster", run_id)
        assert sorted(i["status"] for i in inv["instances"]) == ["Running"] * 3
        assert len(inv["load_balancers"]) == 1 and len(inv["security_groups"]) == 1
        assert registered == [("ready",)]
        verify_log = task_log(platform, "provision_cluster", run_id, "verify", try_number=2)
        assert "verify failed" not in verify_log
    finally:
        assert decommission(platform, "lambda", "OPS-7202") == "success"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((body, self.headers.get(SIGNATURE_HEADER, "")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return


def test_callback_is_posted_and_signed(platform: Any) -> None:
    # out of the box: the platform's bootstrap generated the secret and the yunfleet_callback connection
    secret = (platform.home / "callback-secret").read_text().strip()
    assert len(secret) >= 32
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        conf = {**cluster_conf("eta", "OPS-7000", small=True), "dry_run": True, "callback_url": url}
        run_id, state = provision(platform, conf)
        assert state == "success", platform.explain("provision_cluster", run_id)
    finally:
        server.shutdown()
        server.server_close()
    assert len(_Receiver.received) == 1
    body, header = _Receiver.received[0]
    assert verify(secret, body, header)
    payload = json.loads(body)
    assert payload["outcome"] == "success" and payload["ticket_id"] == "OPS-7000"
    assert payload["run_id"] == run_id and payload["details"]["dry_run"] is True
    assert secret not in body.decode()
