"""ECS UserData for cluster nodes: a real ``#cloud-config`` that installs Kubernetes and runs kubeadm.

The first control-plane node runs ``kubeadm init`` with the cluster's own CA, the others join as
control-plane nodes, workers join with the bootstrap token and the CA hash. Every document also carries
the bootstrap block of docs/conventions.md (``/etc/yunfleet/bootstrap.json``).

Rendering is deterministic: the same request, credentials and intent give byte-identical UserData, so a
retried RunInstances with the same ClientToken sends the same parameters.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import yaml

from include.fleet.contract import API_SERVER_PORT, ROLE_CONTROL_PLANE, ROLE_WORKER, api_fqdn
from include.provisioning.catalog import KUBERNETES_PATCH_RELEASES
from include.provisioning.pki import ClusterCredentials

#: The smaller of the two documented limits for UserData before Base64 (16 KB and 32 KB).
USER_DATA_LIMIT_BYTES = 16 * 1024
KUBEADM_API = "kubeadm.k8s.io/v1beta3"
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/12"
BOOTSTRAP_PATH = "/etc/yunfleet/bootstrap.json"
KUBEADM_CONFIG_PATH = "/etc/kubernetes/kubeadm.yaml"
TOKEN_FILE_PATH = "/etc/kubernetes/yunfleet/tokens.csv"  # noqa: S105 (a path, not a secret)
#: The ECS metadata service, asked at boot for the instance id that goes into the providerID.
METADATA_INSTANCE_ID = "http://100.100.100.200/latest/meta-data/instance-id"
INSTANCE_ID_PLACEHOLDER = "__YUNFLEET_INSTANCE_ID__"
BOOTSTRAP_GROUP = "system:bootstrappers:kubeadm:default-node-token"


class UserDataTooLarge(ValueError):
    """The rendered document exceeds what ECS accepts."""


@dataclass(frozen=True)
class NodeSpec:
    """Where and what a node is: everything of the user-data that is not the cluster's."""

    cluster: str
    region_id: str
    domain: str
    kubernetes_version: str
    role: str
    zone: str
    instance_type: str
    node_pool: str | None = None
    #: Control-plane position: 0 initialises the cluster, the others join it.
    index: int = 0


def bootstrap_block(node: NodeSpec, creds: ClusterCredentials) -> dict[str, Any]:
    """The JSON object written to ``/etc/yunfleet/bootstrap.json`` (docs/conventions.md)."""
    block: dict[str, Any] = {
        "cluster": node.cluster,
        "role": node.role,
        "node_pool": node.node_pool if node.role == ROLE_WORKER else None,
        "kubernetes_version": node.kubernetes_version,
        "join_token": creds.join_token,
    }
    if node.role == ROLE_CONTROL_PLANE:
        block["admin_token"] = creds.admin_token
    return block


def node_labels(node: NodeSpec) -> str:
    labels = {
        "topology.kubernetes.io/zone": node.zone,
        "node.kubernetes.io/instance-type": node.instance_type,
    }
    if node.node_pool:
        labels["yunfleet.io/node-pool"] = node.node_pool
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _node_registration(node: NodeSpec) -> dict[str, Any]:
    return {
        "criSocket": "unix:///run/containerd/containerd.sock",
        "kubeletExtraArgs": {
            "node-labels": node_labels(node),
            "provider-id": f"alicloud://{node.region_id}.{INSTANCE_ID_PLACEHOLDER}",
        },
    }


