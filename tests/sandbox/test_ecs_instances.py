"""ECS instances through the official SDK: lifecycle, filters, paging, idempotency, stock and quota."""

from __future__ import annotations

import base64

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.sandbox.helpers import (
    IMAGE_ID,
    REGION,
    VSWITCHES,
    create_security_group,
    instance_statuses,
    run_instances,
    wait_for_status,
)


def _describe(client, **fields):
    return client.describe_instances(ecs_models.DescribeInstancesRequest(region_id=REGION, **fields)).body


def _error(call) -> ClientException:
    with pytest.raises(ClientException) as info:
        call()
    return info.value


def test_run_instances_moves_pending_to_running(clean_sandbox):
    client = clean_sandbox.ecs_client()
    ids = run_instances(clean_sandbox, amount=2, tags={"yunfleet:cluster": "demo"}, instance_name="node")
    body = _describe(client, instance_ids=f'["{ids[0]}", "{ids[1]}"]')
    assert body.total_count == 2
    first = body.instances.instance[0]
    assert first.status in ("Pending", "Starting")
    assert first.instance_name == "node"
    assert first.zone_id == "cn-hangzhou-h"
    assert first.cpu == 2 and first.memory == 8192
    ip = first.vpc_attributes.private_ip_address.ip_address[0]
    assert ip.startswith("198.18.")
    assert {t.tag_key: t.tag_value for t in first.tags.tag} == {"yunfleet:cluster": "demo"}
    wait_for_status(clean_sandbox, ids, "Running")


def test_private_ips_are_unique_and_in_the_vswitch(clean_sandbox):
    ids = run_instances(clean_sandbox, amount=5, zone="cn-hangzhou-i")
    body = _describe(clean_sandbox.ecs_client(), page_size=100)
    ips = [i.vpc_attributes.private_ip_address.ip_address[0] for i in body.instances.instance]
    assert len(set(ips)) == len(ids) == 5
    assert all(ip.startswith("198.18.64.") for ip in ips)


def test_describe_filters(clean_sandbox):
    client = clean_sandbox.ecs_client()
    h = run_instances(clean_sandbox, amount=2, zone="cn-hangzhou-h", tags={"yunfleet:cluster": "a"})
    j = run_instances(clean_sandbox, amount=1, zone="cn-hangzhou-j", tags={"yunfleet:cluster": "b"})
    wait_for_status(clean_sandbox, h + j, "Running")
    client.stop_instances(ecs_models.StopInstancesRequest(region_id=REGION, instance_id=[h[0]]))
    ids = lambda body: sorted(i.instance_id for i in body.instances.instance)  # noqa: E731
    assert ids(_describe(client, zone_id="cn-hangzhou-j")) == j
    assert ids(_describe(client, v_switch_id=VSWITCHES["cn-hangzhou-h"])) == sorted(h)
    tag = [ecs_models.DescribeInstancesRequestTag(key="yunfleet:cluster", value="a")]
    assert ids(_describe(client, tag=tag)) == sorted(h)
    assert ids(_describe(client, status="Running")) == sorted([h[1], *j])
    assert ids(_describe(client, instance_ids="[]")) == []
    assert ids(_describe(client, instance_ids=f'["{j[0]}"]', zone_id="cn-hangzhou-h")) == []


def test_paging_across_250_instances(clean_sandbox):
    clean_sandbox.set_zone("cn-hangzhou-h", stock={"ecs.c7.large": 300})
    group = create_security_group(clean_sandbox)
    created: list[str] = []
    for _ in range(3):
        created += run_instances(
            clean_sandbox,
            amount=100 if len(created) < 200 else 50,
            instance_type="ecs.c7.large",
            security_group_id=group,
        )
    assert len(created) == 250
    client = clean_sandbox.ecs_client()
    seen: list[str] = []
    page = 1
    while True:
        body = _describe(client, page_number=page, page_size=100)
        assert body.total_count == 250
        seen += [i.instance_id for i in body.instances.instance]
        if page * 100 >= body.total_count:
            break
        page += 1
    assert seen == created
    by_token: list[str] = []
    token = None
    while True:
        body = _describe(client, max_results=100, next_token=token)
        by_token += [i.instance_id for i in body.instances.instance]
        token = body.next_token
        if not token:
            break
    assert by_token == created
    error = _error(lambda: _describe(client, page_size=101))
    assert error.code == "InvalidParameter"


