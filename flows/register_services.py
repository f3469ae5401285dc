"""Tasks of the ``register_services`` DAG: task X is the function X below.

The fleet-wide reconcile of exported Services into the fleet's DNS zone: the registry decides which
clusters are read (``include.services.scope``), each cluster's Services are read by one mapped task,
the zone is read once, the pure planner (``include.services.plan``) makes the minimal diff, the gate
(``include.services.quality``) checks it, and the apply step sends it name by name. No per-cluster
lock: ``max_active_runs=1`` serialises the runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import task

from flows import hooks, run

if TYPE_CHECKING:
    from include.services.scope import RunScope

log = logging.getLogger(__name__)

#: the step that writes; ``finish`` reports a failed run as "may have changed" once it ran
APPLY_TASKS = ("apply",)
#: observing a cluster that does not answer should not hold the fleet's run for minutes
OBSERVE_RETRIES: dict[str, Any] = {"retries": 2, "retry_delay": 3, "retry_exponential_backoff": 0}
#: server errors and timeouts of one cluster's read are tried for at most 10 s (throttling keeps the
#: hook's own longer budget): a cluster that went down with its zone must not hold the run, whose
#: global names are what moves traffic away from that zone
OBSERVE_POLICY: dict[str, Any] = {"max_attempts": 3, "max_total_seconds": 10.0}


def settings_of(context: Mapping[str, Any], *, complete: bool = True) -> Any:
    from include.services.model import RegistrationSettings

    params = run.params_of(context)
    return RegistrationSettings.from_extra(hooks.cloud_extra(), policy=params["policy"], complete=complete)


#: XCom key of ``select_clusters``'s settings and cluster views (its return value is the clusters to read)
SCOPE_KEY = "scope"


def registry_scope(requested: list[str], also_failed: Iterable[str] = ()) -> RunScope:
    """How a run sees every registered cluster now (:func:`include.services.scope.run_scope`), from the
    registry's clusters, zone states and active evacuations; no cloud call. ``also_failed``: zones
    taken as failed too (what an evacuation would do, for a dry run).

    :raises ValueError: a requested cluster is not registered.
    """
    from include.services.scope import RegisteredCluster, run_scope

    registry = hooks.registry().registry
    registered = [
        RegisteredCluster(
            c.name,
            c.state,
            tuple(sorted({p.zone_id for p in c.node_pools} or set(c.spec.get("zones") or ()))),
        )
        for c in registry.list_clusters(include_deleted=True)
    ]
    fleet_states = {z.zone_id: z.state for z in registry.list_zone_states()}
    # an evacuated zone (zone failover, automatic or by hand) serves nothing until it is restored
    fleet_states.update({e.zone_id: "failed" for e in registry.evacuations(active_only=True)})
    fleet_states.update({zone: "failed" for zone in also_failed})
    cluster_states = {
        c.name: {z.zone_id: z.state for z in registry.list_zone_states(scope=c.name)} for c in registered
    }
    return run_scope(registered, requested, fleet_states, cluster_states)


@task(retries=0)
@run.entry
def select_clusters(**context: Any) -> list[str]:
    """Settings and the registry's clusters: which are read, kept as they are, or leaving; no cloud call.

    Returns the clusters to read (what ``observe_cluster`` maps over); the settings and every cluster's
    view go to XCom key ``scope``.
    """
    params = run.params_of(context)
    try:
        scope = registry_scope(params.get("clusters") or [])
    except ValueError as exc:
        run.fail(f"invalid clusters, nothing was changed: {exc}")
    settings = settings_of(context, complete=scope.complete)
    errors = settings.errors()
    if errors:
        run.fail("invalid settings, nothing was changed: " + "; ".join(errors))
    for view in scope.views.values():
        log.info("cluster %s: %s%s", view.name, view.mode, f" ({view.reason})" if view.reason else "")
    views = [v.to_json() for v in scope.views.values()]
    context["ti"].xcom_push(key=SCOPE_KEY, value={"settings": settings.to_json(), "views": views})
    return scope.observe


@task(pool="kubernetes_api", **OBSERVE_RETRIES)
@run.reported
def observe_cluster(cluster: str, **context: Any) -> dict[str, Any]:
    """One cluster's exported Services (one list call): namespace, name, load balancer addresses, weight.

    A cluster zone health has out of service (every zone failed or evacuated) is read once, briefly: its
    API server is usually down with its zone, and the run must not wait for it (``services`` None).
    """
    from include.services.model import ClusterView, exported_service

    scope = run.pull(context["ti"], "select_clusters", SCOPE_KEY) or {}
    views = {v["name"]: ClusterView.from_json(v) for v in scope.get("views") or []}
    kube = hooks.kube(cluster)
    if cluster in views and not views[cluster].serving:
        from operators.hooks.kubernetes import FleetKubernetesHook
        from operators.utils.retry import RetryPolicy

        kube = FleetKubernetesHook(
            cluster,
            request_timeout=(2.0, 5.0),
            retry_policy=RetryPolicy(max_attempts=1, max_total_seconds=5.0),
        )
        try:
            listed = kube.list_services()
        except Exception as exc:  # expected in a failed zone: its names are left, its global records off
            log.warning(
                "%s is not serving and did not answer (%s); its names are left as they are", cluster, exc
            )
            return {"cluster": cluster, "services": None}
    else:
        listed = kube.list_services()
    found = []
    for service in listed:
        meta, spec, status = service.metadata, service.spec, service.status
        ingress = (status.load_balancer.ingress if status and status.load_balancer else None) or []
        item = exported_service(
            cluster,
            meta.namespace,
            meta.name,
            service_type=spec.type if spec else None,
            annotations=meta.annotations,
            ingress_ips=[i.ip for i in ingress if i.ip],
        )
        if item is not None:
            found.append(item.to_json())
    log.info("%s exports %d Service(s)", cluster, len(found))
    return {"cluster": cluster, "services": found}


@task(pool="alibaba_dns_api", trigger_rule="all_done")
@run.reported
def plan(**context: Any) -> dict[str, Any]:
    """Read the zone (every page), plan the minimal diff, check the edition's TTL bounds and the gate."""
    from dataclasses import replace

    from include.services.model import (
        MODE_KEPT,
        MODE_OBSERVED,
        ClusterView,
        ExportedService,
        RegistrationSettings,
    )
    from include.services.plan import plan_registrations
    from include.services.quality import check_gate, ttl_problem

    ti = context["ti"]
    scope = run.pull(ti, "select_clusters", SCOPE_KEY)
    if scope is None:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("select_clusters did not finish; nothing to plan")
    observed = {o["cluster"]: o for o in run.flatten(run.pull(ti, "observe_cluster"))}
    cluster_views: dict[str, ClusterView] = {}
    unread: list[str] = []
    for raw in scope["views"]:
        view = ClusterView.from_json(raw)
        if view.mode == MODE_OBSERVED:
            if view.name in observed and observed[view.name]["services"] is not None:
                services = [ExportedService.from_json(s) for s in observed[view.name]["services"]]
                view = view.with_services(services)
            elif view.serving:
                unread.append(view.name)
                view = replace(view, mode=MODE_KEPT, reason="could not be read (see observe_cluster)")
            else:  # in a failed or evacuated zone, not answering is expected: out of global names
                view = replace(view, mode=MODE_KEPT, reason="not serving and could not be read")
        cluster_views[view.name] = view
    config = RegistrationSettings.from_json(scope["settings"])
    dns = hooks.dns()
    records = dns.list_zone(config.domain)
    result = plan_registrations(config, records, cluster_views)
    min_ttl = 1
    if result.writes_ttl:
        min_ttl, edition = dns.domain_min_ttl(config.domain)
        problem = ttl_problem(config.ttl, min_ttl, config.domain, edition)
        if problem:
            run.fail(problem)
    report = check_gate(result, records, domain=config.domain, owner=config.owner, min_ttl=min_ttl)
    if not report.success:
        run.fail("the plan failed its gate, nothing was changed: " + " | ".join(report.failures))
    log.info(
        "%d records read; %d names published; %d changes on %d names; %d conflicts",
        len(records),
        result.published,
        len(result.changes),
        len(result.names),
        len(result.conflicts),
    )
    return {"plan": result.to_json(), "unread": unread, "records": len(records)}


