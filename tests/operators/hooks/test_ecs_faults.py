"""Retries under injected faults and a worker killed mid-call: no duplicate instances, ever."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from operators.hooks.ecs import EcsHook
from operators.utils.retry import RetryPolicy
from tests.fixtures.building_blocks import FAST_RETRY
from tests.operators.builders import live_instances, make_hook, security_group, spec

REPO = Path(__file__).resolve().parents[3]


def test_faults_converge_without_duplicates(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    cloud_env.set_faults(
        [
            {"product": "ecs", "action": "*", "error": "Throttling.User", "rate": 0.3},
            {
                "product": "ecs",
                "action": "*",
                "error": "ServiceUnavailable",
                "http_status": 503,
                "rate": 0.05,
            },
            {
                "product": "ecs",
                "action": "DescribeInstances",
                "error": "timeout",
                "delay_ms": 1500,
                "rate": 0.1,
            },
            # processed after the client gave up: the retry must be answered from the ClientToken
            {"product": "ecs", "action": "RunInstances", "delay_ms": 1500, "rate": 0.5},
        ],
        seed=7,
    )
    retrying = EcsHook(
        audit_sink=audit_store,
        audit_context=task_context,
        retry_policy=RetryPolicy(
            max_attempts=15,
            max_total_seconds=120,
            initial_backoff=0.02,
            max_backoff=0.3,
            throttle_max_attempts=15,
            throttle_initial_backoff=0.02,
            throttle_max_backoff=0.3,
        ),
        read_timeout_ms=800,
    )
    pools = [
        ("general", "cn-hangzhou-h", "vsw-sandbox00000000000h1", 4),
        ("batch", "cn-hangzhou-i", "vsw-sandbox00000000000i1", 3),
    ]
    for pool, zone, vswitch, count in pools:
        result = retrying.ensure_instances(spec(sg, count, node_pool=pool, zone_id=zone, vswitch_id=vswitch))
        assert len(result.instance_ids) == count
    time.sleep(1.7)  # let any response the client abandoned finish on the server
    cloud_env.clear_faults()
    for pool, zone, _, count in pools:
        in_pool = [i for i in live_instances(cloud_env) if i["tags"].get("yunfleet:node-pool") == pool]
        assert len(in_pool) == count, (pool, in_pool)
        assert all(i["zone_id"] == zone for i in in_pool)
    codes = {c["error_code"] for c in cloud_env.calls()["calls"]}
    assert {"Throttling.User", "timeout"} <= codes  # the faults really fired
    runs = [r for r in audit_store.list() if r.action == "RunInstances"]
    assert [r.outcome for r in runs] == ["ok", "ok"]  # one row per call, retries inside it


CHILD = r"""
import json, os, sys
from include.audit import AuditStore
from include.registry import create_registry_engine
from operators.utils.audit import AuditContext
from operators.hooks.ecs import EcsHook, InstanceSpec
from include.fleet.contract import TaskIdentity
from operators.utils.retry import RetryPolicy
args = json.loads(sys.argv[1])
hook = EcsHook(
    audit_sink=AuditStore(create_registry_engine(args["db"])),
    audit_context=AuditContext(identity=TaskIdentity(**args["identity"])),
    retry_policy=RetryPolicy(max_attempts=3, initial_backoff=0.05, max_backoff=0.1),
)
print("ready", flush=True)
hook.ensure_instances(InstanceSpec(**args["spec"]))
print("finished", flush=True)
"""


def test_worker_killed_after_run_instances_then_retry(
    cloud_env: Any, audit_store: Any, task_context: Any, sqlite_registry_url: str
) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    wanted = spec(sg, 3)
    # RunInstances is held 5 s before the sandbox processes it; the worker dies meanwhile.
    cloud_env.set_faults([{"product": "ecs", "action": "RunInstances", "delay_ms": 5000, "count": 1}])
    mark = cloud_env.calls()["next"]
    identity = {
        "dag_id": "provision_cluster",
        "run_id": "manual__crash",
        "task_id": "workers",
        "map_index": 0,
    }
    payload = {
        "db": sqlite_registry_url,
        "identity": {**identity, "try_number": 1},
        "spec": {k: v for k, v in wanted.__dict__.items() if k != "extra_tags"},
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(payload)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        seen = ""
        assert child.stdout is not None
        while "ecs RunInstances" not in seen and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            seen += line
        assert "ecs RunInstances" in seen, seen
        time.sleep(1.5)  # the request is on the wire, held by the sandbox
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert "finished" not in seen
    # The retried task (try 2, same run/task/map index) runs while the first request is still held.
    from include.fleet.contract import TaskIdentity
    from operators.utils.audit import AuditContext

    retry = EcsHook(
        audit_sink=audit_store,
        audit_context=AuditContext(identity=TaskIdentity(**identity, try_number=2)),
        retry_policy=FAST_RETRY,
    )
    result = retry.ensure_instances(wanted)
    assert len(result.instance_ids) == 3
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        runs = [c for c in cloud_env.calls(mark)["calls"] if c["action"] == "RunInstances"]
        if len(runs) >= 2:
            break
        time.sleep(0.2)
    assert len(runs) == 2, runs  # both the killed worker's request and the retry reached the cloud
    assert len({r["params"].get("ClientToken") for r in runs}) == 1  # with the same ClientToken
    assert len(live_instances(cloud_env)) == 3
    assert (
        sorted(retry.list_cluster_instances("demo")[i].instance_id for i in range(3)) == result.instance_ids
    )


@pytest.mark.parametrize("lost", ["request", "response"])
def test_lost_call_retried_in_process_creates_once(
    cloud_env: Any, audit_store: Any, task_context: Any, lost: str
) -> None:
    hook = make_hook(audit_store, task_context)
    sg = security_group(hook)
    rule: dict[str, Any] = {"product": "ecs", "action": "RunInstances", "count": 1}
    rule.update({"error": "timeout", "delay_ms": 1200} if lost == "request" else {"delay_ms": 1200})
    cloud_env.set_faults([rule])
    impatient = EcsHook(
        audit_sink=audit_store, audit_context=task_context, retry_policy=FAST_RETRY, read_timeout_ms=500
    )
    result = impatient.ensure_instances(spec(sg, 2))
    time.sleep(1.4)
    assert len(result.instance_ids) == 2
    assert len(live_instances(cloud_env)) == 2
