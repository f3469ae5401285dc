"""Tasks of the ``provision_cluster`` DAG: task X is the function X below.

The decisions are made by the pure domain in ``include.provisioning`` (request rules, plan, quality
gate, user-data); the hooks talk to the cloud and the registry; this module connects them. The
cluster's secrets reach the nodes through KMS delivery secrets written inside the instance tasks;
user-data names the secret, and no secret travels in XComs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk import task

from flows import hooks, run
from flows import provision_reads as reads
from flows.defaults import CLUSTERS
from include.fleet.contract import (
    API_SERVER_PORT,
    ROLE_APISERVER_LB,
    api_fqdn,
    api_record_owner,
    api_record_rr,
)
from include.provisioning.naming import load_balancer_name, security_group_name
from include.provisioning.plan import PlannedResource, ProvisionPlan
from include.provisioning.request import ProvisionRequest

log = logging.getLogger(__name__)

#: the steps that change the cloud or the registry's secrets; ``finish`` marks the cluster
#: ``failed`` when one of them ran and the run did not complete
APPLY_TASKS = ("credentials", "security_group", "control_plane", "apiserver_lb", "api_dns", "worker_pool")


def request_of(context: Mapping[str, Any]) -> ProvisionRequest:
    return ProvisionRequest.from_params(run.params_of(context))


# -- lock, validate, plan --------------------------------------------------------------------------


@task(retries=0)
@run.entry
def take_lock(**context: Any) -> dict[str, Any]:
    """Cross-param rules, then the per-cluster lock; both before any cloud call."""
    from include.provisioning.validation import request_errors

    request = request_of(context)
    errors = request_errors(request)
    if errors:
        run.fail("invalid request, nothing was changed: " + "; ".join(errors))
    spec = {k: v for k, v in request.to_params().items() if k not in ("dry_run", "callback_url")}
    return run.lock_cluster(
        context, request.cluster_name, request.region_id, request.ticket_id, "provisioning", spec
    )


@task(pool="alibaba_ecs_api", multiple_outputs=True)
@run.reported
def validate(lock: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Observe the cloud, judge the request, plan, and pass the plan through the GX gate.

    Everything that can be found by reading fails here, before the first write: zones, vSwitches,
    stock, vCPU quota, the images, and every DNS name the plan will own.
    """
    from include.provisioning.apply import security_rules
    from include.provisioning.lock import LockInfo
    from include.provisioning.plan import plan_provision
    from include.provisioning.quality import check_quality
    from include.provisioning.validation import cloud_errors

    info = LockInfo.from_json(lock)
    request = request_of(context)
    ecs = hooks.ecs(request.cluster_name)
    extra = hooks.cloud_extra()
    net = ecs.network(request.zones, extra.get("vpc_id"))
    facts = reads.cloud_facts(ecs, request, info, net)
    images, image_errors = reads.resolve_images(ecs, request, extra)
    plan = plan_provision(request, generation=info.generation)
    errors = cloud_errors(request, facts) + image_errors + reads.dns_conflicts(plan, str(extra["dns_domain"]))
    if errors:
        run.fail("validation failed, nothing was changed: " + "; ".join(errors))
    assert net is not None
    report = check_quality(request, plan)
    if not report.success:
        run.fail("data-quality gate failed, nothing was changed: " + " | ".join(report.failures))
    log.info("quality gate passed (%d expectations)", report.evaluated)
    return {
        "plan": plan.to_json(),
        "network": net.to_json(),
        "domain": str(extra["dns_domain"]),
        "images": images,
        "node_count": plan.instance_count(),
        "worker_batches": [r.to_json() for r in plan.worker_batches()],
        "rules": security_rules(net.cidr_block),
    }


@task.short_circuit(ignore_downstream_trigger_rules=False, retries=0)
def show_plan(plan: dict[str, Any], **context: Any) -> bool:
    """The plan in the log; a dry run records it as ``dry_run`` audit rows and stops here."""
    planned = ProvisionPlan.from_json(plan)
    actions = [run.PlannedAction(r.product, r.action, r.key, r.to_json()) for r in planned.resources]
    return run.show_plan(context, planned.cluster, planned.summary(), actions)


# -- apply -----------------------------------------------------------------------------------------


@task
@run.reported
def credentials(**context: Any) -> dict[str, Any]:
    """The cluster CA and admin client certificate, generated once and kept encrypted in the registry.

    Also checks the node-bootstrap settings of the connection (RAM role, KMS, package and image
    sources), so a bad setting fails here, before the first resource is created.
    """
    from include.provisioning.apply import ensure_credentials
    from include.provisioning.bootstrap_settings import BootstrapSettings

    request = request_of(context)
    settings = BootstrapSettings.from_extra(hooks.cloud_extra())
    settings.sources(request.region_id, request.kubernetes_version)
    creds = ensure_credentials(hooks.registry().registry, request.cluster_name, request.kubernetes_version)
    return {"ca_cert_hash": creds.ca_hash}


