"""Node bootstrap pieces: sources per region, bootstrap tokens, the cluster PKI and the kubeconfig."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from include.fleet.contract import kube_server_url
from include.provisioning.bootstrap_tokens import (
    TOKEN_PATTERN,
    BootstrapToken,
    kubeadm_duration,
    new_bootstrap_token,
    token_secret_manifest,
)
from include.provisioning.delivery import delivery_secret_name
from include.provisioning.kubeconfig import render_kubeconfig
from include.provisioning.pki import ClusterCredentials, admin_group, ca_cert_hash, generate_credentials
from include.provisioning.sources import SourceSettingError, in_mainland_china, node_sources

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("region", "minor", "apt", "images", "pause"),
    [
        (
            "cn-hangzhou",
            "1.31",
            "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.31/deb/",
            "registry.cn-hangzhou.aliyuncs.com/google_containers",
            "3.10",
        ),
        (
            "cn-beijing",
            "1.29",
            "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/deb/",
            "registry.cn-hangzhou.aliyuncs.com/google_containers",
            "3.9",
        ),
        ("cn-hongkong", "1.30", "https://pkgs.k8s.io/core:/stable:/v1.30/deb/", "registry.k8s.io", "3.9"),
        ("ap-southeast-1", "1.31", "https://pkgs.k8s.io/core:/stable:/v1.31/deb/", "registry.k8s.io", "3.10"),
        ("eu-central-1", "1.31", "https://pkgs.k8s.io/core:/stable:/v1.31/deb/", "registry.k8s.io", "3.10"),
    ],
)
def test_sources_by_region(region: str, minor: str, apt: str, images: str, pause: str) -> None:
    sources = node_sources(region, minor)
    assert sources.apt_repository == apt and sources.apt_key_url == apt + "Release.key"
    assert sources.image_repository == images and sources.pause_image == f"{images}/pause:{pause}"
    assert in_mainland_china(region) == (images != "registry.k8s.io")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"apt_repository": "https://mirror/k8s"}, "ending with '/'"),
        ({"apt_repository": "https://mirror/{major}/"}, "placeholder"),
        ({"image_repository": "registry.example.com/K8S"}, "kube_image_repository"),
        ({"image_repository": "registry.example.com/k8s:v1"}, "kube_image_repository"),
    ],
)
def test_bad_source_overrides_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SourceSettingError, match=message):
        node_sources("cn-hangzhou", "1.31", **kwargs)
    with pytest.raises(SourceSettingError, match="no pause image"):
        node_sources("cn-hangzhou", "1.28")


def test_bootstrap_tokens_are_random_short_lived_and_well_formed() -> None:
    tokens = {new_bootstrap_token(NOW).value for _ in range(50)}
    assert len(tokens) == 50 and all(TOKEN_PATTERN.match(t) for t in tokens)
    token = new_bootstrap_token(NOW, dt.timedelta(hours=2))
    assert token.expires_at == NOW + dt.timedelta(hours=2)
    assert kubeadm_duration(token.ttl_from(NOW)) == "2h0m0s" and token.secret not in repr(token)
    assert BootstrapToken.from_json(token.to_json()) == token
    for bad in (dt.timedelta(0), dt.timedelta(hours=25)):
        with pytest.raises(ValueError, match="TTL"):
            new_bootstrap_token(NOW, bad)


def test_token_secret_is_what_kubeadm_token_create_makes() -> None:
    token = new_bootstrap_token(NOW)
    secret = token_secret_manifest(token, "yunfleet general/cn-hangzhou-h")
    assert secret["metadata"] == {
        "name": f"bootstrap-token-{token.token_id}",
        "namespace": "kube-system",
        "labels": {"app.kubernetes.io/managed-by": "yunfleet"},
    }
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    data = secret["stringData"]
    assert (data["token-id"], data["token-secret"]) == (token.token_id, token.secret)
    assert data["expiration"] == "2026-11-25T14:00:00Z"
    assert data["usage-bootstrap-authentication"] == data["usage-bootstrap-signing"] == "true"
    assert data["auth-extra-groups"] == "system:bootstrappers:kubeadm:default-node-token"
    with pytest.raises(ValueError, match="group"):
        token_secret_manifest(token, "x", groups=("system:masters",))


def test_delivery_secret_names_are_stable_per_task_and_follow_kms_rules() -> None:
    name = delivery_secret_name("demo", "workers/general/cn-hangzhou-h", "yf-abc")
    assert name == delivery_secret_name("demo", "workers/general/cn-hangzhou-h", "yf-abc")
    assert name != delivery_secret_name("demo", "workers/general/cn-hangzhou-h", "yf-abd")
    assert name.startswith("yunfleet/demo/workers-general-cn-hangzhou-h-") and len(name) <= 192
    assert delivery_secret_name("demo", "cp 0#x", "n").startswith("yunfleet/demo/cp-0-x-")


def test_ca_and_admin_certificate_are_kubeadm_shaped() -> None:
    creds = generate_credentials("demo", "1.31", NOW)
    ca = x509.load_pem_x509_certificate(creds.ca_cert_pem.encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert creds.ca_hash == ca_cert_hash(creds.ca_cert_pem) and len(creds.ca_hash) == 7 + 64
    admin = x509.load_pem_x509_certificate(creds.admin_cert_pem.encode())
    admin.verify_directly_issued_by(ca)
    assert admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes-admin"
    assert (
        admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "kubeadm:cluster-admins"
    )
    usages = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert admin.not_valid_after_utc - NOW <= dt.timedelta(days=365)
    assert ClusterCredentials.from_json(creds.to_json()) == creds
    assert creds.ca_key_pem not in repr(creds) and creds.admin_key_pem not in repr(creds)
    assert admin_group("1.28") == "system:masters" and admin_group("v1.29.15") == "kubeadm:cluster-admins"


def test_kubeconfig_carries_the_client_certificate() -> None:
    creds = generate_credentials("demo", now=NOW)
    url = kube_server_url("demo", "fleet.example.com", "https://127.0.0.1:8471/k8s/{cluster}")
    assert url == "https://127.0.0.1:8471/k8s/demo"
    assert kube_server_url("demo", "fleet.example.com") == "https://api.demo.fleet.example.com:6443"
    doc = yaml.safe_load(
        render_kubeconfig("demo", url, creds.ca_cert_pem, creds.admin_cert_pem, creds.admin_key_pem)
    )
    user = doc["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data"}
    assert base64.b64decode(user["client-certificate-data"]).decode() == creds.admin_cert_pem
    assert (
        base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        == creds.ca_cert_pem
    )
    assert doc["current-context"] == "kubernetes-admin@demo"
    with pytest.raises(ValueError, match="re-run provision_cluster"):
        render_kubeconfig("demo", url, creds.ca_cert_pem, "", "")
