"""Task bodies of the ``provision_cluster`` DAG.

The DAG file only wires tasks; each task calls one function here with its Airflow context. The
decisions are made by the pure domain in ``include.provisioning``; this module connects it to the
hooks, the registry and the task context. Hooks are imported inside the functions so that parsing
the DAG file stays fast.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from include.provisioning.naming import (
    API_SERVER_PORT,
    ROLE_APISERVER_LB,
    api_fqdn,
    api_record_owner,
    api_record_rr,
    load_balancer_name,
    security_group_name,
)
from include.provisioning.plan import PlannedResource, ProvisionPlan
from include.provisioning.request import ProvisionRequest

log = logging.getLogger(__name__)

DEFAULT_IMAGE_ID = "ubuntu_22_04_x64_20G_alibase_20240130.vhd"
CALLBACK_CONN_ID = "yunfleet_callback"
ERROR_KEY = "yunfleet_error"
DRY_RUN_KEY = "yunfleet_dry_run_done"


class StepFailed(Exception):
    """A step failed in a way retrying will not fix; the message says what to do."""


# -- context helpers -------------------------------------------------------------------------------


def params_of(context: Mapping[str, Any]) -> dict[str, Any]:
    return dict(context["params"])


def request_of(context: Mapping[str, Any]) -> ProvisionRequest:
    return ProvisionRequest.from_params(params_of(context))


@contextmanager
def reporting(context: Mapping[str, Any]) -> Iterator[None]:
    """Push a failing step's one-line error to XCom (key ``yunfleet_error``) for the final report."""
    from include.errors import PermanentCloudError

    try:
        yield
    except Exception as exc:
        try:
            context["ti"].xcom_push(key=ERROR_KEY, value=f"{type(exc).__name__}: {exc}"[:1000])
        except Exception:  # reporting must never hide the original error
            log.exception("could not record the error of this step")
        if isinstance(exc, PermanentCloudError):
            # the hook already retried what was transient; Airflow retries would only repeat it
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from exc
        raise


def registry_hook() -> Any:
    from operators.hooks.registry import YunfleetRegistryHook

    return YunfleetRegistryHook()


def cloud_extra() -> dict[str, Any]:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection("alibaba_cloud_default")
    extra = conn.extra_dejson or {}
    return {k.removeprefix("extra__alibaba_cloud__"): v for k, v in extra.items()}


def _hooks(cluster: str) -> tuple[Any, Any, Any]:
    from operators.hooks.dns import DnsHook
    from operators.hooks.ecs import EcsHook
    from operators.hooks.slb import SlbHook

    return EcsHook(cluster=cluster), SlbHook(cluster=cluster), DnsHook(cluster=cluster)


