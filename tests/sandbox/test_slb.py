"""SLB through the official SDK: load balancers, TCP listeners, backends, derived health, tags."""

from __future__ import annotations

import json

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_slb20140515 import models as slb_models
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.sandbox.helpers import REGION, VSWITCHES, run_instances, wait_for_status


def _error(call) -> ClientException:
    with pytest.raises(ClientException) as info:
        call()
    return info.value


def _create(client, **fields) -> slb_models.CreateLoadBalancerResponseBody:
    base = {"region_id": REGION, "load_balancer_spec": "slb.s1.small"}
    base.update(fields)
    return client.create_load_balancer(slb_models.CreateLoadBalancerRequest(**base)).body


def _backends(servers) -> str:
    return json.dumps([{"ServerId": s, "Weight": str(w), "Type": "ecs"} for s, w in servers])


def _health(client, lb_id, port=None) -> dict[str, str]:
    body = client.describe_health_status(
        slb_models.DescribeHealthStatusRequest(region_id=REGION, load_balancer_id=lb_id, listener_port=port)
    ).body
    return {b.server_id: b.server_health_status for b in body.backend_servers.backend_server}


def test_create_describe_delete(clean_sandbox):
    client = clean_sandbox.slb_client()
    public = _create(
        client,
        load_balancer_name="api-demo",
        address_type="internet",
        tag=[slb_models.CreateLoadBalancerRequestTag(key="yunfleet:cluster", value="demo")],
    )
    assert public.address.startswith("203.0.113.")
    private = _create(client, address_type="intranet", v_switch_id=VSWITCHES["cn-hangzhou-i"])
    assert private.address.startswith("198.18.64.")
    assert private.network_type == "vpc"
    listed = client.describe_load_balancers(slb_models.DescribeLoadBalancersRequest(region_id=REGION)).body
    assert listed.total_count == 2
    by_tag = client.describe_load_balancers(
        slb_models.DescribeLoadBalancersRequest(
            region_id=REGION,
            tag=[slb_models.DescribeLoadBalancersRequestTag(key="yunfleet:cluster", value="demo")],
        )
    )
    assert [lb.load_balancer_id for lb in by_tag.body.load_balancers.load_balancer] == [
        public.load_balancer_id
    ]
    by_json_tag = client.describe_load_balancers(
        slb_models.DescribeLoadBalancersRequest(
            region_id=REGION, tags='[{"TagKey": "yunfleet:cluster", "TagValue": "demo"}]'
        )
    )
    assert by_json_tag.body.total_count == 1
    attribute = client.describe_load_balancer_attribute(
        slb_models.DescribeLoadBalancerAttributeRequest(
            region_id=REGION, load_balancer_id=private.load_balancer_id
        )
    ).body
    assert (attribute.address_type, attribute.master_zone_id) == ("intranet", "cn-hangzhou-i")
    assert attribute.load_balancer_status == "active"
    client.delete_load_balancer(
        slb_models.DeleteLoadBalancerRequest(region_id=REGION, load_balancer_id=public.load_balancer_id)
    )
    error = _error(
        lambda: client.describe_load_balancer_attribute(
            slb_models.DescribeLoadBalancerAttributeRequest(
                region_id=REGION, load_balancer_id=public.load_balancer_id
            )
        )
    )
    assert (error.code, error.status_code) == ("InvalidLoadBalancerId.NotFound", 404)


def test_create_errors(clean_sandbox):
    client = clean_sandbox.slb_client()
    error = _error(lambda: _create(client, address_type="intranet", v_switch_id="vsw-missing"))
    assert error.code == "InvalidVSwitchId.NotExist"
    error = _error(lambda: _create(client, load_balancer_spec="slb.s9.huge"))
    assert error.code == "InvalidParameter.LoadBalancerSpec"
    error = _error(lambda: _create(client, master_zone_id="cn-hangzhou-h", slave_zone_id="cn-hangzhou-h"))
    assert error.code == "InvalidParameter.ZoneId"


