"""Typed views of the params of a provisioning or decommissioning run.

Params arrive as plain JSON (already schema-checked by Airflow); these dataclasses give the planner and
the validation one shape to work with, and turn back into JSON for XComs and the registry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def _without_unset_image(data: dict[str, Any]) -> dict[str, Any]:
    """JSON of a spec; an unset ``image_id`` is left out (specs stored before it existed compare equal)."""
    if data.get("image_id") is None:
        data.pop("image_id", None)
    return data


@dataclass(frozen=True)
class ControlPlaneSpec:
    instance_type: str
    count: int
    #: explicit ECS image; ``None`` means the connection's image (family) setting
    image_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _without_unset_image(asdict(self))


@dataclass(frozen=True)
class NodePoolSpec:
    name: str
    instance_type: str
    zones: tuple[str, ...]
    min_size: int
    max_size: int
    desired_size: int
    #: explicit ECS image; ``None`` means the connection's image (family) setting
    image_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["zones"] = list(self.zones)
        return _without_unset_image(data)


@dataclass(frozen=True)
class ProvisionRequest:
    cluster_name: str
    ticket_id: str
    region_id: str
    zones: tuple[str, ...]
    kubernetes_version: str
    control_plane: ControlPlaneSpec
    node_pools: tuple[NodePoolSpec, ...]
    dry_run: bool = False
    callback_url: str | None = None
    #: Node pools that named no zones of their own (they get all of the cluster's zones).
    defaulted_pool_zones: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ProvisionRequest:
        """Build from DAG params (schema-valid JSON). Pools without zones get the cluster's zones."""
        zones = tuple(params["zones"])
        pools = []
        defaulted = []
        for pool in params["node_pools"]:
            pool_zones = pool.get("zones")
            if not pool_zones:
                defaulted.append(pool["name"])
            pools.append(
                NodePoolSpec(
                    name=pool["name"],
                    instance_type=pool["instance_type"],
                    zones=tuple(pool_zones) if pool_zones else zones,
                    min_size=int(pool["min_size"]),
                    max_size=int(pool["max_size"]),
                    desired_size=int(pool["desired_size"]),
                    image_id=pool.get("image_id") or None,
                )
            )
        cp = params["control_plane"]
        return cls(
            cluster_name=params["cluster_name"],
            ticket_id=params["ticket_id"],
            region_id=params["region_id"],
            zones=zones,
            kubernetes_version=str(params["kubernetes_version"]),
            control_plane=ControlPlaneSpec(
                instance_type=cp["instance_type"], count=int(cp["count"]), image_id=cp.get("image_id") or None
            ),
            node_pools=tuple(pools),
            dry_run=bool(params.get("dry_run", False)),
            callback_url=params.get("callback_url") or None,
            defaulted_pool_zones=tuple(defaulted),
        )

    def to_params(self) -> dict[str, Any]:
        """The inverse of :meth:`from_params` (pool zones always explicit)."""
        return {
            "cluster_name": self.cluster_name,
            "ticket_id": self.ticket_id,
            "region_id": self.region_id,
            "zones": list(self.zones),
            "kubernetes_version": self.kubernetes_version,
            "control_plane": self.control_plane.to_json(),
            "node_pools": [pool.to_json() for pool in self.node_pools],
            "dry_run": self.dry_run,
            "callback_url": self.callback_url,
        }

    def instance_types(self) -> set[str]:
        return {self.control_plane.instance_type} | {pool.instance_type for pool in self.node_pools}
