"""The clusters follow the simulated cloud: SLBs for LoadBalancer Services, zone outages, lost instances."""

from __future__ import annotations

import time

from alibabacloud_slb20140515 import models as slb_models
from kubernetes import client as k8s

from tests.sandbox.helpers import REGION
from tests.sandbox.kube.helpers import SandboxCluster, deployment_body, make_cluster, wait_until

SERVICE_LB_TAG = [slb_models.DescribeLoadBalancersRequestTag(key="yunfleet:role", value="service-lb")]


def _service_lbs(slb, cluster: str):
    tags = [
        *SERVICE_LB_TAG,
        slb_models.DescribeLoadBalancersRequestTag(key="yunfleet:cluster", value=cluster),
    ]
    body = slb.describe_load_balancers(
        slb_models.DescribeLoadBalancersRequest(region_id=REGION, tag=tags)
    ).body
    return body.load_balancers.load_balancer if body.total_count else []


def _health(slb, lb_id: str) -> dict[str, str]:
    body = slb.describe_health_status(
        slb_models.DescribeHealthStatusRequest(region_id=REGION, load_balancer_id=lb_id)
    ).body
    return {b.server_id: b.server_health_status for b in body.backend_servers.backend_server}


def _ready(node) -> str:
    return next(c.status for c in node.status.conditions if c.type == "Ready")


def _two_zone_cluster(sandbox, tmp_path, name: str) -> SandboxCluster:
    cluster = make_cluster(sandbox, tmp_path, name, workers=1, zone="cn-hangzhou-h")
    cluster.add_workers(1, zone="cn-hangzhou-i")
    cluster.wait_ready_nodes(3)
    return cluster


def test_load_balancer_service_gets_an_slb(clean_sandbox, tmp_path):
    cluster = _two_zone_cluster(clean_sandbox, tmp_path, "lbsvc")
    core, slb = cluster.core(), clean_sandbox.slb_client()
    cluster.apps().create_namespaced_deployment("default", deployment_body("shop", 2, cpu="100m"))
    created = core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "shop"},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": "shop"},
                "ports": [
                    {"name": "http", "port": 80, "targetPort": 80},
                    {"name": "https", "port": 443, "targetPort": 443},
                ],
            },
        },
    )
    node_ports = {p.port: p.node_port for p in created.spec.ports}
    assert all(30000 <= n <= 32767 for n in node_ports.values())

    service = wait_until(
        lambda: (s := core.read_namespaced_service("shop", "default")).status.load_balancer.ingress and s,
        what="load balancer ingress",
    )
    address = service.status.load_balancer.ingress[0].ip
    assert address.startswith("203.0.113.")

    lbs = _service_lbs(slb, "lbsvc")
    assert len(lbs) == 1 and lbs[0].address == address
    lb_id = lbs[0].load_balancer_id
    attribute = slb.describe_load_balancer_attribute(
        slb_models.DescribeLoadBalancerAttributeRequest(region_id=REGION, load_balancer_id=lb_id)
    ).body
    assert sorted(b.server_id for b in attribute.backend_servers.backend_server) == sorted(cluster.workers)
    for port, node_port in node_ports.items():
        listener = slb.describe_load_balancer_tcplistener_attribute(
            slb_models.DescribeLoadBalancerTCPListenerAttributeRequest(
                region_id=REGION, load_balancer_id=lb_id, listener_port=port
            )
        ).body
        assert listener.backend_server_port == node_port and listener.status == "running"
    assert set(_health(slb, lb_id).values()) == {"normal"}
    assert "lbsvc" in cluster.kubectl("get", "svc", "shop").stdout.replace(address, "lbsvc")

    # a new worker joins the backends; deleting the Service releases the SLB
    extra = cluster.add_workers(1, zone="cn-hangzhou-j")
    wait_until(
        lambda: (
            extra[0]
            in {
                b.server_id
                for b in slb.describe_load_balancer_attribute(
                    slb_models.DescribeLoadBalancerAttributeRequest(region_id=REGION, load_balancer_id=lb_id)
                ).body.backend_servers.backend_server
            }
        ),
        what="new worker attached to the SLB",
    )
    core.delete_namespaced_service("shop", "default")
    wait_until(lambda: not _service_lbs(slb, "lbsvc"), what="SLB released")