def test_listener_lifecycle(clean_sandbox):
    client = clean_sandbox.slb_client()
    lb_id = _create(client).load_balancer_id
    client.create_load_balancer_tcplistener(
        slb_models.CreateLoadBalancerTCPListenerRequest(
            region_id=REGION,
            load_balancer_id=lb_id,
            listener_port=6443,
            backend_server_port=6443,
            bandwidth=-1,
            health_check_interval=5,
        )
    )
    error = _error(
        lambda: client.create_load_balancer_tcplistener(
            slb_models.CreateLoadBalancerTCPListenerRequest(
                region_id=REGION,
                load_balancer_id=lb_id,
                listener_port=6443,
                backend_server_port=6443,
                bandwidth=-1,
            )
        )
    )
    assert error.code == "ListenerAlreadyExists"

    def describe():
        request = slb_models.DescribeLoadBalancerTCPListenerAttributeRequest(
            region_id=REGION, load_balancer_id=lb_id, listener_port=6443
        )
        return client.describe_load_balancer_tcplistener_attribute(request).body

    assert (describe().status, describe().health_check_interval) == ("stopped", 5)
    client.start_load_balancer_listener(
        slb_models.StartLoadBalancerListenerRequest(
            region_id=REGION, load_balancer_id=lb_id, listener_port=6443
        )
    )
    assert describe().status == "running"
    client.stop_load_balancer_listener(
        slb_models.StopLoadBalancerListenerRequest(
            region_id=REGION, load_balancer_id=lb_id, listener_port=6443
        )
    )
    assert describe().status == "stopped"
    client.delete_load_balancer_listener(
        slb_models.DeleteLoadBalancerListenerRequest(
            region_id=REGION, load_balancer_id=lb_id, listener_port=6443
        )
    )
    error = _error(describe)
    assert (error.code, error.status_code) == ("ListenerNotFound", 404)


def test_set_load_balancer_status(clean_sandbox):
    client = clean_sandbox.slb_client()
    lb_id = _create(client).load_balancer_id
    client.set_load_balancer_status(
        slb_models.SetLoadBalancerStatusRequest(
            region_id=REGION, load_balancer_id=lb_id, load_balancer_status="inactive"
        )
    )
    body = client.describe_load_balancers(
        slb_models.DescribeLoadBalancersRequest(region_id=REGION, load_balancer_id=lb_id)
    ).body
    assert body.load_balancers.load_balancer[0].load_balancer_status == "inactive"


def test_backends_weights_and_health(clean_sandbox):
    slb = clean_sandbox.slb_client()
    ecs = clean_sandbox.ecs_client()
    h = run_instances(clean_sandbox, amount=2, zone="cn-hangzhou-h")
    j = run_instances(clean_sandbox, amount=1, zone="cn-hangzhou-j")
    stopped = run_instances(clean_sandbox, amount=1, zone="cn-hangzhou-i")
    wait_for_status(clean_sandbox, h + j + stopped, "Running")
    ecs.stop_instances(ecs_models.StopInstancesRequest(region_id=REGION, instance_id=stopped))
    lb_id = _create(slb).load_balancer_id
    slb.create_load_balancer_tcplistener(
        slb_models.CreateLoadBalancerTCPListenerRequest(
            region_id=REGION, load_balancer_id=lb_id, listener_port=80, backend_server_port=8080, bandwidth=-1
        )
    )
    added = slb.add_backend_servers(
        slb_models.AddBackendServersRequest(
            region_id=REGION, load_balancer_id=lb_id, backend_servers=_backends([(i, 100) for i in h + j])
        )
    ).body
    assert sorted(b.server_id for b in added.backend_servers.backend_server) == sorted(h + j)
    error = _error(
        lambda: slb.add_backend_servers(
            slb_models.AddBackendServersRequest(
                region_id=REGION, load_balancer_id=lb_id, backend_servers=_backends([(stopped[0], 100)])
            )
        )
    )
    assert error.code == "IncorrectStatus.BackendServer"
    # listener stopped: health check not running
    assert set(_health(slb, lb_id).values()) == {"unavailable"}
    slb.start_load_balancer_listener(
        slb_models.StartLoadBalancerListenerRequest(
            region_id=REGION, load_balancer_id=lb_id, listener_port=80
        )
    )
    assert set(_health(slb, lb_id, 80).values()) == {"normal"}
    ecs.stop_instances(ecs_models.StopInstancesRequest(region_id=REGION, instance_id=[h[0]]))
    clean_sandbox.set_zone("cn-hangzhou-j", outage=True)
    health = _health(slb, lb_id)
    assert health == {h[0]: "abnormal", h[1]: "normal", j[0]: "abnormal"}
    clean_sandbox.set_zone("cn-hangzhou-j", outage=False)
    changed = slb.set_backend_servers(
        slb_models.SetBackendServersRequest(
            region_id=REGION, load_balancer_id=lb_id, backend_servers=_backends([(h[1], 0)])
        )
    ).body
    assert [(b.server_id, b.weight) for b in changed.backend_servers.backend_server] == [(h[1], "0")]
    attribute = slb.describe_load_balancer_attribute(
        slb_models.DescribeLoadBalancerAttributeRequest(region_id=REGION, load_balancer_id=lb_id)
    ).body
    weights = {b.server_id: b.weight for b in attribute.backend_servers.backend_server}
    assert weights == {h[0]: 100, h[1]: 0, j[0]: 100}
    assert attribute.listener_ports.listener_port == [80]
    removed = slb.remove_backend_servers(
        slb_models.RemoveBackendServersRequest(
            region_id=REGION, load_balancer_id=lb_id, backend_servers=_backends([(h[0], 100)])
        )
    ).body
    assert sorted(b.server_id for b in removed.backend_servers.backend_server) == sorted([h[1], j[0]])