@task(pool="alibaba_ecs_api")
@run.reported
def security_group(validated: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The cluster's security group with its ingress rules (found by tag and name, or created)."""
    from operators.hooks.ecs import SecurityRule

    cluster = request_of(context).cluster_name
    result: dict[str, Any] = hooks.ecs(cluster).ensure_security_group(
        cluster=cluster,
        name=security_group_name(cluster),
        vpc_id=validated["network"]["vpc_id"],
        rules=[SecurityRule(**rule) for rule in validated["rules"]],
    )
    return result


def _instance_inputs(
    request: ProvisionRequest, validated: dict[str, Any], sg: dict[str, Any], image_key: str
) -> dict[str, Any]:
    """What every instance batch (control plane or workers) is created from, besides its plan."""
    from include.provisioning.apply import load_credentials
    from include.provisioning.bootstrap_settings import BootstrapSettings

    return {
        "creds": load_credentials(hooks.registry().registry, request.cluster_name),
        "domain": validated["domain"],
        "vswitches": validated["network"]["vswitches"],
        "security_group_id": sg["security_group_id"],
        "image_id": validated["images"][image_key],
        "settings": BootstrapSettings.from_extra(hooks.cloud_extra()),
    }


def _wait_running(ecs: Any, result: Mapping[str, Any]) -> None:
    ecs.wait_for(
        "instances_running", instance_ids=result["instance_ids"], poll_interval=2.0, max_attempts=150
    )


@task(pool="alibaba_ecs_api")
@run.reported
def control_plane(validated: dict[str, Any], sg: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Control-plane instances in plan order (node 0 runs ``kubeadm init``), waited until Running.

    Each missing node gets a KMS delivery secret (CA and kubeadm configuration for node 0, the
    shared join token and certificate key for the others) named in its user-data.
    """
    import datetime as dt

    from flows.nodes import ensure_control_plane
    from include.provisioning.apply import ensure_control_plane_bootstrap

    request = request_of(context)
    ecs = hooks.ecs(request.cluster_name)
    registry = hooks.registry().registry
    now = dt.datetime.now(dt.UTC)
    result = ensure_control_plane(
        ecs,
        hooks.kms(request.cluster_name),
        request=request,
        plan=ProvisionPlan.from_json(validated["plan"]),
        control_plane=lambda: ensure_control_plane_bootstrap(registry, request.cluster_name, now),
        nonce_for=lambda key: ecs.client_token(f"delivery:{key}"),
        now=now,
        **_instance_inputs(request, validated, sg, "control-plane"),
    )
    _wait_running(ecs, result)
    log.info("control plane: %s (created %s)", result["instance_ids"], result["created_ids"])
    return result


@task(pool="alibaba_slb_api")
@run.reported
def apiserver_lb(validated: dict[str, Any], cp: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The intranet SLB in front of the API servers: TCP 6443 listener, control-plane backends."""
    request = request_of(context)
    zones = request.zones
    backends, evacuated = control_plane_weights(request.cluster_name, cp["instance_ids"])
    lb = hooks.slb(request.cluster_name).ensure_tcp_load_balancer(
        cluster=request.cluster_name,
        name=load_balancer_name(request.cluster_name),
        role=ROLE_APISERVER_LB,
        address_type="intranet",
        vswitch_id=validated["network"]["vswitches"][zones[0]],
        vpc_id=validated["network"]["vpc_id"],
        master_zone_id=zones[0],
        slave_zone_id=zones[1] if len(zones) > 1 else None,
        listener_port=API_SERVER_PORT,
        backend_port=API_SERVER_PORT,
        backends=backends,
        remove_other_backends=True,
    )
    for zone, servers in evacuated.items():
        if lb["load_balancer_id"]:  # the weight to restore once the zone's evacuation ends
            weights = {lb["load_balancer_id"]: {i: API_SERVER_WEIGHT for i in servers}}
            registry = hooks.registry().registry
            current = registry.active_evacuation(zone)
            if current is not None:
                registry.update_evacuation_step(zone, current.step, saved_weights=weights)
    hooks.registry().registry.update_endpoints(
        request.cluster_name, load_balancer_id=lb["load_balancer_id"], address=lb["address"]
    )
    return {k: lb[k] for k in ("load_balancer_id", "address", "listener", "backends")}


#: the API-server load balancer's weight for every control-plane member
API_SERVER_WEIGHT = 100


def control_plane_weights(
    cluster: str, instance_ids: list[str]
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Backend weights of the API-server load balancer, and the members left at 0 per evacuated zone.

    A zone under evacuation (``zone_failover``) keeps weight 0 for its members, so that a re-run of
    this request during an evacuation does not send traffic back into the zone; the evacuation
    remembers the full weight and its restore brings it back.
    """
    evacuated_zones = {e.zone_id for e in hooks.registry().registry.evacuations(active_only=True)}
    if not evacuated_zones:
        return {i: API_SERVER_WEIGHT for i in instance_ids}, {}
    zones = {
        i.instance_id: i.zone_id for i in hooks.ecs(cluster).describe_instances(instance_ids=instance_ids)
    }
    held: dict[str, list[str]] = {}
    for instance_id in instance_ids:
        zone = zones.get(instance_id, "")
        if zone in evacuated_zones:
            held.setdefault(zone, []).append(instance_id)
            log.info("%s stays at weight 0: zone %s is evacuated", instance_id, zone)
    weights = {i: 0 if any(i in v for v in held.values()) else API_SERVER_WEIGHT for i in instance_ids}
    return weights, held


@task(pool="alibaba_dns_api")
@run.reported
def api_dns(validated: dict[str, Any], lb: dict[str, Any], **context: Any) -> dict[str, Any]:
    """``api.<cluster>.<domain>`` → the SLB address with a TXT ownership record, claimed in the registry."""
    from include.fleet.contract import kube_server_url

    request = request_of(context)
    domain = validated["domain"]
    rr = api_record_rr(request.cluster_name)
    owner = api_record_owner(request.cluster_name)
    summary = hooks.dns(request.cluster_name).reconcile_and_claim(
        domain=domain,
        rr=rr,
        record_type="A",
        values={lb["address"]: None},
        owner=owner,
        ttl=60,
        cluster=request.cluster_name,
    )
    registry = hooks.registry().registry
    fqdn = api_fqdn(request.cluster_name, domain)
    registry.update_endpoints(
        request.cluster_name, dns_name=fqdn, api_server=kube_server_url(request.cluster_name, domain)
    )
    return {"dns_name": fqdn, "changes": summary.get("changes", 0)}


@task(retries=0)
def pool_batches(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per node pool and zone: the worker tasks map over these."""
    return batches


@task(pool="alibaba_ecs_api", max_active_tis_per_dagrun=4)
@run.reported
def worker_pool(
    item: dict[str, Any], validated: dict[str, Any], sg: dict[str, Any], **context: Any
) -> dict[str, Any]:
    """One node pool's instances in one zone (a mapped task per pool and zone), waited until Running.

    Missing workers join with a bootstrap token created for this batch through the cluster's API,
    delivered in a KMS secret named in their user-data.
    """
    from flows.nodes import ensure_planned_workers

    request = request_of(context)
    planned = PlannedResource.from_json(item)
    ecs = hooks.ecs(request.cluster_name)
    result = ensure_planned_workers(
        ecs,
        hooks.kms(request.cluster_name),
        hooks.kube(request.cluster_name),
        request=request,
        item=planned,
        nonce=ecs.client_token(f"delivery:{planned.key}"),
        **_instance_inputs(request, validated, sg, f"pool:{planned.node_pool}"),
    )
    _wait_running(ecs, result)
    return {"key": planned.key, "node_pool": planned.node_pool, "zone": planned.zone, **result}


@task(retries=0, trigger_rule="none_failed_min_one_success")
def expected_nodes(**context: Any) -> list[dict[str, Any]]:
    """The instances whose nodes ``wait_nodes`` waits for (id, pool, zone), so a wait that cannot
    finish names the ones that never joined."""
    ti = context["ti"]
    nodes = [
        {"instance_id": i, "pool": "control-plane"}
        for i in (run.pull(ti, "control_plane") or {}).get("instance_ids", [])
    ]
    for batch in run.flatten(run.pull(ti, "worker_pool")):
        nodes.extend(
            {"instance_id": i, "pool": batch.get("node_pool"), "zone": batch.get("zone")}
            for i in batch.get("instance_ids", [])
        )
    return nodes


@task(pool="alibaba_ecs_api", trigger_rule="all_done")
@run.reported
def delete_delivery_secrets(**context: Any) -> dict[str, Any]:
    """The nodes' KMS delivery secrets, once the nodes are Ready or the wait ended anyway.

    The first control-plane node's secret holds the cluster CA key: it must not outlive the boot.
    Runs whatever happened before it (a failed run that launched nodes cleans up too); idempotent;
    a secret a failed launch left behind goes with the next run or with decommission.
    """
    ti = context["ti"]
    if run.pull(ti, "control_plane") is None and not run.flatten(run.pull(ti, "worker_pool")):
        return {"deleted": []}  # no node was launched by this run: no call at all
    cluster = request_of(context).cluster_name
    return {"deleted": hooks.kms(cluster).delete_cluster_secrets(cluster)}


@task(outlets=[CLUSTERS])
@run.reported
def register(validated: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Spec, pools and endpoints in the registry; the state becomes ``ready`` when the lock is released."""
    from include.provisioning.apply import node_pool_rows

    request = request_of(context)
    registry = hooks.registry().registry
    record = registry.require_cluster(request.cluster_name)
    spec = {
        **{k: v for k, v in request.to_params().items() if k not in ("dry_run", "callback_url")},
        "generation": record.spec.get("generation"),
        "lock": record.spec.get("lock"),
    }
    registry.upsert_cluster(
        request.cluster_name,
        region_id=request.region_id,
        domain=validated["domain"],
        spec=spec,
        ticket_id=request.ticket_id,
    )
    for row in node_pool_rows(request):
        registry.upsert_node_pool(request.cluster_name, row.pop("name"), **row)
    context["outlet_events"][CLUSTERS].extra = {"cluster": request.cluster_name, "event": "provisioned"}
    return {"cluster": request.cluster_name, "node_pools": [p.name for p in request.node_pools]}


#: how long ``verify`` gives a freshly built cluster to show every fact (SLB health checks lag), seconds
VERIFY_TIMEOUT = 90.0
VERIFY_POLL = 5.0


@task(pool="alibaba_ecs_api")
@run.reported
def verify(validated: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Read back what the run built (instances Running, SLB backends healthy, DNS, Ready nodes).

    Success and the registry state ``ready`` depend on this step, not on what earlier steps returned:
    a create answered from a stale idempotency replay, or a resource removed since, fails it here.
    Polls for up to ``VERIFY_TIMEOUT`` seconds, then fails naming what is missing.
    """
    import time

    from include.provisioning.verify import ExpectedCluster, verify_problems

    request = request_of(context)
    ti = context["ti"]
    lb = run.pull(ti, "apiserver_lb") or {}
    ids = set((run.pull(ti, "control_plane") or {}).get("instance_ids", []))
    for batch in run.flatten(run.pull(ti, "worker_pool")):
        ids.update(batch.get("instance_ids", []))
    expected = ExpectedCluster(
        instance_ids=frozenset(ids),
        load_balancer_id=str(lb.get("load_balancer_id") or ""),
        address=str(lb.get("address") or ""),
        dns_name=api_fqdn(request.cluster_name, validated["domain"]),
    )
    deadline = time.monotonic() + VERIFY_TIMEOUT
    while True:
        problems = verify_problems(
            expected, reads.verify_facts(request.cluster_name, validated["domain"], expected)
        )
        if not problems or time.monotonic() >= deadline:
            break
        log.info("verify: not yet (%s); checking again in %.0f s", "; ".join(problems), VERIFY_POLL)
        time.sleep(VERIFY_POLL)
    if problems:
        run.fail("verify failed, the cluster is not all there: " + "; ".join(problems))
    return {
        "instances": len(ids),
        "load_balancer_id": expected.load_balancer_id,
        "dns_name": expected.dns_name,
    }


def what_exists(ti: Any) -> list[str]:
    """Resources the run created or found, from the XComs of the apply steps."""
    found = []
    sg = run.pull(ti, "security_group")
    if sg:
        found.append(f"security group {sg.get('security_group_id')}")
    cp = run.pull(ti, "control_plane")
    if cp:
        found.append(f"{len(cp.get('instance_ids', []))} control-plane instance(s)")
    lb = run.pull(ti, "apiserver_lb")
    if lb:
        found.append(f"SLB {lb.get('load_balancer_id')} ({lb.get('address')})")
    dns = run.pull(ti, "api_dns")
    if dns:
        found.append(f"DNS {dns.get('dns_name')}")
    for batch in run.flatten(run.pull(ti, "worker_pool")):
        found.append(
            f"pool {batch.get('node_pool')} in {batch.get('zone')}: {len(batch.get('instance_ids', []))}"
        )
    return found


LIFECYCLE = run.Lifecycle(
    done_task="verify", success_state="ready", apply_tasks=APPLY_TASKS, what_exists=what_exists
)

finish = run.finish_task(LIFECYCLE)
