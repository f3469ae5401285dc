"""Small helpers for sandbox tests; they only use the official SDK clients and the control API."""

from __future__ import annotations

import time

from alibabacloud_ecs20140526 import models as ecs_models

IMAGE_ID = "ubuntu_22_04_x64_20G_alibase_20240130.vhd"
VPC_ID = "vpc-sandbox0000000000001"
VSWITCHES = {
    "cn-hangzhou-h": "vsw-sandbox00000000000h1",
    "cn-hangzhou-i": "vsw-sandbox00000000000i1",
    "cn-hangzhou-j": "vsw-sandbox00000000000j1",
}
REGION = "cn-hangzhou"


def create_security_group(sandbox, name: str = "test-sg") -> str:
    client = sandbox.ecs_client()
    request = ecs_models.CreateSecurityGroupRequest(region_id=REGION, vpc_id=VPC_ID, security_group_name=name)
    return client.create_security_group(request).body.security_group_id


def run_instances(
    sandbox,
    *,
    amount: int = 1,
    zone: str = "cn-hangzhou-h",
    instance_type: str = "ecs.g7.large",
    tags: dict[str, str] | None = None,
    security_group_id: str | None = None,
    image_id: str = IMAGE_ID,
    **fields,
) -> list[str]:
    client = sandbox.ecs_client()
    request = ecs_models.RunInstancesRequest(
        region_id=REGION,
        image_id=image_id,
        instance_type=instance_type,
        v_switch_id=VSWITCHES[zone],
        security_group_id=security_group_id or create_security_group(sandbox),
        amount=amount,
        tag=[ecs_models.RunInstancesRequestTag(key=k, value=v) for k, v in (tags or {}).items()] or None,
        **fields,
    )
    return list(client.run_instances(request).body.instance_id_sets.instance_id_set)


def instance_statuses(sandbox, ids: list[str]) -> dict[str, str]:
    client = sandbox.ecs_client()
    statuses: dict[str, str] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        request = ecs_models.DescribeInstanceStatusRequest(region_id=REGION, instance_id=chunk, page_size=50)
        page = 1
        while True:
            request.page_number = page
            body = client.describe_instance_status(request).body
            statuses.update({s.instance_id: s.status for s in body.instance_statuses.instance_status})
            if page * 50 >= body.total_count:
                break
            page += 1
    return statuses


def wait_for_status(sandbox, ids: list[str], status: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        statuses = instance_statuses(sandbox, ids)
        if all(statuses.get(i) == status for i in ids):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"instances did not reach {status}: {statuses}")
        time.sleep(0.1)