def test_backend_errors(clean_sandbox):
    slb = clean_sandbox.slb_client()
    ids = run_instances(clean_sandbox, amount=21)
    wait_for_status(clean_sandbox, ids, "Running")
    lb_id = _create(slb).load_balancer_id

    def add(servers):
        request = slb_models.AddBackendServersRequest(
            region_id=REGION, load_balancer_id=lb_id, backend_servers=_backends(servers)
        )
        return slb.add_backend_servers(request)

    assert _error(lambda: add([(i, 100) for i in ids])).code == "TooManyBackendServers"
    assert _error(lambda: add([(ids[0], 101)])).code == "InvalidWeight.Malformed"
    assert _error(lambda: add([("i-missing", 100)])).code == "InvalidServerId.NotFound"
    add([(ids[0], 50)])
    assert _error(lambda: add([(ids[0], 50)])).code == "BackendServer.AlreadyExist"
    error = _error(
        lambda: slb.set_backend_servers(
            slb_models.SetBackendServersRequest(
                region_id=REGION, load_balancer_id=lb_id, backend_servers=_backends([(ids[1], 10)])
            )
        )
    )
    assert error.code == "BackendServer.NotExist"
    error = _error(
        lambda: slb.add_backend_servers(
            slb_models.AddBackendServersRequest(
                region_id=REGION, load_balancer_id=lb_id, backend_servers="not json"
            )
        )
    )
    assert error.code == "InvalidParameter"


def test_released_instance_leaves_backends(clean_sandbox):
    slb = clean_sandbox.slb_client()
    ids = run_instances(clean_sandbox, amount=2)
    wait_for_status(clean_sandbox, ids, "Running")
    lb_id = _create(slb).load_balancer_id
    slb.add_backend_servers(
        slb_models.AddBackendServersRequest(
            region_id=REGION, load_balancer_id=lb_id, backend_servers=_backends([(i, 100) for i in ids])
        )
    )
    clean_sandbox.ecs_client().delete_instances(
        ecs_models.DeleteInstancesRequest(region_id=REGION, instance_id=[ids[0]], force=True)
    )
    attribute = slb.describe_load_balancer_attribute(
        slb_models.DescribeLoadBalancerAttributeRequest(region_id=REGION, load_balancer_id=lb_id)
    ).body
    assert [b.server_id for b in attribute.backend_servers.backend_server] == [ids[1]]


def test_tags(clean_sandbox):
    slb = clean_sandbox.slb_client()
    lb_id = _create(slb).load_balancer_id
    slb.tag_resources(
        slb_models.TagResourcesRequest(
            region_id=REGION,
            resource_type="instance",
            resource_id=[lb_id],
            tag=[slb_models.TagResourcesRequestTag(key="yunfleet:role", value="apiserver-lb")],
        )
    )
    rows = slb.list_tag_resources(
        slb_models.ListTagResourcesRequest(region_id=REGION, resource_type="instance", resource_id=[lb_id])
    ).body.tag_resources.tag_resource
    assert [(r.resource_id, r.tag_key, r.tag_value) for r in rows] == [
        (lb_id, "yunfleet:role", "apiserver-lb")
    ]
    error = _error(
        lambda: slb.tag_resources(
            slb_models.TagResourcesRequest(
                region_id=REGION,
                resource_type="instance",
                resource_id=["lb-missing"],
                tag=[slb_models.TagResourcesRequestTag(key="k", value="v")],
            )
        )
    )
    assert error.code == "InvalidLoadBalancerId.NotFound"


def test_client_token_replays_the_first_create_even_after_a_delete(clean_sandbox):
    client = clean_sandbox.slb_client()
    first = _create(client, load_balancer_name="api-demo", address_type="internet", client_token="tok-1")
    again = _create(client, load_balancer_name="api-demo", address_type="internet", client_token="tok-1")
    assert again.load_balancer_id == first.load_balancer_id and again.address == first.address
    listed = client.describe_load_balancers(slb_models.DescribeLoadBalancersRequest(region_id=REGION)).body
    assert listed.total_count == 1
    error = _error(
        lambda: _create(client, load_balancer_name="other", address_type="internet", client_token="tok-1")
    )
    assert (error.code, error.status_code) == ("IdempotentParameterMismatch", 400)
    client.delete_load_balancer(
        slb_models.DeleteLoadBalancerRequest(region_id=REGION, load_balancer_id=first.load_balancer_id)
    )
    replayed = _create(client, load_balancer_name="api-demo", address_type="internet", client_token="tok-1")
    assert replayed.load_balancer_id == first.load_balancer_id  # the id of a load balancer that is gone
    listed = client.describe_load_balancers(slb_models.DescribeLoadBalancersRequest(region_id=REGION)).body
    assert listed.total_count == 0
