"""ECS region-level actions: regions, zones, stock, instance types, VPCs, security groups, tags."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.core.errors import InvalidParameter
from sandbox.core.params import Params, paginate
from sandbox.core.timefmt import iso_seconds
from sandbox.ecs import exceptions as exc
from sandbox.ecs.models import TokenRecord, check_tags
from sandbox.ecs.network import Permission, SecurityGroup
from sandbox.world import REGION_ID, REGION_NAME

if TYPE_CHECKING:
    from sandbox.world import World


def describe_regions(world: World, p: Params) -> dict[str, Any]:
    region = {
        "RegionId": REGION_ID,
        "LocalName": REGION_NAME,
        "Status": "available",
        "RegionEndpoint": "ecs.cn-hangzhou.aliyuncs.com",
    }
    return {"Regions": {"Region": [region]}}


def describe_zones(world: World, p: Params) -> dict[str, Any]:
    zones = []
    for zone in world.zones.values():
        types = [] if zone.outage else sorted(world.ecs.instance_types)
        zones.append(
            {
                "ZoneId": zone.zone_id,
                "LocalName": zone.local_name,
                "ZoneType": "AvailabilityZone",
                "AvailableResourceCreation": {
                    "ResourceTypes": [] if zone.outage else ["Instance", "Disk", "VSwitch"]
                },
                "AvailableInstanceTypes": {"InstanceTypes": types},
                "AvailableDiskCategories": {"DiskCategories": ["cloud_essd", "cloud_auto"]},
                "AvailableVolumeCategories": {"VolumeCategories": ["cloud_essd"]},
                "NetworkTypes": {"NetworkTypes": ["vpc"]},
            }
        )
    return {"Zones": {"Zone": zones}}


def describe_available_resource(world: World, p: Params) -> dict[str, Any]:
    destination = p.req("DestinationResource")
    if destination not in ("Zone", "InstanceType", "IoOptimized", "Network", "SystemDisk", "DataDisk", "ddh"):
        raise InvalidParameter("DestinationResource")
    zone_filter = p.str("ZoneId")
    if zone_filter:
        world.ecs.check_zone(zone_filter)
    type_filter = p.str("InstanceType")
    if type_filter and type_filter not in world.ecs.instance_types:
        raise exc.InvalidInstanceTypeNotFound(f"The specified InstanceType does not exist: {type_filter}.")
    types = [type_filter] if type_filter else sorted(world.ecs.instance_types)
    available_zones = []
    for zone in world.zones.values():
        if zone_filter and zone.zone_id != zone_filter:
            continue
        supported = []
        for name in types:
            status, category, _ = world.ecs.stock_status(zone.zone_id, name)
            supported.append({"Value": name, "Status": status, "StatusCategory": category})
        any_stock = any(s["Status"] == "Available" for s in supported)
        zone_status = "Available" if any_stock else "SoldOut"
        zone_category = (
            "WithStock" if any_stock else ("ClosedWithoutStock" if zone.outage else "WithoutStock")
        )
        resources = []
        if destination == "InstanceType":
            resources = [{"Type": "InstanceType", "SupportedResources": {"SupportedResource": supported}}]
        elif destination == "Zone":
            resources = [
                {
                    "Type": "Zone",
                    "SupportedResources": {
                        "SupportedResource": [
                            {"Value": zone.zone_id, "Status": zone_status, "StatusCategory": zone_category}
                        ]
                    },
                }
            ]
        available_zones.append(
            {
                "RegionId": REGION_ID,
                "ZoneId": zone.zone_id,
                "Status": zone_status,
                "StatusCategory": zone_category,
                "AvailableResources": {"AvailableResource": resources},
            }
        )
    return {"AvailableZones": {"AvailableZone": available_zones}}


def describe_instance_types(world: World, p: Params) -> dict[str, Any]:
    wanted = p.list("InstanceTypes", limit=10)
    family = p.str("InstanceTypeFamily")
    types = [t for t in world.ecs.instance_types.values() if not wanted or t.instance_type in wanted]
    if family:
        types = [t for t in types if t.family == family]
    return {
        "NextToken": "",
        "InstanceTypes": {
            "InstanceType": [
                {
                    "InstanceTypeId": t.instance_type,
                    "InstanceTypeFamily": t.family,
                    "CpuCoreCount": t.cpu,
                    "MemorySize": t.memory_gib,
                    "InstanceCategory": "General-purpose",
                    "CpuArchitecture": "X86",
                    "GPUAmount": 0,
                    "EniQuantity": 3,
                    "InstanceFamilyLevel": "EnterpriseLevel",
                }
                for t in sorted(types, key=lambda t: t.instance_type)
            ]
        },
    }


def describe_vpcs(world: World, p: Params) -> dict[str, Any]:
    vpcs = list(world.ecs.vpcs.values())
    vpc_id = p.str("VpcId")
    if vpc_id:
        vpcs = [v for v in vpcs if v.vpc_id in vpc_id.split(",")]
    page_number = p.int("PageNumber", 1, minimum=1) or 1
    page_size = p.int("PageSize", 10, minimum=1, maximum=50) or 10
    rows = [
        {
            "VpcId": v.vpc_id,
            "VpcName": v.vpc_name,
            "CidrBlock": v.cidr_block,
            "RegionId": REGION_ID,
            "Status": "Available",
            "IsDefault": v.is_default,
            "CreationTime": iso_seconds(v.created_at),
            "Description": "",
            "VSwitchIds": {
                "VSwitchId": [s.vswitch_id for s in world.ecs.vswitches.values() if s.vpc_id == v.vpc_id]
            },
        }
        for v in paginate(vpcs, page_number, page_size)
    ]
    return {"TotalCount": len(vpcs), "PageNumber": page_number, "PageSize": page_size, "Vpcs": {"Vpc": rows}}


def describe_vswitches(world: World, p: Params) -> dict[str, Any]:
    switches = list(world.ecs.vswitches.values())
    for attr, name in (("vpc_id", "VpcId"), ("zone_id", "ZoneId"), ("vswitch_id", "VSwitchId")):
        value = p.str(name)
        if value:
            switches = [s for s in switches if getattr(s, attr) == value]
    page_number = p.int("PageNumber", 1, minimum=1) or 1
    page_size = p.int("PageSize", 10, minimum=1, maximum=50) or 10
    in_use = {i.private_ip for i in world.ecs.instances.values()}
    rows = [
        {
            "VSwitchId": s.vswitch_id,
            "VSwitchName": s.vswitch_name,
            "VpcId": s.vpc_id,
            "ZoneId": s.zone_id,
            "CidrBlock": s.cidr_block,
            "Status": "Available",
            "IsDefault": False,
            "Description": "",
            "AvailableIpAddressCount": s.available_ips(in_use),
            "CreationTime": iso_seconds(s.created_at),
        }
        for s in paginate(switches, page_number, page_size)
    ]
    return {
        "TotalCount": len(switches),
        "PageNumber": page_number,
        "PageSize": page_size,
        "VSwitches": {"VSwitch": rows},
    }


def create_security_group(world: World, p: Params) -> dict[str, Any]:
    tags = p.tags()
    check_tags(tags)
    token = p.str("ClientToken")
    fingerprint = json.dumps({k: v for k, v in sorted(p.values.items()) if k != "ClientToken"})
    if token:
        record = world.ecs.client_tokens.get("sg:" + token)
        if record is not None:
            if record.fingerprint != fingerprint:
                raise exc.IdempotentParameterMismatch()
            return {"SecurityGroupId": record.instance_ids[0]}
    group = world.ecs.create_security_group(
        p.str("VpcId"),
        p.str("SecurityGroupName", "") or "",
        p.str("Description", "") or "",
        p.str("SecurityGroupType", "normal") or "normal",
        tags,
    )
    if token:
        world.ecs.client_tokens["sg:" + token] = TokenRecord(fingerprint, [group.security_group_id])
    return {"SecurityGroupId": group.security_group_id}


def _permission(raw: dict[str, str]) -> Permission:
    protocol = (raw.get("IpProtocol") or "").upper()
    if not protocol:
        raise InvalidParameter("Permissions.N.IpProtocol", "Every rule needs an IpProtocol.")
    port_range = raw.get("PortRange") or ""
    if not port_range:
        raise InvalidParameter("Permissions.N.PortRange", "Every rule needs a PortRange.")
    policy = (raw.get("Policy") or "accept").lower()
    if policy not in ("accept", "drop"):
        raise InvalidParameter("Permissions.N.Policy", "Valid values: accept, drop.")
    try:
        priority = int(raw.get("Priority") or 1)
    except ValueError as error:
        raise InvalidParameter("Permissions.N.Priority", "It must be an integer from 1 to 100.") from error
    if not 1 <= priority <= 100:
        raise InvalidParameter("Permissions.N.Priority", "It must be an integer from 1 to 100.")
    if not raw.get("SourceCidrIp") and not raw.get("SourceGroupId"):
        raise InvalidParameter("Permissions.N.SourceCidrIp", "A rule needs SourceCidrIp or SourceGroupId.")
    return Permission(
        protocol,
        port_range,
        raw.get("SourceCidrIp", ""),
        raw.get("SourceGroupId", ""),
        policy,
        priority,
        raw.get("NicType", "intranet"),
        raw.get("Description", ""),
    )


def authorize_security_group(world: World, p: Params) -> dict[str, Any]:
    group_id = p.req("SecurityGroupId")
    rules = p.structs("Permissions", limit=100)
    if not rules and "IpProtocol" in p:
        rules = [
            {
                k: v
                for k, v in p.values.items()
                if k
                in (
                    "IpProtocol",
                    "PortRange",
                    "SourceCidrIp",
                    "SourceGroupId",
                    "Policy",
                    "Priority",
                    "NicType",
                    "Description",
                )
            }
        ]
    if not rules:
        raise InvalidParameter("Permissions", "At least one rule is required.")
    world.ecs.authorize_security_group(group_id, [_permission(r) for r in rules])
    return {}


def _group_view(world: World, g: SecurityGroup) -> dict[str, Any]:
    return {
        "SecurityGroupId": g.security_group_id,
        "SecurityGroupName": g.security_group_name,
        "Description": g.description,
        "VpcId": g.vpc_id,
        "SecurityGroupType": g.security_group_type,
        "CreationTime": iso_seconds(g.created_at),
        "RuleCount": len(g.permissions),
        "ServiceManaged": False,
        "EcsCount": sum(
            1 for i in world.ecs.instances.values() if g.security_group_id in i.security_group_ids
        ),
        "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in g.tags.items()]},
    }


def describe_security_groups(world: World, p: Params) -> dict[str, Any]:
    groups = list(world.ecs.security_groups.values())
    single = p.str("SecurityGroupId")
    if single:
        groups = [g for g in groups if g.security_group_id == single]
    many = p.json_str_list("SecurityGroupIds")
    if many is not None:
        groups = [g for g in groups if g.security_group_id in set(many)]
    vpc_id = p.str("VpcId")
    if vpc_id:
        groups = [g for g in groups if g.vpc_id == vpc_id]
    name = p.str("SecurityGroupName")
    if name:
        groups = [g for g in groups if g.security_group_name == name]
    for key, value in p.tags().items():
        groups = [g for g in groups if key in g.tags and (value == "" or g.tags[key] == value)]
    page_number = p.int("PageNumber", 1, minimum=1) or 1
    page_size = p.int("PageSize", 10, minimum=1, maximum=50) or 10
    return {
        "RegionId": REGION_ID,
        "TotalCount": len(groups),
        "PageNumber": page_number,
        "PageSize": page_size,
        "NextToken": "",
        "SecurityGroups": {
            "SecurityGroup": [_group_view(world, g) for g in paginate(groups, page_number, page_size)]
        },
    }


def describe_security_group_attribute(world: World, p: Params) -> dict[str, Any]:
    group = world.ecs.get_security_group(p.req("SecurityGroupId"))
    permissions = [
        {
            "IpProtocol": r.ip_protocol,
            "PortRange": r.port_range,
            "SourceCidrIp": r.source_cidr_ip,
            "SourceGroupId": r.source_group_id,
            "Policy": r.policy.capitalize(),
            "Priority": str(r.priority),
            "NicType": r.nic_type,
            "Description": r.description,
            "Direction": r.direction,
            "CreateTime": iso_seconds(r.created_at),
        }
        for r in group.permissions
    ]
    return {
        "RegionId": REGION_ID,
        "SecurityGroupId": group.security_group_id,
        "VpcId": group.vpc_id,
        "SecurityGroupName": group.security_group_name,
        "Description": group.description,
        "InnerAccessPolicy": "Accept",
        "Permissions": {"Permission": permissions},
    }


def delete_security_group(world: World, p: Params) -> dict[str, Any]:
    world.ecs.delete_security_group(p.req("SecurityGroupId"))
    return {}


_RESOURCE_TYPES = {"instance": "ALIYUN::ECS::INSTANCE", "securitygroup": "ALIYUN::ECS::SECURITYGROUP"}


def _tag_targets(world: World, p: Params) -> tuple[str, list[Any]]:
    resource_type = (p.req("ResourceType")).lower()
    if resource_type not in _RESOURCE_TYPES:
        raise exc.InvalidResourceType(f"The specified ResourceType is not supported: {resource_type}.")
    ids = p.list("ResourceId", limit=50)
    if resource_type == "instance":
        return resource_type, [world.ecs.get_instance(i) for i in ids]
    return resource_type, [world.ecs.get_security_group(i) for i in ids]


def tag_resources(world: World, p: Params) -> dict[str, Any]:
    _, targets = _tag_targets(world, p)
    if not targets:
        raise InvalidParameter("ResourceId.N", "At least one resource id is required.")
    tags = p.tags()
    if not tags:
        raise InvalidParameter("Tag.N", "At least one tag is required.")
    check_tags(tags)
    for target in targets:
        if len({**target.tags, **tags}) > 20:
            raise InvalidParameter("Tag", "A resource can have at most 20 tags.")
    for target in targets:
        target.tags.update(tags)
    return {}


def untag_resources(world: World, p: Params) -> dict[str, Any]:
    _, targets = _tag_targets(world, p)
    keys = p.list("TagKey", limit=20)
    for target in targets:
        for key in list(target.tags) if p.bool("All") or not keys else keys:
            target.tags.pop(key, None)
    return {}


def list_tag_resources(world: World, p: Params) -> dict[str, Any]:
    resource_type, targets = _tag_targets(world, p)
    if not p.list("ResourceId"):
        pool = (
            world.ecs.instances.values()
            if resource_type == "instance"
            else world.ecs.security_groups.values()
        )
        targets = list(pool)
    wanted = p.tags()
    rows = []
    for target in targets:
        if any(target.tags.get(k) != v and not (v == "" and k in target.tags) for k, v in wanted.items()):
            continue
        target_id = getattr(target, "instance_id", None) or target.security_group_id
        for key, value in target.tags.items():
            rows.append(
                {
                    "ResourceId": target_id,
                    "ResourceType": _RESOURCE_TYPES[resource_type],
                    "TagKey": key,
                    "TagValue": value,
                }
            )
    token = p.str("NextToken")
    offset = int(token) if token and token.isdigit() else 0
    page = rows[offset : offset + 50]
    next_token = str(offset + 50) if offset + 50 < len(rows) else ""
    return {"NextToken": next_token, "TagResources": {"TagResource": page}}


#: Account attributes the sandbox answers: the pay-as-you-go vCPU quota and what running instances use.
ACCOUNT_ATTRIBUTES = ("max-postpaid-instance-vcpu-count", "used-postpaid-instance-vcpu-count")


def describe_account_attributes(world: World, p: Params) -> dict[str, Any]:
    names = p.list("AttributeName", limit=8) or list(ACCOUNT_ATTRIBUTES)
    unknown = [name for name in names if name not in ACCOUNT_ATTRIBUTES]
    if unknown:
        raise InvalidParameter("AttributeName", f"Unsupported attribute {unknown[0]!r}.")
    values = {
        "max-postpaid-instance-vcpu-count": world.ecs.vcpu_quota,
        "used-postpaid-instance-vcpu-count": world.ecs.used_vcpus(),
    }
    items = [
        {
            "AttributeName": name,
            "AttributeValues": {
                "ValueItem": [{"Value": str(values[name]), "Count": 1, "InstanceChargeType": "PostPaid"}]
            },
        }
        for name in names
    ]
    return {"AccountAttributeItems": {"AccountAttributeItem": items}}


REGION_ACTIONS = {
    "DescribeRegions": describe_regions,
    "DescribeAccountAttributes": describe_account_attributes,
    "DescribeZones": describe_zones,
    "DescribeAvailableResource": describe_available_resource,
    "DescribeInstanceTypes": describe_instance_types,
    "DescribeVpcs": describe_vpcs,
    "DescribeVSwitches": describe_vswitches,
    "CreateSecurityGroup": create_security_group,
    "AuthorizeSecurityGroup": authorize_security_group,
    "DescribeSecurityGroups": describe_security_groups,
    "DescribeSecurityGroupAttribute": describe_security_group_attribute,
    "DeleteSecurityGroup": delete_security_group,
    "TagResources": tag_resources,
    "UntagResources": untag_resources,
    "ListTagResources": list_tag_resources,
}
