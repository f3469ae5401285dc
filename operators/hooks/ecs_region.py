"""ECS facts of the region a request is judged by: zones, the VPC network, stock, vCPUs, vCPU quota.

All reads. The answers are Yunfleet's types (``include.provisioning.network.Network``, plain dicts of
ids), so planners and validation never see an SDK body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from include.errors import CloudError, ConfigurationError
from include.provisioning.network import Network, choose_network

#: DescribeAccountAttributes names of the pay-as-you-go vCPU quota and its usage.
VCPU_QUOTA_ATTRIBUTES = ("max-postpaid-instance-vcpu-count", "used-postpaid-instance-vcpu-count")
#: DescribeInstanceTypes takes at most 10 ``InstanceTypes`` per call (ECS API reference).
INSTANCE_TYPES_PER_CALL = 10
#: DescribeVpcs / DescribeVSwitches page size (their maximum is 50).
NETWORK_PAGE_SIZE = 50


def _items(body: Any, outer: str, inner: str) -> list[dict[str, Any]]:
    return list(((body or {}).get(outer) or {}).get(inner) or [])


class RegionFactsMixin:
    """Region reads of :class:`operators.hooks.ecs.EcsHook`."""

    invoke: Any
    invoke_pages: Any
    _request: Any

    def _read(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.invoke(action, self._request(action, params)) or {})

    def zones(self) -> frozenset[str]:
        """Ids of the zones of the connection's region (DescribeZones)."""
        return frozenset(z["ZoneId"] for z in _items(self._read("DescribeZones", {}), "Zones", "Zone"))

    def network(self, zones: Iterable[str], vpc_id: str | None = None) -> Network | None:
        """The VPC to place a cluster in: ``vpc_id``, or the first one with a vSwitch in every zone of
        ``zones`` (else the one covering most of them; ``None`` when the region has no VPC)."""
        vpcs = self.invoke_pages(
            "DescribeVpcs", {"VpcId": vpc_id}, items=("Vpcs", "Vpc"), page_size=NETWORK_PAGE_SIZE
        )
        candidates = []
        for vpc in vpcs:
            switches: dict[str, str] = {}
            pages = self.invoke_pages(
                "DescribeVSwitches",
                {"VpcId": vpc["VpcId"]},
                items=("VSwitches", "VSwitch"),
                page_size=NETWORK_PAGE_SIZE,
            )
            for vsw in sorted(pages, key=lambda v: v["VSwitchId"]):
                switches.setdefault(vsw["ZoneId"], vsw["VSwitchId"])
            candidates.append(Network(vpc["VpcId"], vpc.get("CidrBlock", ""), switches))
        return choose_network(candidates, zones)

    def stock_by_zone(self, instance_types: Iterable[str]) -> dict[tuple[str, str], str]:
        """``{(zone, instance type): StatusCategory}`` over every zone of the region, one call per type.

        ``StatusCategory`` is ``WithStock``, ``ClosedWithStock``, ``WithoutStock`` or
        ``ClosedWithoutStock`` (DescribeAvailableResource); a ``SoldOut`` status counts as
        ``WithoutStock`` whatever the category says.
        """
        found: dict[tuple[str, str], str] = {}
        for instance_type in sorted(set(instance_types)):
            body = self._read(
                "DescribeAvailableResource",
                {"DestinationResource": "InstanceType", "InstanceType": instance_type},
            )
            for zone in _items(body, "AvailableZones", "AvailableZone"):
                for resource in _items(zone, "AvailableResources", "AvailableResource"):
                    for supported in _items(resource, "SupportedResources", "SupportedResource"):
                        if supported.get("Value") != instance_type:
                            continue
                        category = supported.get("StatusCategory") or supported.get("Status") or "Unknown"
                        if supported.get("Status") == "SoldOut" and category == "WithStock":
                            category = "WithoutStock"
                        found[(zone["ZoneId"], instance_type)] = str(category)
        return found

    def instance_vcpus(self, instance_types: Iterable[str]) -> dict[str, int]:
        """``{instance type: vCPUs}`` (DescribeInstanceTypes, 10 types per call); unknown types are absent."""
        types = sorted(set(instance_types))
        found: dict[str, int] = {}
        for start in range(0, len(types), INSTANCE_TYPES_PER_CALL):
            batch = types[start : start + INSTANCE_TYPES_PER_CALL]
            body = self._read("DescribeInstanceTypes", {"InstanceTypes": batch})
            for item in _items(body, "InstanceTypes", "InstanceType"):
                found[item["InstanceTypeId"]] = int(item.get("CpuCoreCount") or 0)
        return found

    def vcpu_quota_remaining(self) -> int | None:
        """Free vCPUs under the pay-as-you-go quota, or ``None`` when the account does not say (no
        such attribute, or DescribeAccountAttributes refused or unknown to the endpoint)."""
        try:
            body = self._read("DescribeAccountAttributes", {"AttributeName": list(VCPU_QUOTA_ATTRIBUTES)})
        except (CloudError, ConfigurationError):
            return None
        values: dict[str, int] = {}
        for item in _items(body, "AccountAttributeItems", "AccountAttributeItem"):
            for value in _items(item, "AttributeValues", "ValueItem"):
                try:
                    values[item["AttributeName"]] = int(str(value.get("Value")))
                except (TypeError, ValueError):
                    continue
        quota, used = (values.get(name) for name in VCPU_QUOTA_ATTRIBUTES)
        if quota is None or used is None:
            return None
        return quota - used