def fail(message: str) -> None:
    """Fail the task without retries (the input or the situation is wrong, not the weather)."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


# -- lock ------------------------------------------------------------------------------------------


def take_lock(context: Mapping[str, Any], busy_state: str = "provisioning") -> dict[str, Any]:
    """Cross-param checks, then the per-cluster lock; both before any cloud call."""
    from include.provisioning.validation import request_errors

    request = request_of(context)
    errors = request_errors(request)
    if errors:
        fail("invalid request, nothing was changed: " + "; ".join(errors))
    return lock_cluster(
        context,
        request.cluster_name,
        request.region_id,
        request.ticket_id,
        busy_state,
        {k: v for k, v in request.to_params().items() if k not in ("dry_run", "callback_url")},
    )


def lock_cluster(
    context: Mapping[str, Any],
    cluster: str,
    region_id: str,
    ticket_id: str,
    busy_state: str,
    spec: dict[str, Any] | None,
) -> dict[str, Any]:
    from include.provisioning.lock import ClusterBusy, acquire

    extra = cloud_extra()
    domain = str(extra.get("dns_domain") or "")
    if not domain:
        fail("connection alibaba_cloud_default has no extra 'dns_domain'; set the fleet's DNS domain")
    try:
        lock = acquire(
            registry_hook().engine,
            cluster=cluster,
            run_id=context["run_id"],
            busy_state=busy_state,
            region_id=region_id,
            domain=domain,
            ticket_id=ticket_id,
            request=spec,
        )
    except ClusterBusy as exc:
        fail(str(exc))
        raise  # unreachable, keeps type checkers calm
    log.info("lock on %s taken (previous state %s)", cluster, lock.previous_state)
    return lock.to_json()


# -- validate + plan -------------------------------------------------------------------------------


def validate(context: Mapping[str, Any], lock_json: dict[str, Any]) -> dict[str, Any]:
    """Observe the cloud, judge the request, plan, and pass the plan through the GX gate."""
    from include.provisioning import observe
    from include.provisioning.lock import LockInfo
    from include.provisioning.plan import plan_provision
    from include.provisioning.quality import check_quality
    from include.provisioning.validation import cloud_errors

    lock = LockInfo.from_json(lock_json)
    request = request_of(context)
    ecs, slb, _ = _hooks(request.cluster_name)
    extra = cloud_extra()
    net = observe.network(ecs, request.zones, extra.get("vpc_id"))
    facts = observe.cloud_facts(
        ecs,
        slb,
        region_id=ecs.conn_config.region_id,
        cluster=request.cluster_name,
        wanted_zones=request.zones,
        instance_types=request.instance_types(),
        net=net,
        registered_spec=lock.previous_spec,
        registered_state=lock.previous_state,
    )
    errors = cloud_errors(request, facts)
    if errors:
        fail("validation failed, nothing was changed: " + "; ".join(errors))
    assert net is not None
    plan = plan_provision(request, generation=lock.generation)
    report = check_quality(request, plan)
    if not report.success:
        fail("data-quality gate failed, nothing was changed: " + " | ".join(report.failures))
    log.info("quality gate passed (%d expectations)", report.evaluated)
    return {
        "plan": plan.to_json(),
        "network": net.to_json(),
        "domain": str(extra["dns_domain"]),
        "image_id": str(extra.get("image_id") or DEFAULT_IMAGE_ID),
        "node_count": plan.instance_count(),
        "worker_batches": [r.to_json() for r in plan.worker_batches()],
        "rules": _rules(net.cidr_block),
    }


def _rules(cidr: str) -> list[dict[str, Any]]:
    from include.provisioning.apply import security_rules

    return security_rules(cidr)


def show_plan(context: Mapping[str, Any], validated: dict[str, Any]) -> bool:
    """Render the plan into the run log; in a dry run write ``dry_run`` audit rows and stop here."""
    plan = ProvisionPlan.from_json(validated["plan"])
    request = request_of(context)
    lines = plan.summary()
    log.info("plan for %s (%d steps):\n%s", plan.cluster, len(lines), "\n".join(lines))
    if not request.dry_run:
        return True
    record_dry_run(plan.cluster, [(r.product, r.action, r.key, r.to_json()) for r in plan.resources])
    log.info("dry run: stopping after the plan; %d dry_run audit rows written", len(lines))
    mark_dry_run_done(context)
    return False


def mark_dry_run_done(context: Mapping[str, Any]) -> None:
    """Tell ``finish`` the dry run ended as planned (a skipping short-circuit pushes no return value)."""
    context["ti"].xcom_push(key=DRY_RUN_KEY, value=True)


def record_dry_run(cluster: str, actions: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    from operators.utils.audit import AuditContext, AuditRecorder

    recorder = AuditRecorder(sink=registry_hook().audit_store, context=AuditContext.current())
    for product, action, target, request in actions:
        recorder.record(
            product=product, action=action, outcome="dry_run", request=request, target=target, cluster=cluster
        )


# -- apply -----------------------------------------------------------------------------------------


def credentials(context: Mapping[str, Any]) -> dict[str, Any]:
    from include.provisioning.apply import ensure_credentials

    creds = ensure_credentials(registry_hook().registry, request_of(context).cluster_name)
    return {"ca_cert_hash": creds.ca_hash}


def security_group(context: Mapping[str, Any], validated: dict[str, Any]) -> dict[str, Any]:
    from operators.hooks.ecs import SecurityRule

    request = request_of(context)
    ecs, _, _ = _hooks(request.cluster_name)
    result: dict[str, Any] = ecs.ensure_security_group(
        cluster=request.cluster_name,
        name=security_group_name(request.cluster_name),
        vpc_id=validated["network"]["vpc_id"],
        rules=[SecurityRule(**rule) for rule in validated["rules"]],
    )
    return result


def _instance_inputs(
    request: ProvisionRequest, validated: dict[str, Any], sg: dict[str, Any]
) -> dict[str, Any]:
    """What every instance batch (control plane or workers) is created from, besides its plan."""
    from include.provisioning.apply import load_credentials

    return {
        "creds": load_credentials(registry_hook().registry, request.cluster_name),
        "domain": validated["domain"],
        "vswitches": validated["network"]["vswitches"],
        "security_group_id": sg["security_group_id"],
        "image_id": validated["image_id"],
    }


def _wait_running(ecs: Any, result: Mapping[str, Any]) -> None:
    ecs.wait_for(
        "instances_running", instance_ids=result["instance_ids"], poll_interval=2.0, max_attempts=150
    )


def control_plane(
    context: Mapping[str, Any], validated: dict[str, Any], sg: dict[str, Any]
) -> dict[str, Any]:
    from include.provisioning.apply import ensure_control_plane
    from operators.hooks.ecs import InstanceSpec

    request = request_of(context)
    ecs, _, _ = _hooks(request.cluster_name)
    result = ensure_control_plane(
        ecs,
        InstanceSpec,
        request=request,
        plan=ProvisionPlan.from_json(validated["plan"]),
        **_instance_inputs(request, validated, sg),
    )
    _wait_running(ecs, result)
    log.info("control plane: %s (created %s)", result["instance_ids"], result["created_ids"])
    return result


def apiserver_lb(context: Mapping[str, Any], validated: dict[str, Any], cp: dict[str, Any]) -> dict[str, Any]:
    request = request_of(context)
    _, slb, _ = _hooks(request.cluster_name)
    zones = request.zones
    lb = slb.ensure_load_balancer(
        cluster=request.cluster_name,
        name=load_balancer_name(request.cluster_name),
        role=ROLE_APISERVER_LB,
        address_type="intranet",
        vswitch_id=validated["network"]["vswitches"][zones[0]],
        vpc_id=validated["network"]["vpc_id"],
        master_zone_id=zones[0],
        slave_zone_id=zones[1] if len(zones) > 1 else None,
    )
    lb_id = lb["load_balancer_id"]
    listener = slb.ensure_tcp_listener(
        load_balancer_id=lb_id,
        listener_port=API_SERVER_PORT,
        backend_port=API_SERVER_PORT,
        cluster=request.cluster_name,
    )
    backends = slb.ensure_backends(
        lb_id, {i: 100 for i in cp["instance_ids"]}, remove_others=True, cluster=request.cluster_name
    )
    address = lb.get("address") or slb.describe_load_balancer(lb_id).address
    registry_hook().registry.update_endpoints(request.cluster_name, load_balancer_id=lb_id, address=address)
    return {"load_balancer_id": lb_id, "address": address, "listener": listener, "backends": backends}


def api_dns(context: Mapping[str, Any], validated: dict[str, Any], lb: dict[str, Any]) -> dict[str, Any]:
    from include.provisioning.kubeconfig import server_url

    request = request_of(context)
    _, _, dns = _hooks(request.cluster_name)
    domain = validated["domain"]
    rr = api_record_rr(request.cluster_name)
    owner = api_record_owner(request.cluster_name)
    summary = dns.reconcile_records(
        domain=domain, rr=rr, record_type="A", values={lb["address"]: None}, owner=owner, ttl=60
    )
    registry = registry_hook().registry
    for value, record_id in (summary.get("record_ids") or {}).items():
        registry.claim_dns(
            domain=domain,
            rr=rr,
            record_type="A",
            value=value,
            owner=owner,
            record_id=record_id,
            cluster=request.cluster_name,
        )
    fqdn = api_fqdn(request.cluster_name, domain)
    registry.update_endpoints(
        request.cluster_name,
        dns_name=fqdn,
        api_server=server_url(request.cluster_name, domain),
    )
    return {"dns_name": fqdn, "changes": summary.get("changes", 0)}


def worker_batch(
    context: Mapping[str, Any], validated: dict[str, Any], sg: dict[str, Any], item: dict[str, Any]
) -> dict[str, Any]:
    from include.provisioning.apply import ensure_batch
    from operators.hooks.ecs import InstanceSpec

    request = request_of(context)
    planned = PlannedResource.from_json(item)
    ecs, _, _ = _hooks(request.cluster_name)
    result = ensure_batch(
        ecs,
        InstanceSpec,
        request=request,
        item=planned,
        count=planned.count,
        **_instance_inputs(request, validated, sg),
    )
    _wait_running(ecs, result)
    return {"key": planned.key, "node_pool": planned.node_pool, "zone": planned.zone, **result}


def register(context: Mapping[str, Any], validated: dict[str, Any]) -> dict[str, Any]:
    """Write the cluster's spec, pools and endpoints; the state becomes ready when the lock is released."""
    from include.provisioning.apply import node_pool_rows

    request = request_of(context)
    registry = registry_hook().registry
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
    return {"cluster": request.cluster_name, "node_pools": [p.name for p in request.node_pools]}


