"""Where ``yunfleet`` finds the API: URL and password from the environment or the platform's files."""

from __future__ import annotations

import json

import pytest

from yunfleet.cli.config import ConfigError, api_password, default_api_url
from yunfleet.devenv.config import DevSettings


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.delenv("YUNFLEET_API_PASSWORD", raising=False)
    monkeypatch.delenv("YUNFLEET_API_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    return DevSettings(home=tmp_path, api_port=18080)


def test_password_from_the_environment_wins(settings, monkeypatch):
    settings.password_file.parent.mkdir(parents=True)
    settings.password_file.write_text(json.dumps({"admin": "from-file"}))
    monkeypatch.setenv("YUNFLEET_API_PASSWORD", "from-env")
    assert api_password(settings, "admin") == "from-env"


def test_password_from_airflows_generated_file(settings):
    settings.password_file.parent.mkdir(parents=True)
    settings.password_file.write_text(json.dumps({"admin": "from-file", "ops": "other"}))
    assert api_password(settings, "ops") == "other"


def test_a_user_missing_from_the_file_is_named(settings):
    settings.password_file.parent.mkdir(parents=True)
    settings.password_file.write_text(json.dumps({"admin": "x"}))
    with pytest.raises(ConfigError, match="has no password for 'ops'; set YUNFLEET_API_PASSWORD"):
        api_password(settings, "ops")


def test_no_file_says_how_to_get_one(settings):
    with pytest.raises(ConfigError, match=r"set YUNFLEET_API_PASSWORD or start the platform \(`make run`\)"):
        api_password(settings, "admin")


def test_api_url_defaults_to_the_local_platform(settings, monkeypatch):
    assert default_api_url(settings) == "http://127.0.0.1:18080"
    monkeypatch.setenv("YUNFLEET_API_URL", "https://airflow.example.com")
    assert default_api_url(settings) == "https://airflow.example.com"
