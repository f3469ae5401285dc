"""Observation: parsing the read-only ECS answers into the facts validation judges."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from include.provisioning import observe


class FakeEcs:
    """Answers read calls from canned bodies; records which actions were asked."""

    def __init__(self, bodies: dict[str, Any]) -> None:
        self.bodies = bodies
        self.conn_config = SimpleNamespace(region_id="cn-hangzhou")
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def models(self, product: str) -> Any:
        from alibabacloud_ecs20140526 import models

        return models

    def invoke(self, action: str, request: Any, product: str) -> dict[str, Any]:
        self.asked.append((action, request.to_map()))
        body = self.bodies[action]
        if isinstance(body, Exception):
            raise body
        return body(request.to_map()) if callable(body) else body


def test_network_picks_the_vpc_with_a_vswitch_in_every_zone() -> None:
    ecs = FakeEcs(
        {
            "DescribeVpcs": {
                "Vpcs": {
                    "Vpc": [
                        {"VpcId": "vpc-a", "CidrBlock": "10.0.0.0/8"},
                        {"VpcId": "vpc-b", "CidrBlock": "198.18.0.0/15"},
                    ]
                }
            },
            "DescribeVSwitches": lambda req: {
                "VSwitches": {
                    "VSwitch": [{"VSwitchId": "vsw-a1", "ZoneId": "cn-hangzhou-h", "VpcId": "vpc-a"}]
                    if req["VpcId"] == "vpc-a"
                    else [
                        {"VSwitchId": "vsw-b2", "ZoneId": "cn-hangzhou-i", "VpcId": "vpc-b"},
                        {"VSwitchId": "vsw-b1", "ZoneId": "cn-hangzhou-h", "VpcId": "vpc-b"},
                    ]
                }
            },
        }
    )
    net = observe.network(ecs, ["cn-hangzhou-h", "cn-hangzhou-i"])
    assert net == observe.Network(
        "vpc-b", "198.18.0.0/15", {"cn-hangzhou-h": "vsw-b1", "cn-hangzhou-i": "vsw-b2"}
    )
    assert all(action.startswith("Describe") for action, _ in ecs.asked)


def test_stock_reads_status_categories_per_zone() -> None:
    def answer(req: dict[str, Any]) -> dict[str, Any]:
        itype = req["InstanceType"]
        zones = []
        for zone, status, category in (
            ("cn-hangzhou-h", "Available", "WithStock"),
            ("cn-hangzhou-i", "SoldOut", "WithoutStock"),
        ):
            supported = {"Value": itype, "Status": status, "StatusCategory": category}
            zones.append(
                {
                    "ZoneId": zone,
                    "AvailableResources": {
                        "AvailableResource": [
                            {"Type": "InstanceType", "SupportedResources": {"SupportedResource": [supported]}}
                        ]
                    },
                }
            )
        return {"AvailableZones": {"AvailableZone": zones}}

    ecs = FakeEcs({"DescribeAvailableResource": answer})
    assert observe.stock(ecs, ["ecs.g7.large", "ecs.g7.large"]) == {
        ("cn-hangzhou-h", "ecs.g7.large"): "WithStock",
        ("cn-hangzhou-i", "ecs.g7.large"): "WithoutStock",
    }
    assert len(ecs.asked) == 1


def test_vcpu_quota_from_account_attributes_or_unknown() -> None:
    items = [
        {
            "AttributeName": "max-postpaid-instance-vcpu-count",
            "AttributeValues": {"ValueItem": [{"Value": "500"}]},
        },
        {
            "AttributeName": "used-postpaid-instance-vcpu-count",
            "AttributeValues": {"ValueItem": [{"Value": "120"}]},
        },
    ]
    ecs = FakeEcs({"DescribeAccountAttributes": {"AccountAttributeItems": {"AccountAttributeItem": items}}})
    assert observe.vcpu_quota_remaining(ecs) == 380
    assert (
        observe.vcpu_quota_remaining(FakeEcs({"DescribeAccountAttributes": RuntimeError("no such action")}))
        is None
    )
    assert observe.vcpu_quota_remaining(FakeEcs({"DescribeAccountAttributes": {}})) is None


def test_instance_vcpus_batches_ten_types_per_call() -> None:
    def answer(req: dict[str, Any]) -> dict[str, Any]:
        return {
            "InstanceTypes": {
                "InstanceType": [{"InstanceTypeId": t, "CpuCoreCount": 2} for t in req["InstanceTypes"]]
            }
        }

    ecs = FakeEcs({"DescribeInstanceTypes": answer})
    types = [f"ecs.g7.t{n}" for n in range(12)]
    assert observe.instance_vcpus(ecs, types) == {t: 2 for t in types}
    assert len(ecs.asked) == 2