# -- finish ----------------------------------------------------------------------------------------

APPLY_TASKS = ("credentials", "security_group", "control_plane", "apiserver_lb", "api_dns", "worker_pool")
ALL_TASKS = ("take_lock", "validate", "show_plan", *APPLY_TASKS, "wait_api_server", "wait_nodes", "register")


def _pull(ti: Any, task_id: str, key: str = "return_value") -> Any:
    try:
        return ti.xcom_pull(task_ids=task_id, key=key)
    except Exception:  # a task that never ran has nothing to pull
        return None


def _flatten(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if v is not None]
    try:
        return [v for v in list(value) if v is not None]
    except TypeError:
        return [value]


def what_exists(ti: Any) -> list[str]:
    """Resources the run created or found, from the XComs of the apply steps."""
    found = []
    sg = _pull(ti, "security_group")
    if sg:
        found.append(f"security group {sg.get('security_group_id')}")
    cp = _pull(ti, "control_plane")
    if cp:
        found.append(f"{len(cp.get('instance_ids', []))} control-plane instance(s)")
    lb = _pull(ti, "apiserver_lb")
    if lb:
        found.append(f"SLB {lb.get('load_balancer_id')} ({lb.get('address')})")
    dns = _pull(ti, "api_dns")
    if dns:
        found.append(f"DNS {dns.get('dns_name')}")
    for batch in _flatten(_pull(ti, "worker_pool")):
        found.append(
            f"pool {batch.get('node_pool')} in {batch.get('zone')}: {len(batch.get('instance_ids', []))}"
        )
    return found


