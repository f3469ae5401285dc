"""The VPC a cluster is placed in, and how it is chosen among the VPCs of the region."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Network:
    """A VPC and its vSwitches.

    :ivar vpc_id: the VPC.
    :ivar cidr_block: its IPv4 CIDR (the security group admits node traffic from it).
    :ivar vswitches: ``{zone id: vSwitch id}``, the first vSwitch (by id) of the VPC in each zone.
    """

    vpc_id: str
    cidr_block: str
    vswitches: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"vpc_id": self.vpc_id, "cidr_block": self.cidr_block, "vswitches": dict(self.vswitches)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Network:
        return cls(data["vpc_id"], data["cidr_block"], dict(data["vswitches"]))


def choose_network(candidates: Iterable[Network], wanted_zones: Iterable[str]) -> Network | None:
    """The first VPC (by id) with a vSwitch in every wanted zone; else the one covering most of them.

    ``None`` only when there is no candidate; validation reports the zones a partial choice lacks.
    """
    wanted = set(wanted_zones)
    best: Network | None = None
    for candidate in sorted(candidates, key=lambda n: n.vpc_id):
        if wanted <= set(candidate.vswitches):
            return candidate
        if best is None or len(wanted & set(candidate.vswitches)) > len(wanted & set(best.vswitches)):
            best = candidate
    return best
