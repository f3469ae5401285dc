"""kubeadm configuration documents for a node, in the API version its Kubernetes release reads.

``kubeadm.k8s.io/v1beta4`` from Kubernetes 1.31, ``v1beta3`` below it (kubeadm 1.29 and 1.30 do not
know v1beta4). The shapes that differ, from kubeadm's ``v1beta4/doc.go`` ("changes since v1beta3"):

- ``extraArgs`` (API server, controller manager, scheduler, etcd) and ``nodeRegistration.kubeletExtraArgs``
  are a list of ``{name, value}`` in v1beta4 and a string map in v1beta3;
- the discovery timeout is ``JoinConfiguration.timeouts.discovery`` in v1beta4 and
  ``JoinConfiguration.discovery.timeout`` in v1beta3.

The documents carry secrets (the bootstrap token, on the first control plane the certificate key),
so they travel only inside the delivery secret, never in user-data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from include.provisioning.bootstrap_tokens import DEFAULT_GROUP, BootstrapToken, kubeadm_duration
from include.provisioning.node import INSTANCE_ID_PLACEHOLDER, NodeSpec, node_labels, provider_id

V1BETA3 = "kubeadm.k8s.io/v1beta3"
V1BETA4 = "kubeadm.k8s.io/v1beta4"
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/12"
CRI_SOCKET = "unix:///run/containerd/containerd.sock"
#: Joining nodes may boot before the API server's SLB and DNS name exist; kubeadm's default is 5 min.
DISCOVERY_TIMEOUT = "15m0s"


def kubeadm_api_version(kubernetes_version: str) -> str:
    """``v1beta4`` for Kubernetes 1.31 and later, ``v1beta3`` for 1.29 and 1.30."""
    major, minor = (int(part) for part in kubernetes_version.lstrip("v").split(".")[:2])
    return V1BETA4 if (major, minor) >= (1, 31) else V1BETA3


def extra_args(api: str, args: Mapping[str, str]) -> dict[str, str] | list[dict[str, str]]:
    """Extra flags in the shape of ``api``: a name/value list (v1beta4) or a map (v1beta3)."""
    if api == V1BETA4:
        return [{"name": name, "value": value} for name, value in args.items()]
    return dict(args)


def _node_registration(node: NodeSpec, api: str) -> dict[str, Any]:
    labels = ",".join(f"{k}={v}" for k, v in node_labels(node).items())
    return {
        "name": INSTANCE_ID_PLACEHOLDER,
        "criSocket": CRI_SOCKET,
        "kubeletExtraArgs": extra_args(api, {"node-labels": labels, "provider-id": provider_id(node)}),
    }


def control_plane_endpoint(api_fqdn: str, port: int) -> str:
    return f"{api_fqdn}:{port}"


def init_documents(
    node: NodeSpec,
    *,
    token: BootstrapToken,
    certificate_key: str,
    endpoint_host: str,
    endpoint_port: int,
    kubernetes_release: str,
    image_repository: str,
    issued_at: Any,
) -> list[dict[str, Any]]:
    """``InitConfiguration`` + ``ClusterConfiguration`` of the first control-plane node.

    :param token: the control plane's bootstrap token; its TTL counts from ``issued_at``.
    :param certificate_key: 64 hex chars (AES-256), encrypts the certificates ``--upload-certs`` shares.
    :param kubernetes_release: the exact patch release, e.g. ``v1.31.10``.
    """
    api = kubeadm_api_version(node.kubernetes_version)
    init: dict[str, Any] = {
        "apiVersion": api,
        "kind": "InitConfiguration",
        "bootstrapTokens": [
            {
                "token": token.value,
                "ttl": kubeadm_duration(token.ttl_from(issued_at)),
                "groups": [DEFAULT_GROUP],
                "usages": ["signing", "authentication"],
                "description": f"yunfleet control plane of {node.cluster}",
            }
        ],
        "certificateKey": certificate_key,
        "nodeRegistration": _node_registration(node, api),
    }
    cluster: dict[str, Any] = {
        "apiVersion": api,
        "kind": "ClusterConfiguration",
        "clusterName": node.cluster,
        "kubernetesVersion": kubernetes_release,
        "controlPlaneEndpoint": control_plane_endpoint(endpoint_host, endpoint_port),
        "imageRepository": image_repository,
        "apiServer": {"certSANs": [endpoint_host]},
        "networking": {"podSubnet": POD_SUBNET, "serviceSubnet": SERVICE_SUBNET},
    }
    return [init, cluster]


def join_documents(
    node: NodeSpec,
    *,
    token: BootstrapToken,
    ca_hash: str,
    endpoint_host: str,
    endpoint_port: int,
    certificate_key: str | None = None,
) -> list[dict[str, Any]]:
    """The ``JoinConfiguration`` of a worker, or of a further control plane (``certificate_key`` set)."""
    api = kubeadm_api_version(node.kubernetes_version)
    discovery: dict[str, Any] = {
        "bootstrapToken": {
            "apiServerEndpoint": control_plane_endpoint(endpoint_host, endpoint_port),
            "token": token.value,
            "caCertHashes": [ca_hash],
        }
    }
    join: dict[str, Any] = {
        "apiVersion": api,
        "kind": "JoinConfiguration",
        "discovery": discovery,
        "nodeRegistration": _node_registration(node, api),
    }
    if api == V1BETA4:
        join["timeouts"] = {"discovery": DISCOVERY_TIMEOUT}
    else:
        discovery["timeout"] = DISCOVERY_TIMEOUT
    if certificate_key is not None:
        join["controlPlane"] = {"certificateKey": certificate_key}
    return [join]
