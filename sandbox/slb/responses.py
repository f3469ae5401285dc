"""SLB actions: parse query parameters, call the model, serialise the response."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.core.errors import InvalidParameter
from sandbox.core.params import Params, paginate
from sandbox.core.timefmt import iso_seconds, millis
from sandbox.ecs.exceptions import IdempotentParameterMismatch
from sandbox.ecs.models import check_tags
from sandbox.slb import exceptions as exc
from sandbox.slb.models import MAX_BACKENDS_PER_CALL, BackendServer, LoadBalancer
from sandbox.world import REGION_ID

if TYPE_CHECKING:
    from sandbox.world import World


def _tags_view(tags: dict[str, str]) -> dict[str, Any]:
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in tags.items()]}


def lb_view(lb: LoadBalancer) -> dict[str, Any]:
    return {
        "LoadBalancerId": lb.load_balancer_id,
        "LoadBalancerName": lb.load_balancer_name,
        "LoadBalancerStatus": lb.status,
        "Address": lb.address,
        "AddressType": lb.address_type,
        "AddressIPVersion": "ipv4",
        "NetworkType": lb.network_type,
        "VpcId": lb.vpc_id,
        "VSwitchId": lb.vswitch_id,
        "RegionId": REGION_ID,
        "RegionIdAlias": "cn-hangzhou",
        "MasterZoneId": lb.master_zone_id,
        "SlaveZoneId": lb.slave_zone_id,
        "LoadBalancerSpec": lb.spec,
        "PayType": "PayOnDemand",
        "InstanceChargeType": "PayBySpec",
        "InternetChargeType": lb.internet_charge_type,
        "Bandwidth": lb.bandwidth,
        "DeleteProtection": lb.delete_protection,
        "ModificationProtectionStatus": "NonProtection",
        "CreateTime": iso_seconds(lb.created_at),
        "CreateTimeStamp": millis(lb.created_at),
        "ResourceGroupId": "rg-sandbox",
        "Tags": _tags_view(lb.tags),
    }


def _backend_view(b: BackendServer, weight_as_str: bool) -> dict[str, Any]:
    return {
        "ServerId": b.server_id,
        "Weight": str(b.weight) if weight_as_str else b.weight,
        "Type": b.server_type,
        "Description": b.description,
    }


def create_load_balancer(world: World, p: Params) -> dict[str, Any]:
    """Create a load balancer; a reused ``ClientToken`` answers with the first result (even if deleted)."""
    tags = p.tags()
    check_tags(tags)
    token = p.str("ClientToken")
    fingerprint = json.dumps({k: v for k, v in sorted(p.values.items()) if k != "ClientToken"})
    if token:
        if len(token) > 64 or not token.isascii():
            raise InvalidParameter("ClientToken", "It must be ASCII and at most 64 characters.")
        record = world.slb.client_tokens.get(token)
        if record is not None:
            if record["fingerprint"] != fingerprint:
                raise IdempotentParameterMismatch()
            return dict(record["response"])
    name = p.str("LoadBalancerName")
    if name is not None and not (1 <= len(name) <= 80):
        raise InvalidParameter("LoadBalancerName", "It must be 1 to 80 characters long.")
    lb = world.slb.create_load_balancer(
        name,
        p.enum("AddressType", ("internet", "intranet")),
        p.str("VSwitchId"),
        tags,
        vpc_id=p.str("VpcId"),
        master_zone_id=p.str("MasterZoneId"),
        slave_zone_id=p.str("SlaveZoneId"),
        spec=p.str("LoadBalancerSpec", "slb.s1.small"),
        internet_charge_type=p.str("InternetChargeType", "paybytraffic") or "paybytraffic",
        bandwidth=p.int("Bandwidth", 5120, minimum=1, maximum=5120) or 5120,
        delete_protection=p.enum("DeleteProtection", ("on", "off"), "off") or "off",
    )
    response = {
        "LoadBalancerId": lb.load_balancer_id,
        "Address": lb.address,
        "LoadBalancerName": lb.load_balancer_name,
        "NetworkType": lb.network_type,
        "VpcId": lb.vpc_id,
        "VSwitchId": lb.vswitch_id,
        "AddressIPVersion": "ipv4",
        "ResourceGroupId": "rg-sandbox",
        "OrderId": 0,
    }
    if token:
        world.slb.client_tokens[token] = {"fingerprint": fingerprint, "response": response}
    return response


def describe_load_balancers(world: World, p: Params) -> dict[str, Any]:
    lbs = list(world.slb.load_balancers.values())
    ids = p.str("LoadBalancerId")
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if len(wanted) > 10:
            raise InvalidParameter("LoadBalancerId", "At most 10 ids, separated by commas.")
        lbs = [lb for lb in lbs if lb.load_balancer_id in wanted]
    filters = {
        "load_balancer_name": p.str("LoadBalancerName"),
        "status": p.str("LoadBalancerStatus"),
        "address_type": p.str("AddressType"),
        "vpc_id": p.str("VpcId"),
        "vswitch_id": p.str("VSwitchId"),
        "master_zone_id": p.str("MasterZoneId"),
        "address": p.str("Address"),
        "network_type": p.str("NetworkType"),
    }
    for attr, value in filters.items():
        if value is not None:
            lbs = [lb for lb in lbs if getattr(lb, attr) == value]
    server_id = p.str("ServerId")
    if server_id:
        lbs = [lb for lb in lbs if server_id in lb.backends]
    wanted_tags = p.tags()
    json_tags = p.json("Tags")
    if json_tags is not None:
        entries = json_tags if isinstance(json_tags, list) else [json_tags]
        for entry in entries:
            if not isinstance(entry, dict) or "TagKey" not in entry:
                raise InvalidParameter("Tags", 'It must be a JSON list like [{"TagKey":"k","TagValue":"v"}].')
            wanted_tags[str(entry["TagKey"])] = str(entry.get("TagValue", ""))
    for key, value in wanted_tags.items():
        lbs = [lb for lb in lbs if key in lb.tags and (value == "" or lb.tags[key] == value)]
    page_number = p.int("PageNumber", 1, minimum=1) or 1
    page_size = p.int("PageSize", 50, minimum=1, maximum=100) or 50
    page = paginate(lbs, page_number, page_size)
    return {
        "TotalCount": len(lbs),
        "PageNumber": page_number,
        "PageSize": page_size,
        "LoadBalancers": {"LoadBalancer": [lb_view(lb) for lb in page]},
    }


def describe_load_balancer_attribute(world: World, p: Params) -> dict[str, Any]:
    lb = world.slb.get(p.req("LoadBalancerId"))
    listeners = sorted(lb.listeners.values(), key=lambda item: item.port)
    pairs = [
        {"ListenerPort": item.port, "ListenerProtocol": item.protocol, "Description": item.description}
        for item in listeners
    ]
    view = lb_view(lb)
    view.update(
        {
            "ListenerPorts": {"ListenerPort": [item.port for item in listeners]},
            "ListenerPortsAndProtocol": {"ListenerPortAndProtocol": pairs},
            "ListenerPortsAndProtocal": {
                "ListenerPortAndProtocal": [
                    {"ListenerPort": item.port, "ListenerProtocal": item.protocol} for item in listeners
                ]
            },
            "BackendServers": {
                "BackendServer": [
                    {
                        **_backend_view(b, weight_as_str=False),
                        "ServerIp": world.ecs.instances[b.server_id].private_ip
                        if b.server_id in world.ecs.instances
                        else "",
                    }
                    for b in lb.backends.values()
                ]
            },
        }
    )
    return view


def delete_load_balancer(world: World, p: Params) -> dict[str, Any]:
    world.slb.delete_load_balancer(p.req("LoadBalancerId"))
    return {}


def set_load_balancer_status(world: World, p: Params) -> dict[str, Any]:
    world.slb.set_status(p.req("LoadBalancerId"), p.req("LoadBalancerStatus"))
    return {}


def create_tcp_listener(world: World, p: Params) -> dict[str, Any]:
    lb_id = p.req("LoadBalancerId")
    port = p.int("ListenerPort", required=True, minimum=1, maximum=65535)
    backend_port = p.int("BackendServerPort", minimum=1, maximum=65535)
    if backend_port is None:
        if "VServerGroupId" in p:
            raise InvalidParameter(
                "VServerGroupId", "Virtual server groups are not simulated; use BackendServerPort."
            )
        raise InvalidParameter("BackendServerPort", "BackendServerPort is required without a VServerGroupId.")
    bandwidth = p.int("Bandwidth", required=True)
    assert bandwidth is not None and port is not None
    if bandwidth != -1 and not 1 <= bandwidth <= 5120:
        raise InvalidParameter("Bandwidth", "Use -1 (pay by traffic) or 1 to 5120.")
    options = {
        "bandwidth": bandwidth,
        "scheduler": p.enum("Scheduler", ("wrr", "rr", "sch", "tch"), "wrr"),
        "health_check": p.enum("HealthCheckSwitch", ("on", "off"), "on"),
        "health_check_type": p.enum("HealthCheckType", ("tcp", "http"), "tcp"),
        "health_check_connect_port": p.int("HealthCheckConnectPort", minimum=1, maximum=65535),
        "healthy_threshold": p.int("HealthyThreshold", 3, minimum=2, maximum=10),
        "unhealthy_threshold": p.int("UnhealthyThreshold", 3, minimum=2, maximum=10),
        "health_check_interval": p.int("healthCheckInterval", 2, minimum=1, maximum=50),
        "health_check_connect_timeout": p.int("HealthCheckConnectTimeout", 5, minimum=1, maximum=300),
        "persistence_timeout": p.int("PersistenceTimeout", 0, minimum=0, maximum=3600),
        "established_timeout": p.int("EstablishedTimeout", 900, minimum=10, maximum=900),
        "description": p.str("Description", "") or "",
    }
    world.slb.create_tcp_listener(lb_id, port, backend_port, **options)
    return {}


def _listener_port(p: Params) -> int:
    port = p.int("ListenerPort", required=True, minimum=1, maximum=65535)
    assert port is not None
    protocol = p.str("ListenerProtocol")
    if protocol is not None and protocol.lower() != "tcp":
        raise exc.ListenerNotFound(f"The specified listener does not exist: {protocol} {port}.")
    return port


def start_listener(world: World, p: Params) -> dict[str, Any]:
    world.slb.start_listener(p.req("LoadBalancerId"), _listener_port(p))
    return {}


def stop_listener(world: World, p: Params) -> dict[str, Any]:
    world.slb.stop_listener(p.req("LoadBalancerId"), _listener_port(p))
    return {}


def delete_listener(world: World, p: Params) -> dict[str, Any]:
    world.slb.delete_listener(p.req("LoadBalancerId"), _listener_port(p))
    return {}


def describe_tcp_listener_attribute(world: World, p: Params) -> dict[str, Any]:
    lb_id = p.req("LoadBalancerId")
    listener = world.slb.get_listener(lb_id, _listener_port(p))
    return {
        "LoadBalancerId": lb_id,
        "ListenerPort": listener.port,
        "BackendServerPort": listener.backend_port,
        "Bandwidth": listener.bandwidth,
        "Status": listener.status,
        "Scheduler": listener.scheduler,
        "HealthCheck": listener.health_check,
        "HealthCheckType": listener.health_check_type,
        "HealthCheckConnectPort": listener.health_check_connect_port or listener.backend_port,
        "HealthyThreshold": listener.healthy_threshold,
        "UnhealthyThreshold": listener.unhealthy_threshold,
        "HealthCheckInterval": listener.health_check_interval,
        "HealthCheckConnectTimeout": listener.health_check_connect_timeout,
        "PersistenceTimeout": listener.persistence_timeout,
        "EstablishedTimeout": listener.established_timeout,
        "Description": listener.description,
        "AclStatus": "off",
        "SynProxy": "disable",
        "ConnectionDrain": "off",
        "ProxyProtocolV2Enabled": False,
    }


def _backend_list(p: Params) -> list[tuple[str, int]]:
    raw = p.json("BackendServers", required=True)
    if not isinstance(raw, list) or not all(isinstance(item, dict) and item.get("ServerId") for item in raw):
        raise exc.InvalidBackendServersMalformed()
    if len(raw) > MAX_BACKENDS_PER_CALL:
        raise exc.TooManyBackendServers()
    servers = []
    for item in raw:
        server_type = str(item.get("Type", "ecs"))
        if server_type != "ecs":
            raise InvalidParameter("BackendServers.Type", "Only ecs backends are simulated.")
        weight_raw = item.get("Weight", 100)
        try:
            weight = int(weight_raw)
        except (TypeError, ValueError) as error:
            raise exc.InvalidWeightMalformed(f"The specified Weight is invalid: {weight_raw!r}.") from error
        servers.append((str(item["ServerId"]), weight))
    return servers


def add_backend_servers(world: World, p: Params) -> dict[str, Any]:
    lb_id = p.req("LoadBalancerId")
    backends = world.slb.add_backend_servers(lb_id, _backend_list(p))
    return {
        "LoadBalancerId": lb_id,
        "BackendServers": {"BackendServer": [_backend_view(b, weight_as_str=True) for b in backends]},
    }


def set_backend_servers(world: World, p: Params) -> dict[str, Any]:
    lb_id = p.req("LoadBalancerId")
    changed = world.slb.update_backend_weights(lb_id, _backend_list(p))
    return {
        "LoadBalancerId": lb_id,
        "BackendServers": {"BackendServer": [_backend_view(b, weight_as_str=True) for b in changed]},
    }


def remove_backend_servers(world: World, p: Params) -> dict[str, Any]:
    lb_id = p.req("LoadBalancerId")
    remaining = world.slb.remove_backend_servers(lb_id, [server_id for server_id, _ in _backend_list(p)])
    return {
        "LoadBalancerId": lb_id,
        "BackendServers": {"BackendServer": [_backend_view(b, weight_as_str=False) for b in remaining]},
    }


def describe_health_status(world: World, p: Params) -> dict[str, Any]:
    lb_id = p.req("LoadBalancerId")
    port = p.int("ListenerPort", minimum=1, maximum=65535)
    rows = []
    for listener_port, backend, status in world.slb.health(lb_id, port):
        lb = world.slb.get(lb_id)
        instance = world.ecs.instances.get(backend.server_id)
        rows.append(
            {
                "ServerId": backend.server_id,
                "ServerIp": instance.private_ip if instance else "",
                "Port": lb.listeners[listener_port].backend_port,
                "ListenerPort": listener_port,
                "Protocol": "tcp",
                "ServerHealthStatus": status,
            }
        )
    return {"BackendServers": {"BackendServer": rows}}


def _tag_targets(world: World, p: Params) -> list[LoadBalancer]:
    if p.req("ResourceType").lower() != "instance":
        raise InvalidParameter("ResourceType", "The sandbox supports ResourceType instance.")
    return [world.slb.get(i) for i in p.list("ResourceId", limit=20)]


def tag_resources(world: World, p: Params) -> dict[str, Any]:
    targets = _tag_targets(world, p)
    if not targets:
        raise InvalidParameter("ResourceId.N", "At least one resource id is required.")
    tags = p.tags()
    if not tags:
        raise InvalidParameter("Tag.N", "At least one tag is required.")
    check_tags(tags)
    for target in targets:
        target.tags.update(tags)
    return {}


def untag_resources(world: World, p: Params) -> dict[str, Any]:
    keys = p.list("TagKey", limit=20)
    for target in _tag_targets(world, p):
        for key in list(target.tags) if p.bool("All") or not keys else keys:
            target.tags.pop(key, None)
    return {}


def list_tag_resources(world: World, p: Params) -> dict[str, Any]:
    targets = _tag_targets(world, p) if p.list("ResourceId") else list(world.slb.load_balancers.values())
    if not p.list("ResourceId"):
        p.req("ResourceType")
    wanted = p.tags()
    rows = []
    for lb in targets:
        if any(lb.tags.get(k) != v and not (v == "" and k in lb.tags) for k, v in wanted.items()):
            continue
        rows.extend(
            {"ResourceId": lb.load_balancer_id, "ResourceType": "instance", "TagKey": k, "TagValue": v}
            for k, v in lb.tags.items()
        )
    token = p.str("NextToken")
    offset = int(token) if token and token.isdigit() else 0
    next_token = str(offset + 50) if offset + 50 < len(rows) else ""
    return {"NextToken": next_token, "TagResources": {"TagResource": rows[offset : offset + 50]}}


def describe_regions(world: World, p: Params) -> dict[str, Any]:
    return {
        "Regions": {
            "Region": [
                {"RegionId": REGION_ID, "LocalName": "China (Hangzhou)", "RegionEndpoint": "slb.aliyuncs.com"}
            ]
        }
    }


def describe_zones(world: World, p: Params) -> dict[str, Any]:
    zones = [
        {
            "ZoneId": z.zone_id,
            "LocalName": z.local_name,
            "SlaveZones": {
                "SlaveZone": [
                    {"ZoneId": o.zone_id, "LocalName": o.local_name}
                    for o in world.zones.values()
                    if o.zone_id != z.zone_id
                ]
            },
        }
        for z in world.zones.values()
        if not z.outage
    ]
    return {"Zones": {"Zone": zones}}


ACTIONS = {
    "CreateLoadBalancer": create_load_balancer,
    "DescribeLoadBalancers": describe_load_balancers,
    "DescribeLoadBalancerAttribute": describe_load_balancer_attribute,
    "DeleteLoadBalancer": delete_load_balancer,
    "SetLoadBalancerStatus": set_load_balancer_status,
    "CreateLoadBalancerTCPListener": create_tcp_listener,
    "StartLoadBalancerListener": start_listener,
    "StopLoadBalancerListener": stop_listener,
    "DeleteLoadBalancerListener": delete_listener,
    "DescribeLoadBalancerTCPListenerAttribute": describe_tcp_listener_attribute,
    "AddBackendServers": add_backend_servers,
    "SetBackendServers": set_backend_servers,
    "RemoveBackendServers": remove_backend_servers,
    "DescribeHealthStatus": describe_health_status,
    "TagResources": tag_resources,
    "UntagResources": untag_resources,
    "ListTagResources": list_tag_resources,
    "DescribeRegions": describe_regions,
    "DescribeZones": describe_zones,
}
