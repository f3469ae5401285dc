"""ECS UserData for cluster nodes: a real ``#cloud-config`` that installs Kubernetes and runs kubeadm.

The document holds no secret. It carries the bootstrap block of docs/conventions.md
(``/etc/yunfleet/bootstrap.json``: cluster, role, pool, version and the *name* of the node's KMS
delivery secret), the fetch script (:mod:`include.provisioning.node_fetch`) and the commands:
install containerd with the sandbox (pause) image of the cluster's image repository, install
kubelet/kubeadm/kubectl from the region's apt repository (:mod:`include.provisioning.sources`),
fetch the delivery secret with the instance's RAM role, then ``kubeadm init`` (first control-plane
node, ``--upload-certs``) or ``kubeadm join`` with the delivered configuration, which is removed
afterwards.

Rendering is deterministic: the same inputs give byte-identical UserData, so a retried
RunInstances with the same ClientToken sends the same parameters.
"""

from __future__ import annotations

import base64
import gzip
import importlib.resources
import json
import shlex
from dataclasses import dataclass
from typing import Any

import yaml

from include.provisioning.delivery import KUBEADM_CONFIG_PATH
from include.provisioning.node import NodeSpec
from include.provisioning.sources import NodeSources

#: The smaller of the two documented limits for UserData before Base64 (16 KB and 32 KB).
USER_DATA_LIMIT_BYTES = 16 * 1024
BOOTSTRAP_PATH = "/etc/yunfleet/bootstrap.json"
FETCH_SCRIPT_PATH = "/usr/local/sbin/yunfleet-fetch-bootstrap"
APT_KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg"


class UserDataTooLarge(ValueError):
    """The rendered document exceeds what ECS accepts."""


@dataclass(frozen=True)
class Delivery:
    """Where the node finds its secret material: a KMS secret name and the endpoint to ask.

    :ivar kms_endpoint: ``host[:port]`` (``https``) or a full ``http(s)://host[:port]``; None means
        the region's VPC endpoint ``kms-vpc.<region>.aliyuncs.com``.
    """

    secret_name: str
    kms_endpoint: str | None = None


def bootstrap_block(node: NodeSpec, delivery: Delivery) -> dict[str, Any]:
    """The JSON object written to ``/etc/yunfleet/bootstrap.json`` (docs/conventions.md)."""
    return {
        "cluster": node.cluster,
        "role": node.role,
        "node_pool": node.node_pool,
        "kubernetes_version": node.kubernetes_version,
        "region_id": node.region_id,
        "secret_name": delivery.secret_name,
        "kms_endpoint": delivery.kms_endpoint,
    }


def fetch_script() -> str:
    """The source of the node-side fetch script shipped in user-data."""
    return importlib.resources.files("include.provisioning").joinpath("node_fetch.py").read_text()


def install_commands(sources: NodeSources) -> list[str]:
    """Kernel settings, containerd (systemd cgroups, the cluster's pause image) and the kube packages."""
    pause = sources.pause_image
    containerd_config = (
        "mkdir -p /etc/containerd && containerd config default | sed -E"
        " -e 's/SystemdCgroup = false/SystemdCgroup = true/'"
        f" -e 's#^([[:space:]]*sandbox_image = ).*#\\1\"{pause}\"#'"
        f" -e \"s#^([[:space:]]*sandbox = ).*#\\1'{pause}'#\""
        " > /etc/containerd/config.toml"
    )
    repo = sources.apt_repository
    return [
        "modprobe overlay && modprobe br_netfilter",
        "sysctl -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1",
        "swapoff -a",
        "apt-get update && apt-get install -y containerd apt-transport-https ca-certificates curl gpg",
        containerd_config,
        "systemctl restart containerd",
        "install -d -m 0755 /etc/apt/keyrings",
        f"curl -fsSL {shlex.quote(sources.apt_key_url)} | gpg --dearmor --yes -o {APT_KEYRING}",
        f"echo 'deb [signed-by={APT_KEYRING}] {repo} /' > /etc/apt/sources.list.d/kubernetes.list",
        "apt-get update && apt-get install -y kubelet kubeadm kubectl",
        "apt-mark hold kubelet kubeadm kubectl",
    ]


def render_cloud_config(node: NodeSpec, sources: NodeSources, delivery: Delivery) -> str:
    """The ``#cloud-config`` document (text) for one node."""
    files: list[dict[str, Any]] = [
        {
            "path": BOOTSTRAP_PATH,
            "permissions": "0644",
            "content": json.dumps(bootstrap_block(node, delivery), sort_keys=True),
        },
        {
            "path": FETCH_SCRIPT_PATH,
            "permissions": "0700",
            "encoding": "gz+b64",
            "content": base64.b64encode(gzip.compress(fetch_script().encode(), mtime=0)).decode(),
        },
    ]
    if node.initialises:
        kubeadm = f"kubeadm init --config {KUBEADM_CONFIG_PATH} --upload-certs"
    else:
        kubeadm = f"kubeadm join --config {KUBEADM_CONFIG_PATH}"
    commands = [
        *install_commands(sources),
        f"python3 {FETCH_SCRIPT_PATH} {BOOTSTRAP_PATH}",
        f"{kubeadm}; status=$?; rm -f {KUBEADM_CONFIG_PATH}; exit $status",
    ]
    document = {
        "write_files": files,
        "runcmd": [["sh", "-c", command] for command in commands],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=True, width=1000)


def render_user_data(node: NodeSpec, sources: NodeSources, delivery: Delivery) -> str:
    """Base64 UserData for RunInstances; raises :class:`UserDataTooLarge` past the ECS limit."""
    text = render_cloud_config(node, sources, delivery).encode()
    if len(text) > USER_DATA_LIMIT_BYTES:
        raise UserDataTooLarge(
            f"user-data for {node.cluster} {node.role} is {len(text)} bytes, "
            f"ECS accepts {USER_DATA_LIMIT_BYTES}"
        )
    return base64.b64encode(text).decode()


def parse_user_data(user_data: str) -> dict[str, Any]:
    """Decode Base64 UserData back into the cloud-config mapping (tests and diagnostics)."""
    text = base64.b64decode(user_data).decode()
    if not text.startswith("#cloud-config\n"):
        raise ValueError("user-data is not a #cloud-config document")
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise ValueError("user-data is not a mapping")
    return loaded
