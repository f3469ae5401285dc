"""ECS region, zone, stock, instance-type, VPC and security-group actions through the official SDK."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.sandbox.helpers import REGION, VPC_ID, VSWITCHES, create_security_group, run_instances

ZONES = ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]


def _error(call) -> ClientException:
    with pytest.raises(ClientException) as info:
        call()
    return info.value


def test_zones_vpc_and_vswitches(sandbox):
    client = sandbox.ecs_client()
    zones = client.describe_zones(ecs_models.DescribeZonesRequest(region_id=REGION)).body.zones.zone
    assert [z.zone_id for z in zones] == ZONES
    assert "ecs.g7.large" in zones[0].available_instance_types.instance_types
    vpcs = client.describe_vpcs(ecs_models.DescribeVpcsRequest(region_id=REGION)).body.vpcs.vpc
    assert [(v.vpc_id, v.cidr_block) for v in vpcs] == [(VPC_ID, "198.18.0.0/15")]
    switches = client.describe_vswitches(ecs_models.DescribeVSwitchesRequest(region_id=REGION, vpc_id=VPC_ID))
    by_zone = {s.zone_id: s.v_switch_id for s in switches.body.v_switches.v_switch}
    assert by_zone == VSWITCHES
    one = client.describe_vswitches(
        ecs_models.DescribeVSwitchesRequest(region_id=REGION, zone_id="cn-hangzhou-i")
    )
    assert [s.v_switch_id for s in one.body.v_switches.v_switch] == [VSWITCHES["cn-hangzhou-i"]]


def test_instance_types(sandbox):
    client = sandbox.ecs_client()
    body = client.describe_instance_types(
        ecs_models.DescribeInstanceTypesRequest(instance_types=["ecs.g7.large", "ecs.c7.xlarge"])
    ).body
    types = {t.instance_type_id: (t.cpu_core_count, t.memory_size) for t in body.instance_types.instance_type}
    assert types == {"ecs.g7.large": (2, 8.0), "ecs.c7.xlarge": (4, 8.0)}
    everything = client.describe_instance_types(ecs_models.DescribeInstanceTypesRequest()).body
    assert len(everything.instance_types.instance_type) >= 5


def _stock(client, zone=None, instance_type=None):
    body = client.describe_available_resource(
        ecs_models.DescribeAvailableResourceRequest(
            region_id=REGION, destination_resource="InstanceType", zone_id=zone, instance_type=instance_type
        )
    ).body
    result = {}
    for az in body.available_zones.available_zone:
        for resource in az.available_resources.available_resource:
            for item in resource.supported_resources.supported_resource:
                result[(az.zone_id, item.value)] = (item.status, item.status_category)
    return result


def test_available_resource_follows_stock_and_outage(clean_sandbox):
    client = clean_sandbox.ecs_client()
    assert _stock(client, "cn-hangzhou-h", "ecs.g7.large") == {
        ("cn-hangzhou-h", "ecs.g7.large"): ("Available", "WithStock")
    }
    clean_sandbox.set_zone("cn-hangzhou-h", stock={"ecs.g7.large": 0})
    clean_sandbox.set_zone("cn-hangzhou-i", outage=True)
    stock = _stock(client, instance_type="ecs.g7.large")
    assert stock[("cn-hangzhou-h", "ecs.g7.large")] == ("SoldOut", "WithoutStock")
    assert stock[("cn-hangzhou-i", "ecs.g7.large")] == ("SoldOut", "ClosedWithoutStock")
    assert stock[("cn-hangzhou-j", "ecs.g7.large")] == ("Available", "WithStock")
    zones = client.describe_zones(ecs_models.DescribeZonesRequest(region_id=REGION)).body.zones.zone
    outage_zone = next(z for z in zones if z.zone_id == "cn-hangzhou-i")
    assert outage_zone.available_resource_creation.resource_types == []
    error = _error(lambda: _stock(client, "cn-hangzhou-x"))
    assert (error.code, error.status_code) == ("InvalidZoneId.NotFound", 404)


def test_security_group_lifecycle(clean_sandbox):
    client = clean_sandbox.ecs_client()
    group = create_security_group(clean_sandbox, name="cluster-a")
    client.authorize_security_group(
        ecs_models.AuthorizeSecurityGroupRequest(
            region_id=REGION,
            security_group_id=group,
            permissions=[
                ecs_models.AuthorizeSecurityGroupRequestPermissions(
                    ip_protocol="TCP", port_range="6443/6443", source_cidr_ip="0.0.0.0/0"
                ),
                ecs_models.AuthorizeSecurityGroupRequestPermissions(
                    ip_protocol="ALL", port_range="-1/-1", source_group_id=group
                ),
            ],
        )
    )
    body = client.describe_security_groups(
        ecs_models.DescribeSecurityGroupsRequest(region_id=REGION, vpc_id=VPC_ID)
    ).body
    assert [(g.security_group_id, g.security_group_name) for g in body.security_groups.security_group] == [
        (group, "cluster-a")
    ]
    attribute = client.describe_security_group_attribute(
        ecs_models.DescribeSecurityGroupAttributeRequest(region_id=REGION, security_group_id=group)
    ).body
    assert {(p.ip_protocol, p.port_range) for p in attribute.permissions.permission} == {
        ("TCP", "6443/6443"),
        ("ALL", "-1/-1"),
    }
    error = _error(
        lambda: client.authorize_security_group(
            ecs_models.AuthorizeSecurityGroupRequest(
                region_id=REGION,
                security_group_id=group,
                permissions=[
                    ecs_models.AuthorizeSecurityGroupRequestPermissions(
                        ip_protocol="TCP", port_range="70000/1", source_cidr_ip="0.0.0.0/0"
                    )
                ],
            )
        )
    )
    assert error.code == "InvalidPortRange.Malformed"
    ids = run_instances(clean_sandbox, security_group_id=group)
    error = _error(
        lambda: client.delete_security_group(
            ecs_models.DeleteSecurityGroupRequest(region_id=REGION, security_group_id=group)
        )
    )
    assert (error.code, error.status_code) == ("DependencyViolation", 403)
    client.delete_instances(ecs_models.DeleteInstancesRequest(region_id=REGION, instance_id=ids, force=True))
    client.delete_security_group(
        ecs_models.DeleteSecurityGroupRequest(region_id=REGION, security_group_id=group)
    )
    error = _error(
        lambda: client.delete_security_group(
            ecs_models.DeleteSecurityGroupRequest(region_id=REGION, security_group_id=group)
        )
    )
    assert (error.code, error.status_code) == ("InvalidSecurityGroupId.NotFound", 404)


def test_create_security_group_is_idempotent_with_client_token(clean_sandbox):
    client = clean_sandbox.ecs_client()
    request = ecs_models.CreateSecurityGroupRequest(
        region_id=REGION, vpc_id=VPC_ID, security_group_name="sg", client_token="sg-token"
    )
    first = client.create_security_group(request).body.security_group_id
    assert client.create_security_group(request).body.security_group_id == first
    request.security_group_name = "other"
    error = _error(lambda: client.create_security_group(request))
    assert error.code == "IdempotentParameterMismatch"
