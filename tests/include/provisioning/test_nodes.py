"""Cluster PKI, cloud-init + kubeadm user-data, and the admin kubeconfig."""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from cryptography import x509

from include.fleet.contract import kube_server_url
from include.provisioning.cloudinit import (
    BOOTSTRAP_PATH,
    KUBEADM_CONFIG_PATH,
    USER_DATA_LIMIT_BYTES,
    NodeSpec,
    UserDataTooLarge,
    parse_user_data,
    render_user_data,
)
from include.provisioning.kubeconfig import render_kubeconfig
from include.provisioning.pki import (
    BOOTSTRAP_TOKEN_PATTERN,
    ClusterCredentials,
    ca_cert_hash,
    generate_bootstrap_token,
    generate_credentials,
)


@pytest.fixture(scope="module")
def creds() -> ClusterCredentials:
    return generate_credentials("demo")


def node(role: str = "control-plane", index: int = 0, pool: str | None = None) -> NodeSpec:
    return NodeSpec(
        cluster="demo",
        region_id="cn-hangzhou",
        domain="fleet.example.com",
        kubernetes_version="1.31",
        role=role,
        zone="cn-hangzhou-i",
        instance_type="ecs.g7.xlarge",
        node_pool=pool,
        index=index,
    )


def files(user_data: str) -> dict[str, dict[str, str]]:
    return {f["path"]: f for f in parse_user_data(user_data)["write_files"]}


def test_bootstrap_tokens_have_kubeadm_format() -> None:
    tokens = {generate_bootstrap_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(BOOTSTRAP_TOKEN_PATTERN.match(t) for t in tokens)


def test_ca_is_a_ca_and_hash_matches_kubeadm_format(creds: ClusterCredentials) -> None:
    cert = x509.load_pem_x509_certificate(creds.ca_cert_pem.encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca_cert_hash(creds.ca_cert_pem).startswith("sha256:") and len(creds.ca_hash) == 7 + 64
    assert "PRIVATE KEY" in creds.ca_key_pem
    assert creds.admin_token not in repr(creds) and creds.join_token not in repr(creds)
    assert ClusterCredentials.from_json(creds.to_json()) == creds


def test_first_control_plane_inits_with_bootstrap_block(creds: ClusterCredentials) -> None:
    user_data = render_user_data(node(), creds)
    text = base64.b64decode(user_data).decode()
    assert text.startswith("#cloud-config\n")
    written = files(user_data)
    block = json.loads(written[BOOTSTRAP_PATH]["content"])
    assert block == {
        "cluster": "demo",
        "role": "control-plane",
        "node_pool": None,
        "kubernetes_version": "1.31",
        "join_token": creds.join_token,
        "admin_token": creds.admin_token,
    }
    docs = list(yaml.safe_load_all(written[KUBEADM_CONFIG_PATH]["content"]))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["InitConfiguration", "ClusterConfiguration"]
    init, cluster = docs
    assert init["bootstrapTokens"][0]["token"] == creds.join_token
    assert cluster["controlPlaneEndpoint"] == "api.demo.fleet.example.com:6443"
    assert cluster["kubernetesVersion"].startswith("v1.31.")
    labels = init["nodeRegistration"]["kubeletExtraArgs"]["node-labels"]
    assert "topology.kubernetes.io/zone=cn-hangzhou-i" in labels
    assert init["nodeRegistration"]["kubeletExtraArgs"]["provider-id"].startswith("alicloud://cn-hangzhou.")
    assert written["/etc/kubernetes/pki/ca.key"]["content"] == creds.ca_key_pem
    commands = [c[-1] for c in parse_user_data(user_data)["runcmd"]]
    assert commands[-1].startswith("kubeadm init --config")


def test_other_control_planes_join_as_control_plane(creds: ClusterCredentials) -> None:
    written = files(render_user_data(node(index=1), creds))
    (join,) = yaml.safe_load_all(written[KUBEADM_CONFIG_PATH]["content"])
    assert join["kind"] == "JoinConfiguration"
    assert join["controlPlane"]["certificateKey"] == creds.certificate_key


def test_worker_joins_without_admin_secrets(creds: ClusterCredentials) -> None:
    user_data = render_user_data(node("worker", pool="general"), creds)
    text = base64.b64decode(user_data).decode()
    assert creds.admin_token not in text and creds.ca_key_pem not in text
    written = files(user_data)
    block = json.loads(written[BOOTSTRAP_PATH]["content"])
    assert block["role"] == "worker" and block["node_pool"] == "general" and "admin_token" not in block
    (join,) = yaml.safe_load_all(written[KUBEADM_CONFIG_PATH]["content"])
    discovery = join["discovery"]["bootstrapToken"]
    assert discovery["caCertHashes"] == [creds.ca_hash] and discovery["token"] == creds.join_token
    assert "yunfleet.io/node-pool=general" in join["nodeRegistration"]["kubeletExtraArgs"]["node-labels"]
    assert "controlPlane" not in join


def test_rendering_is_deterministic_and_within_limit(creds: ClusterCredentials) -> None:
    first = render_user_data(node(), creds)
    assert first == render_user_data(node(), creds)
    assert len(base64.b64decode(first)) < USER_DATA_LIMIT_BYTES


def test_worker_without_pool_is_refused(creds: ClusterCredentials) -> None:
    with pytest.raises(ValueError, match="needs its node_pool"):
        render_user_data(node("worker"), creds)


def test_oversized_user_data_is_refused(creds: ClusterCredentials) -> None:
    huge = ClusterCredentials(**{**creds.to_json(), "ca_key_pem": "x" * USER_DATA_LIMIT_BYTES})
    with pytest.raises(UserDataTooLarge, match="bytes, ECS accepts"):
        render_user_data(node(), huge)


def test_kubeconfig(creds: ClusterCredentials) -> None:
    url = kube_server_url("demo", "fleet.example.com", "https://127.0.0.1:8471/k8s/{cluster}")
    assert url == "https://127.0.0.1:8471/k8s/demo"
    assert kube_server_url("demo", "fleet.example.com") == "https://api.demo.fleet.example.com:6443"
    doc = yaml.safe_load(render_kubeconfig("demo", url, creds.ca_cert_pem, creds.admin_token))
    assert doc["clusters"][0]["cluster"]["server"] == url
    ca = base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    assert ca == creds.ca_cert_pem
    assert doc["users"][0]["user"]["token"] == creds.admin_token
    assert doc["current-context"] == doc["contexts"][0]["name"]
