"""What a node is: its cluster, role, place and pool, everything of its bootstrap that is not secret."""

from __future__ import annotations

from dataclasses import dataclass

from include.fleet.contract import ROLE_CONTROL_PLANE, ROLE_WORKER

#: Replaced by the instance's own id at boot (the id is only known on the instance).
INSTANCE_ID_PLACEHOLDER = "__YUNFLEET_INSTANCE_ID__"


@dataclass(frozen=True)
class NodeSpec:
    """Where and what a node is.

    :ivar kubernetes_version: the minor, e.g. ``1.31``.
    :ivar index: control-plane position; 0 runs ``kubeadm init``, the others join it.
    """

    cluster: str
    region_id: str
    domain: str
    kubernetes_version: str
    role: str
    zone: str
    instance_type: str
    node_pool: str | None = None
    index: int = 0

    def __post_init__(self) -> None:
        if self.role not in (ROLE_CONTROL_PLANE, ROLE_WORKER):
            raise ValueError(f"role must be {ROLE_CONTROL_PLANE} or {ROLE_WORKER}, got {self.role!r}")
        if self.role == ROLE_WORKER and not self.node_pool:
            raise ValueError("a worker node needs its node_pool")

    @property
    def initialises(self) -> bool:
        """The first control-plane node, which runs ``kubeadm init``."""
        return self.role == ROLE_CONTROL_PLANE and self.index == 0


def node_labels(node: NodeSpec) -> dict[str, str]:
    """The labels the kubelet registers the Node with (contract keys, see ARCHITECTURE.md)."""
    labels = {
        "topology.kubernetes.io/zone": node.zone,
        "node.kubernetes.io/instance-type": node.instance_type,
    }
    if node.node_pool:
        labels["yunfleet.io/node-pool"] = node.node_pool
    return labels


def provider_id(node: NodeSpec) -> str:
    """``alicloud://<region>.<instance-id>`` with the instance id still a placeholder."""
    return f"alicloud://{node.region_id}.{INSTANCE_ID_PLACEHOLDER}"
