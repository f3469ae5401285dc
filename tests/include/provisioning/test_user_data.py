"""Rendered user-data: valid for cloud-init itself, installable in its region, free of secrets."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from include.provisioning.bootstrap_tokens import new_bootstrap_token
from include.provisioning.cloudinit import (
    BOOTSTRAP_PATH,
    FETCH_SCRIPT_PATH,
    USER_DATA_LIMIT_BYTES,
    Delivery,
    UserDataTooLarge,
    fetch_script,
    parse_user_data,
    render_cloud_config,
    render_user_data,
)
from include.provisioning.delivery import Endpoint, init_bundle, join_bundle, new_control_plane_bootstrap
from include.provisioning.node import NodeSpec
from include.provisioning.pki import generate_credentials
from include.provisioning.sources import node_sources

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
REGIONS = ["cn-hangzhou", "ap-southeast-1"]
ROLES = [("control-plane", 0, None), ("control-plane", 1, None), ("worker", 0, "general")]


def node(region: str, role: str, index: int = 0, pool: str | None = None, minor: str = "1.31") -> NodeSpec:
    zone = "cn-hangzhou-h" if region == "cn-hangzhou" else f"{region}a"
    return NodeSpec("demo", region, "fleet.example.com", minor, role, zone, "ecs.g7.xlarge", pool, index)


def cloud_config(spec: NodeSpec) -> str:
    return render_cloud_config(
        spec, node_sources(spec.region_id, spec.kubernetes_version), Delivery(f"yunfleet/demo/{spec.role}-x")
    )


def file_contents(document: dict[str, Any]) -> dict[str, str]:
    """The files of ``write_files``, decoded as cloud-init decodes them."""
    out = {}
    for entry in document["write_files"]:
        raw = entry["content"]
        if entry.get("encoding") == "gz+b64":
            raw = gzip.decompress(base64.b64decode(raw)).decode()
        out[entry["path"]] = raw
    return out


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(("role", "index", "pool"), ROLES)
def test_cloud_init_accepts_the_user_data(
    cloud_init_schema: Callable[[str], tuple[int, str]], region: str, role: str, index: int, pool: str | None
) -> None:
    code, output = cloud_init_schema(cloud_config(node(region, role, index, pool)))
    assert code == 0, output
    assert "Valid cloud-config" in output


def test_cloud_init_validation_catches_a_broken_document(
    cloud_init_schema: Callable[[str], tuple[int, str]],
) -> None:
    broken = cloud_config(node("cn-hangzhou", "worker", pool="general")).replace(
        "permissions: '0644'", "permissions: 644"
    )
    code, output = cloud_init_schema(broken)
    assert code != 0 and "permissions" in output


@pytest.mark.parametrize(
    ("region", "apt", "pause"),
    [
        (
            "cn-hangzhou",
            "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.31/deb/",
            "registry.cn-hangzhou.aliyuncs.com/google_containers/pause:3.10",
        ),
        ("ap-southeast-1", "https://pkgs.k8s.io/core:/stable:/v1.31/deb/", "registry.k8s.io/pause:3.10"),
    ],
)
def test_packages_and_pause_image_come_from_the_regions_sources(region: str, apt: str, pause: str) -> None:
    commands = [c[-1] for c in yaml.safe_load(cloud_config(node(region, "worker", pool="general")))["runcmd"]]
    text = "\n".join(commands)
    assert f"curl -fsSL {apt}Release.key" in text and f"] {apt} /'" in text
    assert f'sandbox_image = ).*#\\1"{pause}"#' in text and f"sandbox = ).*#\\1'{pause}'#" in text
    other = "pkgs.k8s.io" if region == "cn-hangzhou" else "mirrors.aliyun.com"
    assert other not in text


@pytest.mark.parametrize(("role", "index", "pool"), ROLES)
def test_user_data_names_its_secret_and_fetches_it_before_kubeadm(
    role: str, index: int, pool: str | None
) -> None:
    spec = node("cn-hangzhou", role, index, pool)
    document = parse_user_data(
        render_user_data(
            spec, node_sources("cn-hangzhou", "1.31"), Delivery("yunfleet/demo/x-1", "kms.example:443")
        )
    )
    files = file_contents(document)
    block = json.loads(files[BOOTSTRAP_PATH])
    assert block == {
        "cluster": "demo",
        "role": role,
        "node_pool": pool,
        "kubernetes_version": "1.31",
        "region_id": "cn-hangzhou",
        "secret_name": "yunfleet/demo/x-1",
        "kms_endpoint": "kms.example:443",
    }
    assert files[FETCH_SCRIPT_PATH] == fetch_script()
    commands = [c[-1] for c in document["runcmd"]]
    fetch = next(i for i, c in enumerate(commands) if FETCH_SCRIPT_PATH in c)
    kubeadm = next(i for i, c in enumerate(commands) if c.startswith("kubeadm "))
    assert fetch < kubeadm == len(commands) - 1
    assert commands[kubeadm].startswith(
        "kubeadm init" if (role, index) == ("control-plane", 0) else "kubeadm join"
    )
    assert "rm -f /etc/kubernetes/kubeadm.yaml" in commands[kubeadm]


def test_rendering_is_deterministic_and_within_the_limit() -> None:
    spec = node("cn-hangzhou", "control-plane")
    sources, delivery = node_sources("cn-hangzhou", "1.31"), Delivery("yunfleet/demo/cp-0")
    first = render_user_data(spec, sources, delivery)
    assert first == render_user_data(spec, sources, delivery)
    assert len(base64.b64decode(first)) < USER_DATA_LIMIT_BYTES
    with pytest.raises(UserDataTooLarge):
        render_user_data(spec, sources, Delivery("x" * USER_DATA_LIMIT_BYTES))


def test_no_role_receives_a_private_key_an_admin_credential_or_a_token_in_user_data() -> None:
    """Everything secret a node gets travels in its delivery secret; user-data has none of it."""
    creds = generate_credentials("demo", now=NOW)
    shared = new_control_plane_bootstrap(NOW)
    worker_token = new_bootstrap_token(NOW)
    endpoint = Endpoint("api.demo.fleet.example.com", 6443)
    secrets = [
        creds.ca_key_pem,
        creds.admin_key_pem,
        creds.admin_cert_pem,
        shared.token.value,
        shared.token.secret,
        shared.certificate_key,
        worker_token.value,
        worker_token.secret,
    ]
    for region in REGIONS:
        for role, index, pool in ROLES:
            spec = node(region, role, index, pool)
            # what the delivery secret of this node holds (so the test knows what must not leak)
            bundle = (
                init_bundle(
                    spec,
                    creds,
                    shared,
                    endpoint=endpoint,
                    kubernetes_release="v1.31.10",
                    image_repository="registry.k8s.io",
                    now=NOW,
                )
                if spec.initialises
                else join_bundle(spec, token=worker_token, ca_hash=creds.ca_hash, endpoint=endpoint)
            )
            assert any(s in bundle for s in secrets)
            raw = render_user_data(spec, node_sources(region, "1.31"), Delivery("yunfleet/demo/x"))
            document = parse_user_data(raw)
            texts = [base64.b64decode(raw).decode(), *file_contents(document).values()]
            for text in texts:
                assert "PRIVATE KEY" not in text
                assert not re.search(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b", text), "a bootstrap token"
                assert "BEGIN CERTIFICATE" not in text
                for secret in secrets:
                    assert secret not in text
                for marker in ("InitConfiguration", "JoinConfiguration", "certificateKey", "token-auth-file"):
                    assert marker not in text
            block = json.loads(file_contents(document)[BOOTSTRAP_PATH])
            assert not [key for key in block if "token" in key or "key" in key.replace("kms", "")]
