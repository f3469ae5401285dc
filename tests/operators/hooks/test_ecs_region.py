"""EcsHook's region reads (zones, network, stock, vCPUs, vCPU quota, tagged security groups) against
the sandbox through the official ECS SDK."""

from __future__ import annotations

from typing import Any

from include.fleet.contract import TAG_CLUSTER
from include.provisioning.network import Network
from operators.hooks.ecs import EcsHook, SecurityRule
from tests.fixtures.building_blocks import FAST_RETRY, mutating_calls

ZONES = ("cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j")
VPC = "vpc-sandbox0000000000001"
VSWITCH_H = "vsw-sandbox00000000000h1"


def hook(audit_store: Any, task_context: Any) -> EcsHook:
    return EcsHook(audit_sink=audit_store, audit_context=task_context, retry_policy=FAST_RETRY)


def actions(sandbox: Any) -> list[str]:
    return [str(call.get("action")) for call in sandbox.calls()["calls"] if call.get("product") == "ecs"]


def test_zones_and_network_are_reads_of_the_region(
    cloud_env: Any, audit_store: Any, task_context: Any
) -> None:
    ecs = hook(audit_store, task_context)
    assert ecs.zones() == frozenset(ZONES)
    net = ecs.network(["cn-hangzhou-h", "cn-hangzhou-i"])
    assert isinstance(net, Network)
    assert net.vpc_id == VPC and net.cidr_block
    assert net.vswitches["cn-hangzhou-h"] == VSWITCH_H and set(net.vswitches) == set(ZONES)
    assert ecs.network(ZONES, vpc_id="vpc-does-not-exist") is None
    assert mutating_calls(cloud_env) == []
    assert set(actions(cloud_env)) == {"DescribeZones", "DescribeVpcs", "DescribeVSwitches"}


def test_stock_per_zone_one_call_per_type(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    cloud_env.set_zone("cn-hangzhou-i", stock={"ecs.g7.large": 0})
    since = len(cloud_env.calls()["calls"])
    stock = hook(audit_store, task_context).stock_by_zone(["ecs.g7.large", "ecs.g7.large"])
    assert stock[("cn-hangzhou-h", "ecs.g7.large")] == "WithStock"
    assert stock[("cn-hangzhou-i", "ecs.g7.large")] in ("WithoutStock", "ClosedWithoutStock")
    assert {zone for zone, _ in stock} == set(ZONES)
    assert actions(cloud_env)[since:] == ["DescribeAvailableResource"]


def test_instance_vcpus_ten_types_per_call(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    known = {"ecs.c7.large": 2, "ecs.g7.xlarge": 4, "ecs.g7.2xlarge": 8}
    unknown = [f"ecs.x9.t{n}" for n in range(9)]
    assert hook(audit_store, task_context).instance_vcpus([*known, *unknown]) == known
    assert actions(cloud_env).count("DescribeInstanceTypes") == 2


def test_vcpu_quota_remaining_or_unknown(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    cloud_env.set_vcpu_quota(500)
    assert hook(audit_store, task_context).vcpu_quota_remaining() == 500
    cloud_env.set_faults(
        [{"product": "ecs", "action": "DescribeAccountAttributes", "error": "Forbidden.RAM"}]
    )
    assert hook(audit_store, task_context).vcpu_quota_remaining() is None


def test_security_groups_tagged_for_a_cluster(cloud_env: Any, audit_store: Any, task_context: Any) -> None:
    ecs = hook(audit_store, task_context)
    rule = [SecurityRule("TCP", "6443/6443", source_cidr_ip="198.18.0.0/15")]
    mine = ecs.ensure_security_group(cluster="demo", name="yunfleet-demo", vpc_id=VPC, rules=rule)
    ecs.ensure_security_group(cluster="other", name="yunfleet-other", vpc_id=VPC, rules=rule)
    groups = ecs.list_security_groups("demo")
    assert [g.security_group_id for g in groups] == [mine["security_group_id"]]
    assert groups[0].name == "yunfleet-demo" and groups[0].tags[TAG_CLUSTER] == "demo"
    assert groups[0].vpc_id == VPC
