"""A hook call rides out a closed per-minute quota window (sandbox quota mode, short minute)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from include.errors import ThrottlingError
from operators.hooks.ecs import EcsHook
from tests.fixtures.building_blocks import alibaba_conn_json

WINDOW_S = 3.0
QUOTA = [{"product": "ecs", "action": "DescribeInstances", "per_minute": 2}]


def _hook_with_retry(sandbox: Any, monkeypatch: pytest.MonkeyPatch, **retry: Any) -> EcsHook:
    """An EcsHook whose throttling back-off comes from the connection extra ``retry``."""
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT", alibaba_conn_json(sandbox, retry=retry))
    return EcsHook()


def _start_of_window(sandbox: Any, rules: list[dict[str, Any]] = QUOTA) -> None:
    """Set the quota rules and return at the start of a window (at least WINDOW_S - 0.5 s left)."""
    state = sandbox.set_api_quotas(rules, window_seconds=WINDOW_S)
    if state["window_ends_in"] < WINDOW_S - 0.5:
        time.sleep(state["window_ends_in"] + 0.05)


def test_a_throttled_read_waits_for_the_next_window(cloud_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook_with_retry(
        cloud_env,
        monkeypatch,
        throttle_max_total_seconds=WINDOW_S + 2,
        throttle_initial_backoff=0.2,
        throttle_max_backoff=1.0,
    )
    assert hook.retry_policy.throttle_max_total_seconds == WINDOW_S + 2
    _start_of_window(cloud_env)
    mark = cloud_env.calls()["next"]
    hook.describe_instances()
    hook.describe_instances()
    started = time.monotonic()
    assert hook.describe_instances() == []  # the window is closed: answered only in the next one
    assert time.monotonic() - started >= 0.5
    answers = [(c["status"], c["error_code"]) for c in cloud_env.calls(mark)["calls"]]
    assert answers[:2] == [(200, None), (200, None)]
    assert (400, "Throttling.User") in answers[2:-1] and answers[-1] == (200, None)
    assert all(a == (400, "Throttling.User") for a in answers[2:-1])


def test_a_budget_shorter_than_the_window_gives_up_with_throttling(
    cloud_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _hook_with_retry(
        cloud_env,
        monkeypatch,
        throttle_max_total_seconds=0.6,
        throttle_initial_backoff=0.1,
        throttle_max_backoff=0.2,
    )
    _start_of_window(cloud_env)
    hook.describe_instances()
    hook.describe_instances()
    with pytest.raises(ThrottlingError) as info:
        hook.describe_instances()
    assert info.value.code == "Throttling.User" and info.value.action == "DescribeInstances"


def test_a_retry_after_from_the_server_is_followed(cloud_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``x-acs-retry-after`` the hook sleeps until the window reopens: exactly one refused call
    (without it, the 0.05 s back-off would knock several times)."""
    hook = _hook_with_retry(
        cloud_env,
        monkeypatch,
        throttle_max_total_seconds=WINDOW_S + 2,
        throttle_initial_backoff=0.05,
        throttle_max_backoff=WINDOW_S,
    )
    _start_of_window(cloud_env, [{**QUOTA[0], "per_minute": 1, "retry_after": True}])
    mark = cloud_env.calls()["next"]
    hook.describe_instances()
    hook.describe_instances()
    answers = [(c["status"], c["error_code"]) for c in cloud_env.calls(mark)["calls"]]
    assert answers == [(200, None), (400, "Throttling.User"), (200, None)]
