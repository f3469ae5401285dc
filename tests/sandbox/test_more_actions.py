"""Actions beyond the main flows: singular instance actions, untagging, domain info, bulk record delete."""

from __future__ import annotations

import pytest
from alibabacloud_alidns20150109 import models as dns_models
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_slb20140515 import models as slb_models
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.sandbox.helpers import REGION, instance_statuses, run_instances, wait_for_status

DOMAIN = "fleet.example.com"


def test_singular_instance_actions(clean_sandbox):
    client = clean_sandbox.ecs_client()
    (instance_id,) = run_instances(clean_sandbox)
    wait_for_status(clean_sandbox, [instance_id], "Running")
    client.stop_instance(ecs_models.StopInstanceRequest(instance_id=instance_id))
    wait_for_status(clean_sandbox, [instance_id], "Stopped")
    client.start_instance(ecs_models.StartInstanceRequest(instance_id=instance_id))
    wait_for_status(clean_sandbox, [instance_id], "Running")
    client.reboot_instance(ecs_models.RebootInstanceRequest(instance_id=instance_id))
    assert instance_statuses(clean_sandbox, [instance_id])[instance_id] in ("Stopping", "Starting")
    with pytest.raises(ClientException) as info:
        client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id))
    assert info.value.code == "IncorrectInstanceStatus"
    client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    assert instance_statuses(clean_sandbox, [instance_id]) == {}


def test_success_first_batch_reports_per_instance(clean_sandbox):
    client = clean_sandbox.ecs_client()
    ids = run_instances(clean_sandbox, amount=2)
    wait_for_status(clean_sandbox, ids, "Running")
    client.stop_instances(ecs_models.StopInstancesRequest(region_id=REGION, instance_id=[ids[0]]))
    wait_for_status(clean_sandbox, [ids[0]], "Stopped")
    with pytest.raises(ClientException):
        client.reboot_instances(ecs_models.RebootInstancesRequest(region_id=REGION, instance_id=ids))
    body = client.reboot_instances(
        ecs_models.RebootInstancesRequest(
            region_id=REGION, instance_id=ids, batch_optimization="SuccessFirst"
        )
    ).body
    codes = {r.instance_id: r.code for r in body.instance_responses.instance_response}
    assert codes == {ids[0]: "IncorrectInstanceStatus", ids[1]: "200"}


def test_untag_resources(clean_sandbox):
    ecs = clean_sandbox.ecs_client()
    (instance_id,) = run_instances(clean_sandbox, tags={"a": "1", "b": "2"})
    ecs.untag_resources(
        ecs_models.UntagResourcesRequest(
            region_id=REGION, resource_type="instance", resource_id=[instance_id], tag_key=["a"]
        )
    )
    body = ecs.describe_instances(ecs_models.DescribeInstancesRequest(region_id=REGION)).body
    assert {t.tag_key for t in body.instances.instance[0].tags.tag} == {"b"}
    slb = clean_sandbox.slb_client()
    lb_id = slb.create_load_balancer(
        slb_models.CreateLoadBalancerRequest(
            region_id=REGION, tag=[slb_models.CreateLoadBalancerRequestTag(key="x", value="y")]
        )
    ).body.load_balancer_id
    slb.untag_resources(
        slb_models.UntagResourcesRequest(
            region_id=REGION, resource_type="instance", resource_id=[lb_id], all=True
        )
    )
    rows = slb.list_tag_resources(
        slb_models.ListTagResourcesRequest(region_id=REGION, resource_type="instance", resource_id=[lb_id])
    ).body.tag_resources.tag_resource
    assert rows == []


def test_slb_zones_skip_zones_in_outage(clean_sandbox):
    slb = clean_sandbox.slb_client()
    zones = slb.describe_zones(slb_models.DescribeZonesRequest(region_id=REGION)).body.zones.zone
    assert [z.zone_id for z in zones] == ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    clean_sandbox.set_zone("cn-hangzhou-h", outage=True)
    zones = slb.describe_zones(slb_models.DescribeZonesRequest(region_id=REGION)).body.zones.zone
    assert [z.zone_id for z in zones] == ["cn-hangzhou-i", "cn-hangzhou-j"]


def test_domain_info_and_delete_sub_domain_records(clean_sandbox):
    client = clean_sandbox.dns_client()
    info = client.describe_domain_info(dns_models.DescribeDomainInfoRequest(domain_name=DOMAIN)).body
    assert info.min_ttl == 60
    for value in ("198.18.9.1", "198.18.9.2"):
        client.add_domain_record(
            dns_models.AddDomainRecordRequest(domain_name=DOMAIN, rr="gone", type="A", value=value, ttl=60)
        )
    client.add_domain_record(
        dns_models.AddDomainRecordRequest(
            domain_name=DOMAIN, rr="gone", type="TXT", value="owner=demo", ttl=60
        )
    )
    body = client.delete_sub_domain_records(
        dns_models.DeleteSubDomainRecordsRequest(domain_name=DOMAIN, rr="gone", type="A")
    ).body
    assert (body.rr, body.total_count) == ("gone", "2")
    remaining = client.describe_domain_records(
        dns_models.DescribeDomainRecordsRequest(domain_name=DOMAIN)
    ).body
    assert [r.type for r in remaining.domain_records.record] == ["TXT"]


def _account_attributes(sandbox, names=None) -> dict[str, int]:
    body = (
        sandbox.ecs_client()
        .describe_account_attributes(
            ecs_models.DescribeAccountAttributesRequest(region_id=REGION, attribute_name=names)
        )
        .body
    )
    return {
        item.attribute_name: int(item.attribute_values.value_item[0].value)
        for item in body.account_attribute_items.account_attribute_item
    }


def test_account_attributes_report_the_vcpu_quota_and_its_use(clean_sandbox):
    clean_sandbox.set_vcpu_quota(40)
    assert _account_attributes(clean_sandbox) == {
        "max-postpaid-instance-vcpu-count": 40,
        "used-postpaid-instance-vcpu-count": 0,
    }
    run_instances(clean_sandbox, amount=3, instance_type="ecs.g7.large")  # 2 vCPUs each
    used = _account_attributes(clean_sandbox, ["used-postpaid-instance-vcpu-count"])
    assert used == {"used-postpaid-instance-vcpu-count": 6}

    with pytest.raises(ClientException) as info:
        _account_attributes(clean_sandbox, ["max-dedicated-hosts"])
    assert info.value.code == "InvalidParameter"
    assert info.value.status_code == 400