def test_zone_outage_turns_nodes_not_ready_and_backends_abnormal(clean_sandbox, tmp_path):
    cluster = _two_zone_cluster(clean_sandbox, tmp_path, "outage")
    core, apps, slb = cluster.core(), cluster.apps(), clean_sandbox.slb_client()
    cluster.add_control_plane(zone="cn-hangzhou-j")  # keeps the API up while zone h is down
    wait_until(lambda: len(core.list_node().items) == 4, what="second control plane registered")
    apps.create_namespaced_deployment("default", deployment_body("web", 4, cpu="100m"))
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    wait_until(
        lambda: apps.read_namespaced_deployment("web", "default").status.ready_replicas == 4,
        what="4 replicas ready",
    )
    lb_id = wait_until(lambda: _service_lbs(slb, "outage"), what="service SLB")[0].load_balancer_id
    zone_h_worker, zone_i_worker = cluster.workers
    wait_until(lambda: set(_health(slb, lb_id).values()) == {"normal"}, what="backends normal")

    clean_sandbox.set_zone("cn-hangzhou-h", outage=True)
    health = wait_until(
        lambda: (h := _health(slb, lb_id))[zone_h_worker] == "abnormal" and h,
        what="abnormal backend in the failed zone",
    )
    assert health[zone_i_worker] == "normal"
    wait_until(lambda: _ready(core.read_node(zone_h_worker)) == "Unknown", what="node NotReady")
    assert _ready(core.read_node(zone_i_worker)) == "True"
    assert "NotReady" in cluster.kubectl("get", "node", zone_h_worker).stdout
    leases = k8s.CoordinationV1Api(cluster.api_client())
    renewed = {n: leases.read_namespaced_lease(n, "kube-node-lease").spec.renew_time for n in cluster.workers}
    time.sleep(0.3)
    assert (
        leases.read_namespaced_lease(zone_h_worker, "kube-node-lease").spec.renew_time
        == renewed[zone_h_worker]
    )
    assert (
        leases.read_namespaced_lease(zone_i_worker, "kube-node-lease").spec.renew_time
        > renewed[zone_i_worker]
    )
    taints = {(t.key, t.effect) for t in core.read_node(zone_h_worker).spec.taints}
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints

    # after the eviction grace the pods move to the healthy zone
    wait_until(
        lambda: (
            {p.spec.node_name for p in core.list_namespaced_pod("default", label_selector="app=web").items}
            == {zone_i_worker}
        ),
        timeout=20,
        what="pods rescheduled out of the failed zone",
    )
    wait_until(
        lambda: apps.read_namespaced_deployment("web", "default").status.ready_replicas == 4,
        what="replicas ready again",
    )

    clean_sandbox.set_zone("cn-hangzhou-h", outage=False)
    wait_until(lambda: _ready(core.read_node(zone_h_worker)) == "True", what="node Ready after recovery")
    wait_until(lambda: set(_health(slb, lb_id).values()) == {"normal"}, what="backends normal again")


def test_api_follows_the_control_plane_and_lost_instances_lose_their_nodes(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "lost", workers=2)
    core, apps = cluster.core(), cluster.apps()
    apps.create_namespaced_deployment("default", deployment_body("web", 2, cpu="100m"))
    wait_until(
        lambda: apps.read_namespaced_deployment("web", "default").status.ready_replicas == 2,
        what="2 replicas ready",
    )
    stopped, deleted = cluster.workers

    cluster.stop_instances([stopped])
    wait_until(lambda: _ready(core.read_node(stopped)) == "Unknown", what="stopped instance's node NotReady")
    wait_until(
        lambda: (
            all(
                p.spec.node_name == deleted and p.status.phase == "Running"
                for p in core.list_namespaced_pod("default", label_selector="app=web").items
            )
            and len(core.list_namespaced_pod("default", label_selector="app=web").items) == 2
        ),
        timeout=20,
        what="pods rescheduled off the stopped node",
    )

    cluster.delete_instances([deleted])
    wait_until(
        lambda: deleted not in {n.metadata.name for n in core.list_node().items},
        timeout=20,
        what="node of the deleted instance removed",
    )
    assert stopped in {n.metadata.name for n in core.list_node().items}
    events = core.list_namespaced_event("default", field_selector="reason=DeletingNode").items
    assert events and deleted in events[0].message


def test_api_server_slb_health_follows_the_control_plane(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "apilb", workers=1)
    cluster.add_control_plane(zone="cn-hangzhou-i")
    slb = clean_sandbox.slb_client()
    lb_id = slb.create_load_balancer(
        slb_models.CreateLoadBalancerRequest(
            region_id=REGION,
            load_balancer_name="api-apilb",
            address_type="internet",
            load_balancer_spec="slb.s1.small",
            tag=[
                slb_models.CreateLoadBalancerRequestTag(key="yunfleet:cluster", value="apilb"),
                slb_models.CreateLoadBalancerRequestTag(key="yunfleet:role", value="apiserver-lb"),
            ],
        )
    ).body.load_balancer_id
    slb.create_load_balancer_tcplistener(
        slb_models.CreateLoadBalancerTCPListenerRequest(
            region_id=REGION,
            load_balancer_id=lb_id,
            listener_port=6443,
            backend_server_port=6443,
            bandwidth=-1,
        )
    )
    slb.start_load_balancer_listener(
        slb_models.StartLoadBalancerListenerRequest(
            region_id=REGION, load_balancer_id=lb_id, listener_port=6443
        )
    )
    servers = [*cluster.control_planes, cluster.workers[0]]
    backends = ",".join(f'{{"ServerId": "{s}", "Weight": "100", "Type": "ecs"}}' for s in servers)
    wait_until(lambda: len(cluster.control_planes) == 2 and cluster.core().list_node())
    from tests.sandbox.helpers import wait_for_status

    wait_for_status(clean_sandbox, servers, "Running")
    slb.add_backend_servers(
        slb_models.AddBackendServersRequest(
            region_id=REGION, load_balancer_id=lb_id, backend_servers=f"[{backends}]"
        )
    )
    first, second = cluster.control_planes
    health = wait_until(lambda: (h := _health(slb, lb_id))[first] == "normal" and h[second] == "normal" and h)
    assert health[cluster.workers[0]] == "abnormal"  # a worker runs no API server

    clean_sandbox.set_zone("cn-hangzhou-h", outage=True)
    health = wait_until(lambda: (h := _health(slb, lb_id))[first] == "abnormal" and h)
    assert health[second] == "normal"
    assert cluster.core().list_namespace().items  # the second control plane keeps the API up

    cluster.stop_instances([second])
    wait_until(lambda: _health(slb, lb_id)[second] == "abnormal", what="both control planes down")
    wait_until(lambda: cluster.kubectl("get", "nodes", check=False).returncode == 1, what="API unreachable")
    assert "ServiceUnavailable" in cluster.kubectl("get", "nodes", check=False).stderr
    clean_sandbox.set_zone("cn-hangzhou-h", outage=False)
    wait_until(lambda: cluster.kubectl("get", "nodes", check=False).returncode == 0, what="API back")
