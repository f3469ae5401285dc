"""VPCs, vSwitches and security groups of the simulated region."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Vpc:
    vpc_id: str
    vpc_name: str
    cidr_block: str
    created_at: float
    is_default: bool = False


@dataclass
class VSwitch:
    vswitch_id: str
    vswitch_name: str
    vpc_id: str
    zone_id: str
    cidr_block: str
    created_at: float
    # Next host offset to hand out inside the CIDR (deterministic allocation).
    next_host: int = 10
    released: list[str] = field(default_factory=list)

    def allocate_ip(self, in_use: set[str]) -> str | None:
        network = ipaddress.ip_network(self.cidr_block)
        while self.released:
            ip = self.released.pop(0)
            if ip not in in_use:
                return ip
        while self.next_host < network.num_addresses - 3:
            ip = str(network.network_address + self.next_host)
            self.next_host += 1
            if ip not in in_use:
                return ip
        return None

    def available_ips(self, in_use: set[str]) -> int:
        network = ipaddress.ip_network(self.cidr_block)
        return max(0, network.num_addresses - 3 - self.next_host) + len(
            [ip for ip in self.released if ip not in in_use]
        )


@dataclass
class Permission:
    ip_protocol: str
    port_range: str
    source_cidr_ip: str
    source_group_id: str
    policy: str
    priority: int
    nic_type: str
    description: str
    direction: str = "ingress"
    created_at: float = 0.0

    def key(self) -> tuple[str, str, str, str, str, str]:
        return (
            self.direction,
            self.ip_protocol,
            self.port_range,
            self.source_cidr_ip,
            self.source_group_id,
            self.policy,
        )


@dataclass
class SecurityGroup:
    security_group_id: str
    security_group_name: str
    description: str
    vpc_id: str
    security_group_type: str
    created_at: float
    tags: dict[str, str] = field(default_factory=dict)
    permissions: list[Permission] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> SecurityGroup:
        data = dict(raw)
        data["permissions"] = [Permission(**p) for p in data.get("permissions", [])]
        return cls(**data)


SEED_VPC = ("vpc-sandbox0000000000001", "yunfleet-sandbox", "198.18.0.0/15")
SEED_VSWITCHES = (
    ("vsw-sandbox00000000000h1", "yunfleet-h", "cn-hangzhou-h", "198.18.0.0/18"),
    ("vsw-sandbox00000000000i1", "yunfleet-i", "cn-hangzhou-i", "198.18.64.0/18"),
    ("vsw-sandbox00000000000j1", "yunfleet-j", "cn-hangzhou-j", "198.18.128.0/18"),
)
