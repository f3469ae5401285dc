"""Precedence of connection settings: hook argument > connection extra > default."""

from __future__ import annotations

import json
from typing import Any

import pytest

from include.errors import ConfigurationError
from operators.hooks.ecs import EcsHook
from operators.utils.connection_config import AlibabaCloudConnectionConfig, is_loopback_endpoint

EXTRA = {
    "region_id": "cn-shanghai",
    "endpoint": "127.0.0.1:9000",
    "endpoints": {"slb": "127.0.0.1:9001"},
    "protocol": "http",
    "connect_timeout_ms": 1500,
    "read_timeout_ms": 7000,
}


@pytest.mark.parametrize(
    ("setting", "argument", "extra", "expected"),
    [
        ("region_id", "cn-beijing", EXTRA, "cn-beijing"),  # argument beats extra
        ("region_id", None, EXTRA, "cn-shanghai"),  # extra beats default
        ("region_id", None, {}, None),  # no default region
        ("protocol", "https", EXTRA, "https"),
        ("protocol", None, EXTRA, "http"),
        ("protocol", None, {}, "https"),
        ("connect_timeout_ms", 900, EXTRA, 900),
        ("connect_timeout_ms", None, EXTRA, 1500),
        ("connect_timeout_ms", None, {}, 5000),
        ("read_timeout_ms", None, {}, 10000),
        ("endpoint", "10.0.0.1:80", EXTRA, "10.0.0.1:80"),
        ("endpoint", None, EXTRA, "127.0.0.1:9000"),
        ("endpoint", None, {}, None),
    ],
)
def test_precedence(setting: str, argument: Any, extra: dict[str, Any], expected: Any) -> None:
    config = AlibabaCloudConnectionConfig.resolve(
        "c", login="ak", password="sk", extra=extra, **{setting: argument}
    )
    assert getattr(config, setting) == expected


@pytest.mark.parametrize(
    ("endpoints_arg", "product", "expected"),
    [
        (None, "slb", "127.0.0.1:9001"),  # per-product extra beats the global endpoint
        (None, "ecs", "127.0.0.1:9000"),  # global endpoint when no per-product one
        ({"ecs": "127.0.0.1:9100"}, "ecs", "127.0.0.1:9100"),  # argument beats extra
        ({"ecs": "127.0.0.1:9100"}, "slb", "127.0.0.1:9000"),  # the argument replaces the extra's map
    ],
)
def test_per_product_endpoints(endpoints_arg: Any, product: str, expected: str) -> None:
    config = AlibabaCloudConnectionConfig.resolve("c", extra=EXTRA, endpoints=endpoints_arg)
    assert config.endpoint_for(product) == expected


def test_credentials_from_login_then_extras() -> None:
    both = AlibabaCloudConnectionConfig.resolve(
        "c",
        login="AK1",
        password="S1",
        extra={"access_key_id": "AK2", "access_key_secret": "S2", "region_id": "r"},
    )
    assert (both.access_key_id, both.access_key_secret) == ("AK1", "S1")
    extras_only = AlibabaCloudConnectionConfig.resolve(
        "c", extra={"access_key_id": "AK2", "access_key_secret": "S2", "region_id": "r"}
    )
    assert extras_only.require_credentials() == ("AK2", "S2")
    assert "S2" not in repr(extras_only)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"protocol": "ftp"}, "protocol must be"),
        ({"endpoints": {"oss": "x"}}, "unknown product"),
        ({"endpoints": "{not json"}, "JSON object"),
        ({"read_timeout_ms": "soon"}, "integer number of milliseconds"),
        ({"connect_timeout_ms": -1}, "must be positive"),
    ],
)
def test_bad_settings_fail_with_one_line(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AlibabaCloudConnectionConfig.resolve("c", extra=extra)


def test_missing_credentials_fail_before_any_call() -> None:
    config = AlibabaCloudConnectionConfig.resolve("c", extra={"region_id": "cn-hangzhou"})
    with pytest.raises(ConfigurationError, match="has no AccessKey"):
        config.require_credentials()


def test_kube_server_template() -> None:
    default = AlibabaCloudConnectionConfig.resolve("c", extra={"dns_domain": "fleet.example.com"})
    assert default.kube_server("demo") == "https://api.demo.fleet.example.com:6443"
    sandbox = AlibabaCloudConnectionConfig.resolve(
        "c", extra={"kube_server_template": "https://127.0.0.1:8471/k8s/{cluster}"}
    )
    assert sandbox.kube_server("demo") == "https://127.0.0.1:8471/k8s/demo"


def test_hook_reads_the_connection_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_LAZY", raising=False)
    hook = EcsHook("lazy", region_id="cn-beijing")  # no connection yet: nothing is read in __init__
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAZY",
        json.dumps({"conn_type": "alibaba_cloud", "login": "AK", "password": "SK-secret", "extra": EXTRA}),
    )
    config = hook.conn_config
    assert (config.region_id, config.endpoint, config.access_key_id) == ("cn-beijing", "127.0.0.1:9000", "AK")
    sdk = hook.sdk_config("slb")
    assert (sdk.endpoint, sdk.protocol, sdk.connect_timeout, sdk.region_id) == (
        "127.0.0.1:9001",
        "http",
        1500,
        "cn-beijing",
    )
    assert hook.get_client("ecs") is hook.get_client("ecs") and hook.get_client("ecs") is not hook.get_client(
        "slb"
    )


def test_ui_prefixed_extras_are_understood(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_UIFORM",
        json.dumps(
            {
                "conn_type": "alibaba_cloud",
                "login": "AK",
                "password": "SK",
                "extra": {"extra__alibaba_cloud__region_id": "cn-shenzhen"},
            }
        ),
    )
    assert EcsHook("uiform").conn_config.region_id == "cn-shenzhen"


def test_loopback_detection() -> None:
    assert is_loopback_endpoint("127.0.0.1:8470") and is_loopback_endpoint("localhost:1")
    assert not is_loopback_endpoint("ecs.cn-hangzhou.aliyuncs.com") and not is_loopback_endpoint(None)


def test_test_connection_reports_without_raising(cloud_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = EcsHook().test_connection()
    assert ok and "cn-hangzhou" in message
    bad = json.loads(
        json.dumps({"conn_type": "alibaba_cloud", "login": "sandbox-ak", "password": "wrong", "extra": {}})
    )
    bad["extra"] = json.loads(__import__("os").environ["AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT"])["extra"]
    monkeypatch.setenv("AIRFLOW_CONN_BADSECRET", json.dumps(bad))
    ok, message = EcsHook("badsecret").test_connection()
    assert not ok and "SignatureDoesNotMatch" in message and "wrong" not in message
    ok, message = EcsHook("does_not_exist").test_connection()
    assert not ok and "AccessKey" in message