def test_stop_start_reboot_and_status(clean_sandbox):
    client = clean_sandbox.ecs_client()
    ids = run_instances(clean_sandbox, amount=2)
    wait_for_status(clean_sandbox, ids, "Running")
    body = client.stop_instances(ecs_models.StopInstancesRequest(region_id=REGION, instance_id=ids)).body
    assert {r.previous_status for r in body.instance_responses.instance_response} == {"Running"}
    assert {r.current_status for r in body.instance_responses.instance_response} == {"Stopping"}
    wait_for_status(clean_sandbox, ids, "Stopped")
    client.start_instances(ecs_models.StartInstancesRequest(region_id=REGION, instance_id=ids))
    assert set(instance_statuses(clean_sandbox, ids).values()) <= {"Starting", "Running"}
    wait_for_status(clean_sandbox, ids, "Running")
    client.reboot_instances(ecs_models.RebootInstancesRequest(region_id=REGION, instance_id=[ids[0]]))
    assert instance_statuses(clean_sandbox, ids)[ids[0]] in ("Stopping", "Starting")
    wait_for_status(clean_sandbox, ids, "Running")


def test_reboot_of_stopped_instance_is_incorrect_status(clean_sandbox):
    client = clean_sandbox.ecs_client()
    ids = run_instances(clean_sandbox)
    error = _error(
        lambda: client.reboot_instances(ecs_models.RebootInstancesRequest(region_id=REGION, instance_id=ids))
    )
    assert (error.code, error.status_code) == ("IncorrectInstanceStatus", 403)


def test_delete_needs_force_while_running(clean_sandbox):
    client = clean_sandbox.ecs_client()
    ids = run_instances(clean_sandbox)
    wait_for_status(clean_sandbox, ids, "Running")
    error = _error(
        lambda: client.delete_instances(ecs_models.DeleteInstancesRequest(region_id=REGION, instance_id=ids))
    )
    assert (error.code, error.status_code) == ("IncorrectInstanceStatus", 403)
    client.delete_instances(ecs_models.DeleteInstancesRequest(region_id=REGION, instance_id=ids, force=True))
    assert _describe(client).total_count == 0
    error = _error(
        lambda: client.delete_instances(
            ecs_models.DeleteInstancesRequest(region_id=REGION, instance_id=ids, force=True)
        )
    )
    assert (error.code, error.status_code) == ("InvalidInstanceId.NotFound", 404)


def test_delete_stopped_instance_without_force(clean_sandbox):
    client = clean_sandbox.ecs_client()
    ids = run_instances(clean_sandbox)
    wait_for_status(clean_sandbox, ids, "Running")
    client.stop_instances(ecs_models.StopInstancesRequest(region_id=REGION, instance_id=ids))
    wait_for_status(clean_sandbox, ids, "Stopped")
    client.delete_instances(ecs_models.DeleteInstancesRequest(region_id=REGION, instance_id=ids))
    assert _describe(client).total_count == 0


def test_user_data_round_trip_and_limits(clean_sandbox):
    client = clean_sandbox.ecs_client()
    user_data = base64.b64encode(b"#cloud-config\nruncmd: [echo hi]\n").decode()
    ids = run_instances(clean_sandbox, user_data=user_data)
    body = client.describe_user_data(
        ecs_models.DescribeUserDataRequest(region_id=REGION, instance_id=ids[0])
    ).body
    assert body.user_data == user_data and body.instance_id == ids[0]
    too_big = base64.b64encode(b"x" * (32 * 1024 + 1)).decode()
    error = _error(lambda: run_instances(clean_sandbox, user_data=too_big))
    assert (error.code, error.status_code) == ("InvalidUserData.SizeExceeded", 400)
    error = _error(lambda: run_instances(clean_sandbox, user_data="not base64!"))
    assert error.code == "InvalidUserData.Base64FormatInvalid"


def test_client_token_idempotency(clean_sandbox):
    group = create_security_group(clean_sandbox)
    first = run_instances(clean_sandbox, amount=2, client_token="token-1", security_group_id=group)
    again = run_instances(clean_sandbox, amount=2, client_token="token-1", security_group_id=group)
    assert again == first
    assert _describe(clean_sandbox.ecs_client()).total_count == 2
    error = _error(
        lambda: run_instances(clean_sandbox, amount=3, client_token="token-1", security_group_id=group)
    )
    assert (error.code, error.status_code) == ("IdempotentParameterMismatch", 400)
    assert _describe(clean_sandbox.ecs_client()).total_count == 2


