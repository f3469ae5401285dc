"""What a wait for Ready nodes has found: which nodes are Ready, which are missing and why.

A wait that cannot finish must say what is missing, and stop early when waiting cannot help. This
module turns what the Kubernetes API (the nodes) and ECS (the zones it reports unavailable) say into
one report: the Ready nodes, each missing node with its pool, zone, instance id and its node's last
Ready condition (or that no Node registered), and whether a missing node sits in a zone the cloud
reports unavailable. Pure: the hook gathers the facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from include.provisioning.verify import instance_id_of
from operators.utils.kubernetes_models import NodeInfo

#: How many nodes a summary names before it says "and N more".
SUMMARY_LIMIT = 5


@dataclass(frozen=True)
class ExpectedNode:
    """An instance that should become a Ready node, with what is known of it."""

    instance_id: str
    pool: str | None = None
    zone: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> ExpectedNode:
        """From an instance id or ``{"instance_id", "pool"?, "zone"?}`` (the form triggers serialize)."""
        if isinstance(raw, ExpectedNode):
            return raw
        if isinstance(raw, str) and raw:
            return cls(raw)
        if isinstance(raw, Mapping) and raw.get("instance_id"):
            return cls(str(raw["instance_id"]), raw.get("pool") or None, raw.get("zone") or None)
        raise ValueError(
            f"an expected node is an instance id or {{'instance_id', 'pool', 'zone'}}, got {raw!r}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "pool": self.pool, "zone": self.zone}


@dataclass(frozen=True)
class MissingNode:
    """A node that is not Ready: what it should be and what the API shows of it."""

    instance_id: str | None
    pool: str | None
    zone: str | None
    node: str | None
    ready: str | None  # the Ready condition's status: "False", "Unknown", or None without a Node
    reason: str | None
    message: str | None

    def describe(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"pool {self.pool}" if self.pool else "",
                f"zone {self.zone}" if self.zone else "",
                f"instance {self.instance_id}" if self.instance_id else "",
            )
            if part
        )
        if self.node is None:
            state = "no Node registered"
        else:
            state = f"node {self.node} Ready={self.ready or 'no condition'}"
            why = ": ".join(part for part in (self.reason, self.message) if part)
            if why:
                state += f" ({why})"
        return f"{where}: {state}" if where else state

    def to_dict(self) -> dict[str, Any]:
        return {
            "InstanceId": self.instance_id,
            "Pool": self.pool,
            "Zone": self.zone,
            "Node": self.node,
            "Ready": self.ready,
            "Reason": self.reason,
            "Message": self.message,
        }


@dataclass(frozen=True)
class NodeReadiness:
    """The state of a wait for ``wanted`` Ready nodes."""

    wanted: int
    ready: tuple[NodeInfo, ...]
    missing: tuple[MissingNode, ...]
    unavailable_zones: Mapping[str, str] = field(default_factory=dict)

    @property
    def enough(self) -> bool:
        return len(self.ready) >= self.wanted

    @property
    def missing_zones(self) -> set[str]:
        return {m.zone for m in self.missing if m.zone}

    @property
    def blocking_zones(self) -> dict[str, str]:
        """Unavailable zones that hold a missing node (the wait stops on these)."""
        if self.enough:
            return {}
        return {z: why for z, why in sorted(self.unavailable_zones.items()) if z in self.missing_zones}

    def summary(self) -> str:
        """One line: how many are Ready out of how many, which are, which are missing and why."""
        text = f"{len(self.ready)} of {self.wanted} nodes Ready"
        if self.ready:
            names = sorted(_label(n) for n in self.ready)
            text += f" (ready: {_first(names)})"
        if self.missing:
            text += f"; missing: {_first([m.describe() for m in self.missing], sep='; ')}"
        elif not self.enough:
            text += "; no other node has registered"
        for zone, why in self.blocking_zones.items():
            text += f"; zone {zone} is unavailable ({why}), so its nodes cannot become Ready"
        return text

    def to_waiter_result(self) -> dict[str, Any]:
        """The waiter operation's result: ``Enough`` ends the wait, ``Blocked`` fails it."""
        return {
            "Nodes": [{"Name": n.name, "Ready": True} for n in self.ready]
            + [{"Name": m.node, "Ready": False} for m in self.missing if m.node],
            "ReadyCount": len(self.ready),
            "Enough": self.enough,
            "Blocked": bool(self.blocking_zones),
            "Missing": [m.to_dict() for m in self.missing],
            "UnavailableZones": dict(self.blocking_zones),
            "Summary": self.summary(),
        }


def _label(node: NodeInfo) -> str:
    extra = ", ".join(p for p in (node.node_pool, node.zone) if p)
    return f"{node.name} ({extra})" if extra else node.name


def _first(items: Sequence[str], sep: str = ", ") -> str:
    more = f"{sep}and {len(items) - SUMMARY_LIMIT} more" if len(items) > SUMMARY_LIMIT else ""
    return sep.join(items[:SUMMARY_LIMIT]) + more


def _missing(node: NodeInfo | None, expected: ExpectedNode | None) -> MissingNode:
    return MissingNode(
        instance_id=expected.instance_id
        if expected
        else (instance_id_of(node.provider_id) if node else None),
        pool=(expected.pool if expected else None) or (node.node_pool if node else None),
        zone=(expected.zone if expected else None) or (node.zone if node else None),
        node=node.name if node else None,
        ready=node.ready_status if node else None,
        reason=node.ready_reason if node else None,
        message=node.ready_message if node else None,
    )


def assess(
    nodes: Iterable[NodeInfo],
    wanted: int,
    expected: Iterable[ExpectedNode] = (),
    unavailable_zones: Mapping[str, str] | None = None,
) -> NodeReadiness:
    """Judge a wait for ``wanted`` Ready nodes among ``nodes``.

    With ``expected`` instances, each one without a Ready node (matched by providerID
    ``alicloud://<region>.<instance-id>`` or by a node named after the instance) is missing; without,
    every node that is not Ready is. ``unavailable_zones`` maps zone ids the cloud reports unavailable
    to why.
    """
    nodes = list(nodes)
    ready = tuple(sorted((n for n in nodes if n.ready), key=lambda n: n.name))
    by_instance: dict[str, NodeInfo] = {}
    for node in nodes:
        by_instance.setdefault(instance_id_of(node.provider_id) or node.name, node)
    expected = [ExpectedNode.parse(e) for e in expected]
    if expected:
        missing = [
            _missing(by_instance.get(e.instance_id), e)
            for e in expected
            if not (by_instance.get(e.instance_id) and by_instance[e.instance_id].ready)
        ]
    else:
        missing = [_missing(n, None) for n in sorted(nodes, key=lambda n: n.name) if not n.ready]
    return NodeReadiness(wanted, ready, tuple(missing), dict(unavailable_zones or {}))