def kubeadm_documents(node: NodeSpec, creds: ClusterCredentials) -> list[dict[str, Any]]:
    """The kubeadm configuration documents for this node."""
    endpoint = f"{api_fqdn(node.cluster, node.domain)}:{API_SERVER_PORT}"
    if node.role == ROLE_CONTROL_PLANE and node.index == 0:
        return [
            {
                "apiVersion": KUBEADM_API,
                "kind": "InitConfiguration",
                "bootstrapTokens": [
                    {
                        "token": creds.join_token,
                        "ttl": "0s",
                        "groups": [BOOTSTRAP_GROUP],
                        "usages": ["signing", "authentication"],
                        "description": "yunfleet node bootstrap",
                    }
                ],
                "certificateKey": creds.certificate_key,
                "nodeRegistration": _node_registration(node),
            },
            {
                "apiVersion": KUBEADM_API,
                "kind": "ClusterConfiguration",
                "clusterName": node.cluster,
                "kubernetesVersion": KUBERNETES_PATCH_RELEASES[node.kubernetes_version],
                "controlPlaneEndpoint": endpoint,
                "apiServer": {
                    "certSANs": [api_fqdn(node.cluster, node.domain)],
                    "extraArgs": {"token-auth-file": TOKEN_FILE_PATH},
                    "extraVolumes": [
                        {
                            "name": "yunfleet-tokens",
                            "hostPath": "/etc/kubernetes/yunfleet",
                            "mountPath": "/etc/kubernetes/yunfleet",
                            "readOnly": True,
                            "pathType": "Directory",
                        }
                    ],
                },
                "networking": {"podSubnet": POD_SUBNET, "serviceSubnet": SERVICE_SUBNET},
            },
        ]
    join: dict[str, Any] = {
        "apiVersion": KUBEADM_API,
        "kind": "JoinConfiguration",
        "discovery": {
            "bootstrapToken": {
                "apiServerEndpoint": endpoint,
                "token": creds.join_token,
                "caCertHashes": [creds.ca_hash],
            }
        },
        "nodeRegistration": _node_registration(node),
    }
    if node.role == ROLE_CONTROL_PLANE:
        join["controlPlane"] = {"certificateKey": creds.certificate_key}
    return [join]


def _install_commands(version: str) -> list[str]:
    repo = f"https://pkgs.k8s.io/core:/stable:/v{version}/deb/"
    return [
        "modprobe overlay && modprobe br_netfilter",
        "sysctl -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1",
        "swapoff -a",
        "apt-get update && apt-get install -y containerd apt-transport-https ca-certificates curl gpg",
        "mkdir -p /etc/containerd && containerd config default"
        " | sed 's/SystemdCgroup = false/SystemdCgroup = true/' > /etc/containerd/config.toml",
        "systemctl restart containerd",
        f"curl -fsSL {repo}Release.key | gpg --dearmor -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg",
        f"echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] {repo} /'"
        " > /etc/apt/sources.list.d/kubernetes.list",
        "apt-get update && apt-get install -y kubelet kubeadm kubectl",
        "apt-mark hold kubelet kubeadm kubectl",
    ]


def render_cloud_config(node: NodeSpec, creds: ClusterCredentials) -> str:
    """The ``#cloud-config`` document (text) for one node."""
    if node.role not in (ROLE_CONTROL_PLANE, ROLE_WORKER):
        raise ValueError(f"role must be {ROLE_CONTROL_PLANE} or {ROLE_WORKER}, got {node.role!r}")
    if node.role == ROLE_WORKER and not node.node_pool:
        raise ValueError("a worker node needs its node_pool")
    files: list[dict[str, Any]] = [
        {
            "path": BOOTSTRAP_PATH,
            "permissions": "0600",
            "content": json.dumps(bootstrap_block(node, creds), sort_keys=True),
        },
        {
            "path": KUBEADM_CONFIG_PATH,
            "permissions": "0600",
            "content": yaml.safe_dump_all(kubeadm_documents(node, creds), sort_keys=True),
        },
    ]
    if node.role == ROLE_CONTROL_PLANE:
        files += [
            {"path": "/etc/kubernetes/pki/ca.crt", "permissions": "0644", "content": creds.ca_cert_pem},
            {"path": "/etc/kubernetes/pki/ca.key", "permissions": "0600", "content": creds.ca_key_pem},
            {
                "path": TOKEN_FILE_PATH,
                "permissions": "0600",
                "content": f"{creds.admin_token},yunfleet-admin,yunfleet-admin,system:masters\n",
            },
        ]
    if node.role == ROLE_CONTROL_PLANE and node.index == 0:
        kubeadm = f"kubeadm init --config {KUBEADM_CONFIG_PATH} --upload-certs"
    else:
        kubeadm = f"kubeadm join --config {KUBEADM_CONFIG_PATH}"
    commands = [
        *_install_commands(node.kubernetes_version),
        f'sed -i "s/{INSTANCE_ID_PLACEHOLDER}/$(curl -fsS {METADATA_INSTANCE_ID})/" {KUBEADM_CONFIG_PATH}',
        kubeadm,
    ]
    document = {
        "write_files": files,
        "runcmd": [["sh", "-c", command] for command in commands],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=True, width=1000)


def render_user_data(node: NodeSpec, creds: ClusterCredentials) -> str:
    """Base64 UserData for RunInstances; raises :class:`UserDataTooLarge` past the ECS limit."""
    text = render_cloud_config(node, creds).encode()
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
