"""Read-only observation of the cloud before planning: the facts validation judges a request by.

The functions take an ECS hook (``operators.hooks.ecs.EcsHook`` or anything with its ``invoke`` and
``models``) so that this module stays free of Airflow imports. Every call here is a read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from include.provisioning.network import Network, choose_network
from include.provisioning.validation import CloudFacts

__all__ = ["Network", "cloud_facts", "instance_vcpus", "network", "stock", "vcpu_quota_remaining", "zones"]

#: DescribeAccountAttributes names of the pay-as-you-go vCPU quota and its usage.
VCPU_QUOTA_ATTRIBUTES = ("max-postpaid-instance-vcpu-count", "used-postpaid-instance-vcpu-count")


def _call(ecs: Any, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
    body = {"RegionId": ecs.conn_config.region_id, **{k: v for k, v in params.items() if v is not None}}
    request = getattr(ecs.models("ecs"), f"{action}Request")().from_map(body)
    result = ecs.invoke(action, request, product="ecs")
    return dict(result or {})


def _items(body: Mapping[str, Any], outer: str, inner: str) -> list[dict[str, Any]]:
    return list((body.get(outer) or {}).get(inner) or [])


def zones(ecs: Any) -> frozenset[str]:
    return frozenset(z["ZoneId"] for z in _items(_call(ecs, "DescribeZones", {}), "Zones", "Zone"))


def network(ecs: Any, wanted_zones: Iterable[str], vpc_id: str | None = None) -> Network | None:
    """The VPC (``vpc_id`` or the first one with a vSwitch in every wanted zone) and its vSwitches."""
    vpcs = _items(_call(ecs, "DescribeVpcs", {"VpcId": vpc_id, "PageSize": 50}), "Vpcs", "Vpc")
    candidates = []
    for vpc in vpcs:
        switches: dict[str, str] = {}
        page = 1
        while True:
            body = _call(
                ecs, "DescribeVSwitches", {"VpcId": vpc["VpcId"], "PageNumber": page, "PageSize": 50}
            )
            items = _items(body, "VSwitches", "VSwitch")
            for vsw in sorted(items, key=lambda v: v["VSwitchId"]):
                switches.setdefault(vsw["ZoneId"], vsw["VSwitchId"])
            if len(items) < 50:
                break
            page += 1
        candidates.append(Network(vpc["VpcId"], vpc.get("CidrBlock", ""), switches))
    return choose_network(candidates, wanted_zones)


def stock(ecs: Any, instance_types: Iterable[str]) -> dict[tuple[str, str], str]:
    """``(zone, instance type) -> StatusCategory`` for every zone of the region, one call per type."""
    found: dict[tuple[str, str], str] = {}
    for instance_type in sorted(set(instance_types)):
        body = _call(
            ecs,
            "DescribeAvailableResource",
            {"DestinationResource": "InstanceType", "InstanceType": instance_type},
        )
        for zone in _items(body, "AvailableZones", "AvailableZone"):
            for resource in _items(zone, "AvailableResources", "AvailableResource"):
                for supported in _items(resource, "SupportedResources", "SupportedResource"):
                    if supported.get("Value") == instance_type:
                        category = supported.get("StatusCategory") or supported.get("Status") or "Unknown"
                        if supported.get("Status") == "SoldOut" and category == "WithStock":
                            category = "WithoutStock"
                        found[(zone["ZoneId"], instance_type)] = str(category)
    return found


def instance_vcpus(ecs: Any, instance_types: Iterable[str]) -> dict[str, int]:
    types = sorted(set(instance_types))
    found: dict[str, int] = {}
    for start in range(0, len(types), 10):
        body = _call(ecs, "DescribeInstanceTypes", {"InstanceTypes": types[start : start + 10]})
        for item in _items(body, "InstanceTypes", "InstanceType"):
            found[item["InstanceTypeId"]] = int(item.get("CpuCoreCount") or 0)
    return found


def vcpu_quota_remaining(ecs: Any) -> int | None:
    """Free vCPUs under the pay-as-you-go quota, or ``None`` when the account does not say."""
    try:
        body = _call(ecs, "DescribeAccountAttributes", {"AttributeName": list(VCPU_QUOTA_ATTRIBUTES)})
    except Exception:  # an endpoint without the action (or without permission) leaves it unknown
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


def cloud_facts(
    ecs: Any,
    slb: Any,
    *,
    region_id: str,
    cluster: str,
    wanted_zones: Iterable[str],
    instance_types: Iterable[str],
    net: Network | None,
    registered_spec: Mapping[str, Any] | None,
    registered_state: str | None,
    check_quota: bool = True,
) -> CloudFacts:
    """Everything :func:`include.provisioning.validation.cloud_errors` needs, read from the cloud."""
    types = sorted(set(instance_types))
    existing = ecs.list_cluster_instances(cluster)
    vcpus = instance_vcpus(ecs, types + [i.instance_type for i in existing])
    lbs = slb.find_load_balancers(cluster=cluster)
    return CloudFacts(
        region_id=region_id,
        zones=zones(ecs),
        vswitches=dict(net.vswitches) if net else {},
        stock=stock(ecs, types),
        registered_spec=registered_spec,
        registered_state=registered_state,
        vcpu_quota_remaining=vcpu_quota_remaining(ecs) if check_quota else None,
        instance_vcpus=vcpus,
        existing_vcpus=sum(vcpus.get(i.instance_type, 0) for i in existing),
        existing_load_balancer=bool(lbs),
        extra={"wanted_zones": sorted(wanted_zones)},
    )
