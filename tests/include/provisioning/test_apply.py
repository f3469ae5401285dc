"""Apply steps of provisioning that stay in the domain: credentials and the control plane's shared
bootstrap material in the registry, security rules and node-pool rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from include.provisioning.apply import (
    CONTROL_PLANE_BOOTSTRAP_KEY,
    ensure_control_plane_bootstrap,
    ensure_credentials,
    node_pool_rows,
    security_rules,
)
from include.provisioning.bootstrap_settings import BootstrapSettings
from include.provisioning.pki import ClusterCredentials, generate_credentials
from tests.include.provisioning.builders import make_request

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
CREDS = generate_credentials("demo", now=NOW)


@dataclass
class FakeRegistry:
    stored: dict[str, Any] = field(default_factory=dict)
    endpoints: dict[str, Any] = field(default_factory=dict)

    def require_cluster(self, name: str) -> Any:
        return type("Record", (), {"has_credentials": bool(self.stored)})()

    def get_credentials(self, name: str) -> dict[str, Any]:
        return dict(self.stored)

    def put_credentials(self, name: str, data: dict[str, Any]) -> None:
        self.stored = dict(data)

    def update_endpoints(self, name: str, **kw: Any) -> None:
        self.endpoints.update(kw)


def test_a_retried_control_plane_step_reuses_the_stored_token_and_key() -> None:
    registry = FakeRegistry({"ca_cert_pem": CREDS.ca_cert_pem, "ca_key_pem": CREDS.ca_key_pem})
    first = ensure_control_plane_bootstrap(registry, "demo", NOW)
    assert ensure_control_plane_bootstrap(registry, "demo", NOW + dt.timedelta(minutes=80)) == first
    later = ensure_control_plane_bootstrap(registry, "demo", NOW + dt.timedelta(minutes=100))
    assert later.token != first.token and later.certificate_key != first.certificate_key
    assert registry.stored[CONTROL_PLANE_BOOTSTRAP_KEY]["token"]["token_id"] == later.token.token_id
    assert registry.stored["ca_key_pem"] == CREDS.ca_key_pem


def test_credentials_are_made_once_and_the_admin_certificate_is_renewed_before_expiry() -> None:
    registry = FakeRegistry()
    creds = ensure_credentials(registry, "demo", "1.31", NOW)
    assert registry.endpoints["ca_cert"] == creds.ca_cert_pem
    assert ensure_credentials(registry, "demo", "1.31", NOW + dt.timedelta(days=300)) == creds
    renewed = ensure_credentials(registry, "demo", "1.31", NOW + dt.timedelta(days=340))
    assert renewed.ca_key_pem == creds.ca_key_pem and renewed.admin_cert_pem != creds.admin_cert_pem
    legacy = FakeRegistry(
        {"ca_cert_pem": CREDS.ca_cert_pem, "ca_key_pem": CREDS.ca_key_pem, "admin_token": "old"}
    )
    upgraded = ensure_credentials(legacy, "demo", "1.31", NOW)
    assert upgraded.admin_cert_pem and "admin_token" not in legacy.stored
    assert ClusterCredentials.from_json(legacy.stored) == upgraded


def test_bad_bootstrap_settings_fail_before_any_call() -> None:
    from include.errors import ConfigurationError

    for extra, key in [
        ({"instance_ram_role": "bad role!"}, "instance_ram_role"),
        ({"kms_node_endpoint": "kms vpc"}, "kms_node_endpoint"),
        ({"kube_apt_repository": "ftp://mirror/"}, "kube_apt_repository"),
        ({"kube_image_repository": "https://registry.example.com/k8s"}, "kube_image_repository"),
    ]:
        with pytest.raises(ConfigurationError, match=key):
            BootstrapSettings.from_extra(extra)
    settings = BootstrapSettings.from_extra(
        {
            "kube_apt_repository": "https://mirror.internal/k8s/v{minor}/deb/",
            "kube_image_repository": "reg.internal:5000/k8s",
        }
    )
    sources = settings.sources("cn-hangzhou", "1.30")
    assert sources.apt_repository == "https://mirror.internal/k8s/v1.30/deb/"
    assert sources.pause_image == "reg.internal:5000/k8s/pause:3.9"


def test_security_rules_and_pool_rows() -> None:
    rules = security_rules("198.18.0.0/15")
    assert {(r["ip_protocol"], r["port_range"]) for r in rules} == {("ALL", "-1/-1"), ("TCP", "6443/6443")}
    rows = node_pool_rows(make_request())
    general = [r for r in rows if r["name"] == "general"]
    assert [(r["min_size"], r["desired_size"], r["max_size"]) for r in general] == [
        (1, 2, 2),
        (0, 1, 2),
        (0, 1, 2),
    ]
    for r in rows:
        assert r["min_size"] <= r["desired_size"] <= r["max_size"]
