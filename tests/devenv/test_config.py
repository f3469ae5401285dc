"""The local platform's generated configuration: airflow.cfg, secrets, environment, settings."""

from __future__ import annotations

import configparser
import json
import stat

import pytest

from yunfleet.devenv.config import (
    DevSettings,
    ensure_admin_password,
    ensure_callback_secret,
    process_env,
    write_airflow_cfg,
)
from yunfleet.devenv.ports import free_tcp_udp_port


def _cfg(settings: DevSettings) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read(settings.airflow_cfg)
    return parser


def test_airflow_cfg_points_at_the_repo_and_the_settings(tmp_path):
    settings = DevSettings(home=tmp_path, api_port=18080, worker_log_port=18793, trigger_log_port=18794)
    write_airflow_cfg(settings)
    cfg = _cfg(settings)
    assert cfg.get("core", "dags_folder") == str(settings.dags_folder)
    assert cfg.get("core", "load_examples") == "False"
    assert cfg.get("core", "execution_api_server_url") == "http://127.0.0.1:18080/execution/"
    assert cfg.get("api", "port") == "18080"
    assert cfg.get("logging", "worker_log_server_port") == "18793"
    assert int(cfg.get("dag_processor", "refresh_interval")) <= 10
    assert cfg.get("database", "sql_alchemy_conn") == f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}"
    assert stat.S_IMODE(settings.airflow_cfg.stat().st_mode) == 0o600
    # the sandbox is the target: the connection form's Test button (and /api/v2/connections/test) works
    assert cfg.get("core", "test_connection") == "Enabled"


def test_secrets_survive_a_rewrite_but_differ_between_homes(tmp_path):
    first = DevSettings(home=tmp_path / "a")
    write_airflow_cfg(first)
    before = _cfg(first)
    write_airflow_cfg(first.with_changes(api_port=9999))
    after = _cfg(first)
    assert after.get("core", "fernet_key") == before.get("core", "fernet_key")
    assert after.get("api_auth", "jwt_secret") == before.get("api_auth", "jwt_secret")
    assert after.get("api", "port") == "9999"
    other = DevSettings(home=tmp_path / "b")
    write_airflow_cfg(other)
    assert _cfg(other).get("core", "fernet_key") != before.get("core", "fernet_key")


def test_callback_secret_is_generated_once_and_private(tmp_path):
    settings = DevSettings(home=tmp_path)
    secret = ensure_callback_secret(settings)
    assert len(secret) >= 32 and ensure_callback_secret(settings) == secret
    assert settings.callback_secret_file.read_text().strip() == secret
    assert stat.S_IMODE(settings.callback_secret_file.stat().st_mode) == 0o600
    assert ensure_callback_secret(DevSettings(home=tmp_path / "other")) != secret


def test_admin_password_is_generated_once(tmp_path):
    settings = DevSettings(home=tmp_path)
    password = ensure_admin_password(settings)
    assert len(password) >= 12
    assert ensure_admin_password(settings) == password
    assert json.loads(settings.password_file.read_text()) == {"admin": password}
    assert stat.S_IMODE(settings.password_file.stat().st_mode) == 0o600


def test_process_env_sets_proxies_aside_and_isolates_airflow(tmp_path):
    settings = DevSettings(home=tmp_path, sandbox_http_port=18470)
    base = {
        "PATH": "/usr/bin",
        "HTTP_PROXY": "http://proxy:3128",
        "https_proxy": "http://proxy:3128",
        "NO_PROXY": "corp.example",
        "AIRFLOW__CORE__DAGS_FOLDER": "/elsewhere",
        "AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT": "{}",
    }
    env = process_env(settings, base=base, inherit_airflow_env=False)
    assert not {"HTTP_PROXY", "https_proxy"} & set(env)
    assert env["NO_PROXY"].split(",")[:2] == ["corp.example", "127.0.0.1"]
    assert "AIRFLOW__CORE__DAGS_FOLDER" not in env
    assert "AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT" not in env
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["SANDBOX_HTTP_PORT"] == "18470"
    assert env["SANDBOX_STATE_DIR"] == str(tmp_path / "sandbox")
    inherited = process_env(settings, base=base)
    assert inherited["AIRFLOW_CONN_ALIBABA_CLOUD_DEFAULT"] == "{}"


def test_sandbox_connection_follows_the_conventions(tmp_path):
    settings = DevSettings(home=tmp_path, sandbox_http_port=18470, sandbox_kube_port=18471)
    conn = settings.alibaba_connection()
    assert conn["conn_type"] == "alibaba_cloud"
    assert (conn["login"], conn["password"]) == ("sandbox-ak", "sandbox-secret")
    extra = conn["extra"]
    assert extra["endpoint"] == "127.0.0.1:18470"
    assert extra["protocol"] == "http"
    assert extra["kube_server_template"] == "https://127.0.0.1:18471/k8s/{cluster}"
    assert extra["kube_ca_file"] == str(tmp_path / "sandbox" / "ca.crt")
    assert settings.registry_connection()["extra"] == {"url": f"sqlite:///{tmp_path / 'yunfleet.db'}"}


def test_settings_from_env(tmp_path):
    settings = DevSettings.from_env({"YUNFLEET_HOME": str(tmp_path), "YUNFLEET_API_PORT": "18081"})
    assert settings.api_port == 18081
    assert settings.registry_db == tmp_path / "yunfleet.db"
    with pytest.raises(SystemExit, match="YUNFLEET_API_PORT must be an integer"):
        DevSettings.from_env({"YUNFLEET_API_PORT": "eighty"})


def test_isolated_settings_use_distinct_free_ports(tmp_path):
    settings = DevSettings.isolated(tmp_path)
    ports = {
        settings.api_port,
        settings.sandbox_http_port,
        settings.sandbox_kube_port,
        settings.sandbox_dns_port,
        settings.worker_log_port,
        settings.trigger_log_port,
    }
    assert len(ports) == 6
    assert not ports & {8080, 8470, 8471, 8453, 8793, 8794}
    assert free_tcp_udp_port() > 0


def test_process_env_round_trips_the_settings(tmp_path):
    settings = DevSettings.isolated(tmp_path)
    assert DevSettings.from_env(process_env(settings)) == settings
