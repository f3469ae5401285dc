"""ECS instance actions: parse query parameters, call the model, serialise the response."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from sandbox.core.errors import ApiError, InvalidParameter
from sandbox.core.params import Params, paginate
from sandbox.core.timefmt import iso_minutes
from sandbox.ecs import exceptions as exc
from sandbox.ecs.images import IMAGE_ACTIONS
from sandbox.ecs.models import STATUSES, Instance, check_tags
from sandbox.ecs.responses_region import REGION_ACTIONS
from sandbox.world import REGION_ID

if TYPE_CHECKING:
    from sandbox.world import World


def instance_view(world: World, i: Instance) -> dict[str, Any]:
    itype = world.ecs.instance_types[i.instance_type]
    image = world.ecs.images.get(i.image_id)
    return {
        "InstanceId": i.instance_id,
        "InstanceName": i.instance_name,
        "HostName": i.hostname,
        "Description": i.description,
        "Status": i.status,
        "RegionId": REGION_ID,
        "ZoneId": i.zone_id,
        "InstanceType": i.instance_type,
        "InstanceTypeFamily": itype.family,
        "Cpu": itype.cpu,
        "Memory": int(itype.memory_gib * 1024),
        "ImageId": i.image_id,
        "OSType": image.os_type if image else "linux",
        "OSName": image.os_name if image else i.image_id.split("_x64")[0].replace("_", " "),
        "CreationTime": iso_minutes(i.created_at),
        "StartTime": iso_minutes(i.started_at),
        "ExpiredTime": "2099-12-31T15:59Z",
        "InstanceChargeType": i.instance_charge_type,
        "InternetChargeType": "PayByTraffic",
        "InternetMaxBandwidthOut": i.internet_max_bandwidth_out,
        "InternetMaxBandwidthIn": 100,
        "InstanceNetworkType": "vpc",
        "DeletionProtection": i.deletion_protection,
        "MetadataOptions": {
            "HttpEndpoint": i.http_endpoint,
            "HttpTokens": i.http_tokens,
            "HttpPutResponseHopLimit": 1,
        },
        "StoppedMode": "Not-applicable" if i.status != "Stopped" else "KeepCharging",
        "VpcAttributes": {
            "VpcId": i.vpc_id,
            "VSwitchId": i.vswitch_id,
            "NatIpAddress": "",
            "PrivateIpAddress": {"IpAddress": [i.private_ip]},
        },
        "PublicIpAddress": {"IpAddress": []},
        "InnerIpAddress": {"IpAddress": []},
        "EipAddress": {"IpAddress": "", "AllocationId": "", "InternetChargeType": ""},
        "SecurityGroupIds": {"SecurityGroupId": list(i.security_group_ids)},
        "NetworkInterfaces": {
            "NetworkInterface": [
                {
                    "NetworkInterfaceId": "eni-" + i.instance_id[2:],
                    "PrimaryIpAddress": i.private_ip,
                    "Type": "Primary",
                    "MacAddress": _mac(i.instance_id),
                }
            ]
        },
        "OperationLocks": {"LockReason": []},
        "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in i.tags.items()]},
    }


def _mac(instance_id: str) -> str:
    digits = "".join(f"{ord(c) % 256:02x}" for c in instance_id[-5:])
    return "00:16:3e:" + ":".join(digits[j : j + 2] for j in range(0, 6, 2))


def _security_group_ids(p: Params) -> list[str]:
    ids = p.list("SecurityGroupIds", limit=10)
    single = p.str("SecurityGroupId")
    if single:
        ids = [single, *[i for i in ids if i != single]]
    return ids


def run_instances(world: World, p: Params) -> dict[str, Any]:
    tags = p.tags()
    check_tags(tags)
    fingerprint = json.dumps({k: v for k, v in sorted(p.values.items()) if k != "ClientToken"})
    client_token = p.str("ClientToken")
    if client_token and (len(client_token) > 64 or not client_token.isascii()):
        raise InvalidParameter("ClientToken", "It must be ASCII and at most 64 characters.")
    ids = world.ecs.run_instances(
        image_id=p.req("ImageId"),
        instance_type=p.req("InstanceType"),
        vswitch_id=p.req("VSwitchId"),
        security_group_ids=_security_group_ids(p),
        zone_id=p.str("ZoneId"),
        amount=p.int("Amount", 1) or 1,
        min_amount=p.int("MinAmount"),
        instance_name=p.str("InstanceName"),
        hostname=p.str("HostName"),
        unique_suffix=p.bool("UniqueSuffix"),
        user_data=p.str("UserData"),
        tags=tags,
        description=p.str("Description", "") or "",
        internet_max_bandwidth_out=p.int("InternetMaxBandwidthOut", 0, minimum=0, maximum=100) or 0,
        deletion_protection=p.bool("DeletionProtection"),
        ram_role_name=p.str("RamRoleName"),
        http_endpoint=p.enum("HttpEndpoint", ("enabled", "disabled"), "enabled") or "enabled",
        http_tokens=p.enum("HttpTokens", ("optional", "required"), "optional") or "optional",
        client_token=client_token,
        fingerprint=fingerprint,
        dry_run=p.bool("DryRun"),
    )
    return {"InstanceIdSets": {"InstanceIdSet": ids}, "OrderId": "", "TradePrice": 0.0}


def _filter_instances(world: World, p: Params) -> list[Instance]:
    instances = list(world.ecs.instances.values())
    ids = p.json_str_list("InstanceIds")
    if ids is not None:
        wanted = set(ids)
        instances = [i for i in instances if i.instance_id in wanted]
    status = p.str("Status")
    if status is not None and status not in STATUSES:
        raise InvalidParameter("Status", f"Valid values: {', '.join(STATUSES)}.")
    ips = p.json_str_list("PrivateIpAddresses")
    name = p.str("InstanceName")
    filters = {
        "zone_id": p.str("ZoneId"),
        "status": status,
        "vswitch_id": p.str("VSwitchId"),
        "vpc_id": p.str("VpcId"),
        "instance_type": p.str("InstanceType"),
        "image_id": p.str("ImageId"),
    }
    for attr, value in filters.items():
        if value is not None:
            instances = [i for i in instances if getattr(i, attr) == value]
    if ips is not None:
        instances = [i for i in instances if i.private_ip in set(ips)]
    if name is not None:
        if name.endswith("*"):
            instances = [i for i in instances if i.instance_name.startswith(name[:-1])]
        else:
            instances = [i for i in instances if i.instance_name == name]
    group = p.str("SecurityGroupId")
    if group is not None:
        instances = [i for i in instances if group in i.security_group_ids]
    for key, value in p.tags().items():
        instances = [i for i in instances if key in i.tags and (value == "" or i.tags[key] == value)]
    return instances


def _decode_token(token: str) -> int:
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError) as error:
        raise exc.InvalidNextToken() from error
    if offset < 0:
        raise exc.InvalidNextToken()
    return offset


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def describe_instances(world: World, p: Params) -> dict[str, Any]:
    instances = _filter_instances(world, p)
    if "NextToken" in p or "MaxResults" in p:
        max_results = min(100, max(10, p.int("MaxResults", 10) or 10))
        token = p.str("NextToken")
        offset = _decode_token(token) if token else 0
        page = instances[offset : offset + max_results]
        more = offset + max_results < len(instances)
        return {
            "TotalCount": len(instances),
            "NextToken": _encode_token(offset + max_results) if more else "",
            "Instances": {"Instance": [instance_view(world, i) for i in page]},
        }
    page_number = p.int("PageNumber", 1, minimum=1) or 1
    page_size = p.int("PageSize", 10, minimum=1, maximum=100) or 10
    page = paginate(instances, page_number, page_size)
    return {
        "TotalCount": len(instances),
        "PageNumber": page_number,
        "PageSize": page_size,
        "NextToken": "",
        "Instances": {"Instance": [instance_view(world, i) for i in page]},
    }


def describe_instance_status(world: World, p: Params) -> dict[str, Any]:
    instances = list(world.ecs.instances.values())
    ids = p.list("InstanceId", limit=100)
    if ids:
        instances = [i for i in instances if i.instance_id in set(ids)]
    zone_id = p.str("ZoneId")
    if zone_id:
        instances = [i for i in instances if i.zone_id == zone_id]
    page_number = p.int("PageNumber", 1, minimum=1) or 1
    page_size = p.int("PageSize", 10, minimum=1, maximum=50) or 10
    page = paginate(instances, page_number, page_size)
    return {
        "TotalCount": len(instances),
        "PageNumber": page_number,
        "PageSize": page_size,
        "InstanceStatuses": {
            "InstanceStatus": [{"InstanceId": i.instance_id, "Status": i.status} for i in page]
        },
    }


def _batch(world: World, p: Params, operation: str) -> dict[str, Any]:
    ids = p.list("InstanceId", limit=100)
    if not ids:
        raise InvalidParameter("InstanceId.N", "At least one instance id is required.")
    mode = p.enum("BatchOptimization", ("AllTogether", "SuccessFirst"), "AllTogether")
    method = getattr(world.ecs, f"{operation}_instance")
    if mode == "AllTogether":
        for instance_id in ids:
            instance = world.ecs.get_instance(instance_id)
            allowed = {
                "start": ("Stopped", "Running", "Starting"),
                "stop": ("Running", "Stopped", "Stopping"),
                "reboot": ("Running",),
            }[operation]
            if instance.status not in allowed:
                raise exc.IncorrectInstanceStatus(
                    f"The current status of the resource does not support this operation: "
                    f"{instance_id} is {instance.status}."
                )
        if p.bool("DryRun"):
            raise exc.DryRunOperation()
    responses = []
    for instance_id in ids:
        try:
            previous, current = method(instance_id)
            responses.append(
                {
                    "InstanceId": instance_id,
                    "Code": "200",
                    "Message": "success",
                    "PreviousStatus": previous,
                    "CurrentStatus": current,
                }
            )
        except ApiError as error:
            responses.append(
                {
                    "InstanceId": instance_id,
                    "Code": error.code,
                    "Message": error.message,
                    "PreviousStatus": "",
                    "CurrentStatus": "",
                }
            )
    return {"InstanceResponses": {"InstanceResponse": responses}}


def start_instances(world: World, p: Params) -> dict[str, Any]:
    return _batch(world, p, "start")


def stop_instances(world: World, p: Params) -> dict[str, Any]:
    return _batch(world, p, "stop")


def reboot_instances(world: World, p: Params) -> dict[str, Any]:
    return _batch(world, p, "reboot")


def start_instance(world: World, p: Params) -> dict[str, Any]:
    world.ecs.start_instance(p.req("InstanceId"))
    return {}


def stop_instance(world: World, p: Params) -> dict[str, Any]:
    world.ecs.stop_instance(p.req("InstanceId"))
    return {}


def reboot_instance(world: World, p: Params) -> dict[str, Any]:
    world.ecs.reboot_instance(p.req("InstanceId"))
    return {}


def delete_instances(world: World, p: Params) -> dict[str, Any]:
    ids = p.list("InstanceId", limit=100)
    if not ids:
        raise InvalidParameter("InstanceId.N", "At least one instance id is required.")
    world.ecs.delete_instances(ids, force=p.bool("Force"), dry_run=p.bool("DryRun"))
    return {}


def delete_instance(world: World, p: Params) -> dict[str, Any]:
    world.ecs.delete_instances([p.req("InstanceId")], force=p.bool("Force"), dry_run=p.bool("DryRun"))
    return {}


def describe_user_data(world: World, p: Params) -> dict[str, Any]:
    instance = world.ecs.get_instance(p.req("InstanceId"))
    return {"InstanceId": instance.instance_id, "RegionId": REGION_ID, "UserData": instance.user_data or ""}


ACTIONS = {
    "RunInstances": run_instances,
    "DescribeInstances": describe_instances,
    "DescribeInstanceStatus": describe_instance_status,
    "StartInstances": start_instances,
    "StopInstances": stop_instances,
    "RebootInstances": reboot_instances,
    "StartInstance": start_instance,
    "StopInstance": stop_instance,
    "RebootInstance": reboot_instance,
    "DeleteInstances": delete_instances,
    "DeleteInstance": delete_instance,
    "DescribeUserData": describe_user_data,
    **REGION_ACTIONS,
    **IMAGE_ACTIONS,
}