def test_stock_amount_and_min_amount(clean_sandbox):
    clean_sandbox.set_zone("cn-hangzhou-i", stock={"ecs.g7.xlarge": 3})
    error = _error(
        lambda: run_instances(clean_sandbox, amount=5, zone="cn-hangzhou-i", instance_type="ecs.g7.xlarge")
    )
    assert (error.code, error.status_code) == ("OperationDenied.NoStock", 403)
    ids = run_instances(
        clean_sandbox, amount=5, min_amount=2, zone="cn-hangzhou-i", instance_type="ecs.g7.xlarge"
    )
    assert len(ids) == 3
    error = _error(lambda: run_instances(clean_sandbox, zone="cn-hangzhou-i", instance_type="ecs.g7.xlarge"))
    assert error.code == "OperationDenied.NoStock"
    # the other zones still have stock
    assert len(run_instances(clean_sandbox, zone="cn-hangzhou-h", instance_type="ecs.g7.xlarge")) == 1


def test_zone_outage_refuses_new_instances(clean_sandbox):
    clean_sandbox.set_zone("cn-hangzhou-j", outage=True)
    error = _error(lambda: run_instances(clean_sandbox, zone="cn-hangzhou-j"))
    assert (error.code, error.status_code) == ("Zone.NotOnSale", 403)
    clean_sandbox.set_zone("cn-hangzhou-j", outage=False)
    assert len(run_instances(clean_sandbox, zone="cn-hangzhou-j")) == 1


def test_vcpu_quota(clean_sandbox):
    clean_sandbox.set_vcpu_quota(6)
    run_instances(clean_sandbox, amount=3)  # 3 x 2 vCPU
    error = _error(lambda: run_instances(clean_sandbox))
    assert (error.code, error.status_code) == ("QuotaExceed.ElasticQuota", 403)


def test_run_instances_parameter_errors(clean_sandbox):
    client = clean_sandbox.ecs_client()
    group = create_security_group(clean_sandbox)

    def run(**fields):
        base = {
            "region_id": REGION,
            "image_id": IMAGE_ID,
            "instance_type": "ecs.g7.large",
            "v_switch_id": VSWITCHES["cn-hangzhou-h"],
            "security_group_id": group,
        }
        base.update(fields)
        return client.run_instances(ecs_models.RunInstancesRequest(**base))

    cases = [
        ({"image_id": "no-such-image"}, "InvalidImageId.NotFound", 404),
        ({"instance_type": "ecs.nope"}, "InvalidInstanceType.NotFound", 404),
        ({"v_switch_id": "vsw-nope"}, "InvalidVSwitchId.NotFound", 404),
        ({"security_group_id": "sg-nope"}, "InvalidSecurityGroupId.NotFound", 404),
        ({"zone_id": "cn-hangzhou-i"}, "InvalidParameter.Mismatch", 400),
        ({"amount": 101}, "InvalidParameter.Amount", 400),
        (
            {"tag": [ecs_models.RunInstancesRequestTag(key="aliyun:x", value="y")]},
            "InvalidTagKey.Malformed",
            400,
        ),
    ]
    for fields, code, status in cases:
        error = _error(lambda fields=fields: run(**fields))
        assert (error.code, error.status_code) == (code, status), fields
    error = _error(lambda: run(dry_run=True))
    assert error.code == "DryRunOperation"
    assert _describe(client).total_count == 0


def test_describe_instance_status_paging(clean_sandbox):
    ids = run_instances(clean_sandbox, amount=12)
    client = clean_sandbox.ecs_client()
    body = client.describe_instance_status(
        ecs_models.DescribeInstanceStatusRequest(region_id=REGION, page_size=10, page_number=2)
    ).body
    assert body.total_count == 12
    assert [s.instance_id for s in body.instance_statuses.instance_status] == ids[10:]


def test_tag_and_list_tag_resources(clean_sandbox):
    client = clean_sandbox.ecs_client()
    ids = run_instances(clean_sandbox, amount=2)
    client.tag_resources(
        ecs_models.TagResourcesRequest(
            region_id=REGION,
            resource_type="instance",
            resource_id=[ids[0]],
            tag=[ecs_models.TagResourcesRequestTag(key="yunfleet:role", value="worker")],
        )
    )
    body = client.list_tag_resources(
        ecs_models.ListTagResourcesRequest(
            region_id=REGION,
            resource_type="instance",
            tag=[ecs_models.ListTagResourcesRequestTag(key="yunfleet:role", value="worker")],
        )
    ).body
    rows = body.tag_resources.tag_resource
    assert [(r.resource_id, r.tag_key, r.tag_value) for r in rows] == [(ids[0], "yunfleet:role", "worker")]
    assert rows[0].resource_type == "ALIYUN::ECS::INSTANCE"
    error = _error(
        lambda: client.tag_resources(
            ecs_models.TagResourcesRequest(
                region_id=REGION,
                resource_type="instance",
                resource_id=["i-missing"],
                tag=[ecs_models.TagResourcesRequestTag(key="k", value="v")],
            )
        )
    )
    assert error.code == "InvalidInstanceId.NotFound"