def finish(
    context: Mapping[str, Any],
    dag_id: str,
    tasks: tuple[str, ...],
    apply_tasks: tuple[str, ...],
    done_task: str,
    success_state: str | None,
) -> dict[str, Any]:
    """Release the lock, send the callback, and fail the run with a report if it did not succeed."""
    from include.provisioning.lock import LockInfo, release

    ti = context["ti"]
    params = params_of(context)
    cluster = params["cluster_name"]
    lock_json = _pull(ti, "take_lock")
    done = _pull(ti, done_task) is not None
    dry_run = bool(_pull(ti, "show_plan", DRY_RUN_KEY))
    applied = any(_pull(ti, t) is not None for t in apply_tasks)
    errors = [f"{t}: {e}" for t in tasks for e in _flatten(_pull(ti, t, ERROR_KEY))]
    if done or dry_run:
        outcome = "success"
    else:
        outcome = "failed"
    if lock_json:
        lock = LockInfo.from_json(lock_json)
        if done:
            final = success_state
        elif applied:
            final = "failed"
        else:
            final = lock.previous_state
        left = release(registry_hook().engine, cluster=cluster, run_id=lock.run_id, final_state=final)
        log.info("lock on %s released; state %s", cluster, left)
    exists = what_exists(ti) if dag_id == "provision_cluster" else []
    message = _message(outcome, dry_run, errors, exists, bool(lock_json))
    details = {"exists": exists, "errors": errors, "dry_run": dry_run}
    send_callback(context, dag_id, cluster, params.get("ticket_id", ""), outcome, message, details)
    if outcome != "success":
        fail(message)
    log.info(message)
    return {"outcome": outcome, "message": message}


def _message(outcome: str, dry_run: bool, errors: list[str], exists: list[str], locked: bool) -> str:
    if outcome == "success":
        return "dry run: plan shown, nothing changed" if dry_run else "done"
    text = "failed: " + ("; ".join(errors) if errors else "a step failed (see its log)")
    if not locked:
        return text + "; nothing was changed"
    if exists:
        text += "; exists now: " + ", ".join(exists) + "; re-run to converge or decommission to clean up"
    return text


def send_callback(
    context: Mapping[str, Any],
    dag_id: str,
    cluster: str,
    ticket_id: str,
    outcome: str,
    message: str,
    details: dict[str, Any],
) -> bool:
    """POST the signed outcome to ``callback_url`` (if any); failures are logged, never raised."""
    url = params_of(context).get("callback_url")
    if not url:
        return False
    import httpx
    from airflow.sdk import BaseHook
    from tenacity import retry, stop_after_attempt, wait_exponential

    from include.provisioning.callback import SIGNATURE_HEADER, callback_body, sign

    try:
        secret = BaseHook.get_connection(
            os.environ.get("YUNFLEET_CALLBACK_CONN_ID", CALLBACK_CONN_ID)
        ).password
    except Exception:
        secret = None
    if not secret:
        log.error(
            "callback not sent: connection %s with the HMAC secret as password is missing", CALLBACK_CONN_ID
        )
        return False
    body = callback_body(
        dag_id=dag_id,
        run_id=context["run_id"],
        cluster=cluster,
        ticket_id=ticket_id,
        outcome=outcome,
        message=message,
        details=details,
    )

    @retry(stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.5, max=5), reraise=True)
    def post() -> None:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
        response = httpx.post(url, content=body, headers=headers, timeout=10.0)
        response.raise_for_status()

    try:
        post()
    except httpx.HTTPError as exc:
        log.error("callback to %s failed: %s", url, exc)
        return False
    log.info("callback sent to %s (%s)", url, outcome)
    return True