@task.short_circuit(ignore_downstream_trigger_rules=False, retries=0)
def show_plan(planned: dict[str, Any], **context: Any) -> bool:
    """The plan in the log; a dry run records each change as a ``dry_run`` audit row and stops here."""
    from include.services.plan import ServicePlan

    result = ServicePlan.from_json(planned["plan"])
    actions = [
        run.PlannedAction("alidns", c.action, c.target(result.domain), c.request(result.domain), c.cluster)
        for c in result.changes
    ]
    return run.show_plan(context, "fleet", result.summary() or ["nothing to change"], actions)


@task(pool="alibaba_dns_api")
@run.reported
def apply(planned: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Send the changes name by name; an error stops only its name, the others go on."""
    from include.services.plan import ServicePlan, hold_back_enables

    result = ServicePlan.from_json(planned["plan"])
    scope = run.pull(context["ti"], "select_clusters", SCOPE_KEY) or {}
    was_serving = {v["name"] for v in scope.get("views") or [] if v.get("serving", True)}
    now = registry_scope([]).views
    left = {c for c in was_serving if c in now and not now[c].serving}
    result, held = hold_back_enables(result, left)
    for line in held:
        log.warning("held back: %s", line)
    dns = hooks.dns()
    sent, failures = 0, []
    for name in result.names:
        count, failure = dns.apply_name_plan(result.domain, name)
        sent += count
        if failure:
            log.error("%s", failure)
            failures.append(failure)
    log.info("%d changes sent; %d names failed; %d held back", sent, len(failures), len(held))
    return {"sent": sent, "failures": failures, "held_back": held}


@task(retries=0)
@run.reported
def report(planned: dict[str, Any], applied: dict[str, Any], **context: Any) -> dict[str, Any]:
    """What the run published; fails (after every other name was done) if a cluster or a name failed."""
    from include.services.plan import ServicePlan

    result = ServicePlan.from_json(planned["plan"])
    for conflict in result.conflicts:
        log.warning("conflict, left alone: %s", conflict)
    problems = [f"{c}: could not be read; its names were left as they are" for c in planned["unread"]]
    problems += applied["failures"]
    if problems:
        run.fail(f"{len(problems)} problem(s): " + "; ".join(problems)[:900])
    return {
        "published": result.published,
        "sent": applied["sent"],
        "conflicts": list(result.conflicts),
    }


def withdraw_cluster(cluster: str, domain: str) -> list[str]:
    """Take a decommissioned cluster's names out of the zone (for ``decommission_cluster``).

    Its ``<svc>.<ns>.<cluster>`` names and its records in global names go; every other name stays.
    Returns what was deleted (``<rr>.<domain> <type> <value>``).

    :raises RuntimeError: a name could not be changed (one line per name).
    """
    from include.services.model import RegistrationSettings
    from include.services.plan import plan_withdrawal
    from include.services.quality import check_gate

    settings = RegistrationSettings.from_extra({**hooks.cloud_extra(), "dns_domain": domain})
    dns = hooks.dns(cluster)
    records = dns.list_zone(domain)
    result = plan_withdrawal(settings, records, cluster)
    report = check_gate(result, records, domain=domain, owner=settings.owner, min_ttl=1)
    if not report.success:
        raise RuntimeError("the withdrawal failed its gate: " + " | ".join(report.failures))
    failures = []
    for name in result.names:
        _, failure = dns.apply_name_plan(domain, name)
        if failure:
            failures.append(failure)
    if failures:
        raise RuntimeError("; ".join(failures))
    return [c.target(domain) for c in result.changes if c.action == "DeleteDomainRecord"]


def out_of_service_plan(also_failed: Iterable[str] = ()) -> tuple[Any, str | None]:
    """The writes that disable, in the global names, the records of every cluster that is not serving
    (with ``also_failed`` zones taken as failed), leaving every other record as it is: one read of the
    zone, no cluster read, ``register_services``' own planner and gate.

    Returns ``(plan, None)``, or ``(None, reason)`` when there is nothing to plan (no DNS zone
    configured, every cluster serving).

    :raises CloudError: the zone could not be read.
    :raises ValueError: the plan failed its gate (the message lists the failures).
    """
    from include.services.model import MODE_GONE, RegistrationSettings
    from include.services.plan import plan_out_of_service
    from include.services.quality import check_gate

    settings = RegistrationSettings.from_extra(hooks.cloud_extra(), complete=False)
    if settings.errors():
        return None, "; ".join(settings.errors())
    views = registry_scope([], also_failed).views
    not_serving = {
        n: v.reason or "not serving" for n, v in views.items() if not v.serving and v.mode != MODE_GONE
    }
    if not not_serving:
        return None, "every cluster is serving"
    records = hooks.dns().list_zone(settings.domain)
    result = plan_out_of_service(settings, records, not_serving)
    report = check_gate(result, records, domain=settings.domain, owner=settings.owner, min_ttl=1)
    if not report.success:
        raise ValueError("the plan failed its gate: " + " | ".join(report.failures))
    return result, None


def disable_out_of_service() -> dict[str, Any]:
    """Send :func:`out_of_service_plan` (for ``zone_failover``: DNS stops answering with an evacuated
    zone's clusters without waiting for the next ``register_services`` run).

    Returns ``{"disabled": [...], "enabled": [...], "failures": [...]}`` (``enabled``: records a
    global name keeps answering with because every cluster serving it is out, fail-open), and
    ``skipped``: why nothing was planned. Never raises: the evacuation it is part of has already
    moved the SLB weights and must go on, so any error (the zone, the registry, a connection, the
    gate) is listed in ``failures``, and the ``register_services`` run the evacuation starts tries
    again.
    """
    failures: list[str] = []
    sent: list[Any] = []
    try:
        result, skipped = out_of_service_plan()
        if result is None:
            return {"disabled": [], "enabled": [], "failures": [], "skipped": skipped}
        dns = hooks.dns()
        for name in result.names:
            count, failure = dns.apply_name_plan(result.domain, name)
            sent += name.changes[:count]
            if failure:
                failures.append(failure)
    except Exception as exc:  # never fails the evacuation; the follow-up run tries again
        failures.append(f"{type(exc).__name__}: {str(exc)[:300]}")
        result = None
    domain = result.domain if result is not None else ""
    return {
        "disabled": [c.target(domain) for c in sent if c.status == "Disable"],
        "enabled": [c.target(domain) for c in sent if c.status == "Enable"],
        "failures": failures,
    }


LIFECYCLE = run.Lifecycle(done_task="report", success_state=None, apply_tasks=APPLY_TASKS, lock_task=None)

finish = run.finish_task(LIFECYCLE)
