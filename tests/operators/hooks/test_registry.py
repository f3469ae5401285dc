"""YunfleetRegistryHook reads the yunfleet_db connection and Airflow's Fernet key."""

from __future__ import annotations

import json

import pytest

from include.errors import ConfigurationError
from operators.hooks.registry import YunfleetRegistryHook


def test_registry_hook_reads_url_and_airflow_fernet_key(
    sqlite_registry_url: str, fernet_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_YUNFLEET_DB",
        json.dumps({"conn_type": "generic", "extra": {"url": sqlite_registry_url}}),
    )
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", fernet_key)
    hook = YunfleetRegistryHook()
    hook.registry.upsert_cluster("demo", region_id="cn-hangzhou", domain="fleet.example.com")
    hook.registry.put_credentials("demo", {"admin_token": "s3cret-token-value"})
    assert YunfleetRegistryHook().registry.get_credentials("demo") == {"admin_token": "s3cret-token-value"}
    ok, message = hook.test_connection()
    assert ok and "1 cluster" in message


def test_registry_hook_without_url_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_EMPTYDB", json.dumps({"conn_type": "generic", "extra": {}}))
    with pytest.raises(ConfigurationError, match="has no extra 'url'"):
        _ = YunfleetRegistryHook("emptydb").registry
    ok, message = YunfleetRegistryHook("emptydb").test_connection()
    assert not ok and "url" in message
