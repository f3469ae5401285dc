"""The unschedulable-pods event trigger: when it fires (table), what it serializes to, and its loop run
in-process against a live sandbox cluster (pods that cannot be placed fire once, new ones fire again)."""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
from typing import Any

import pytest

from operators.triggers.capacity import PendingPodsTracker, UnschedulablePodsTrigger
from yunfleet.devenv.config import REPO_ROOT


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("looks", "fired"),
    [
        # (seconds later, unschedulable pods seen) per look -> which looks fire
        ([(0, []), (5, [])], []),
        ([(0, ["a/p1"]), (5, ["a/p1"]), (60, ["a/p1"])], [0]),
        ([(0, ["a/p1"]), (5, ["a/p1", "a/p2"])], [0]),  # a new pod inside the cooldown waits ...
        ([(0, ["a/p1"]), (5, ["a/p1", "a/p2"]), (31, ["a/p1", "a/p2"])], [0, 2]),  # ... and fires after it
        ([(0, ["a/p1"]), (40, []), (80, ["a/p1"])], [0, 2]),  # placed, then unschedulable again
        ([(0, ["a/p1"]), (40, ["a/p2"])], [0, 1]),
    ],
)
def test_a_cluster_fires_for_pods_it_has_not_reported_once_per_cooldown(
    looks: list[tuple[float, list[str]]], fired: list[int]
) -> None:
    clock = Clock()
    tracker = PendingPodsTracker(cooldown=30.0, clock=clock)
    got = []
    for index, (later, pods) in enumerate(looks):
        clock.now = 100.0 + later
        if tracker.observe("demo", pods) is not None:
            got.append(index)
    assert got == fired


def test_the_event_names_the_cluster_its_new_pods_and_how_many_wait() -> None:
    tracker = PendingPodsTracker(cooldown=0.0)
    tracker.observe("demo", ["a/p1"])
    payload = tracker.observe("demo", ["a/p1", *(f"b/q{i:02}" for i in range(30))])
    assert payload is not None and payload["cluster"] == "demo" and payload["count"] == 31
    assert payload["pods"] == [f"b/q{i:02}" for i in range(20)]
    assert tracker.observe("other", ["a/p1"]) is not None  # clusters are tracked apart
    tracker.forget(["other"])
    assert "demo" not in tracker.reported and "other" in tracker.reported


def test_serializes_to_kwargs_it_is_rebuilt_from() -> None:
    trigger = UnschedulablePodsTrigger(poll_interval=2, cooldown=10, yunfleet_db_conn_id="db2")
    path, kwargs = trigger.serialize()
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert cls is UnschedulablePodsTrigger and cls(**kwargs).serialize() == (path, kwargs)
    json.dumps(kwargs)


def test_imports_without_hooks_or_clients() -> None:
    probe = (
        "import json, sys, airflow.sdk, operators.triggers.capacity; print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not loaded & {
        "kubernetes.client",
        "operators.hooks.kubernetes",
        "operators.hooks.registry",
        "alembic",
    }


async def _events(trigger: UnschedulablePodsTrigger, wanted: int, timeout: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def collect() -> None:
        async for event in trigger.run():
            found.append(event.payload)
            if len(found) >= wanted:
                return

    try:
        await asyncio.wait_for(collect(), timeout)
    except TimeoutError:
        pass
    return found


def test_fires_for_a_live_cluster_once_per_new_unschedulable_pod(
    fleet_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from operators.hooks.kubernetes import FleetKubernetesHook
    from operators.hooks.registry import YunfleetRegistryHook
    from tests.sandbox.kube.helpers import deployment_body, wait_until

    YunfleetRegistryHook().registry.set_cluster_state(fleet_cluster.name, "ready")
    apps = FleetKubernetesHook(fleet_cluster.name)
    apps.apps_v1_client.create_namespaced_deployment("default", deployment_body("huge", 2, cpu="64"))
    wait_until(
        lambda: sum(1 for p in apps.list_pods("default") if p.unschedulable) == 2,
        timeout=20,
        what="2 unschedulable pods",
    )
    trigger = UnschedulablePodsTrigger(poll_interval=0.2, cooldown=0.0)
    first = asyncio.run(_events(trigger, 2, timeout=4.0))
    assert len(first) == 1, first  # the same pods do not fire twice
    assert first[0]["cluster"] == fleet_cluster.name and first[0]["count"] == 2
    assert all(p.startswith("default/huge-") for p in first[0]["pods"])
