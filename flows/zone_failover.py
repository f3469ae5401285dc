"""Tasks of the ``zone_failover`` DAG: task X is the function X below.

A run is started by zone health (an asset event: a zone changed state, an evacuation expired, or every
zone looked failed at once) or by hand (``zone_id`` + ``action``). ``decide`` works out what to do from
the registry's current zone states and evacuations (level-triggered: a lost or collapsed event is made
up by the next run), and ``act`` (one per zone) evacuates or restores (in a dry run it only logs the
plan and writes ``dry_run`` audit rows):

- **evacuate**: capacity guard (:func:`include.zones.guards.capacity_guard`), the evacuation record
  stored with the weights before it (:mod:`include.registry.zone_state`), then ``SetBackendServers``
  to weight 0 for the zone's backends on every fleet load balancer, API-server load balancers first,
  at most 20 servers per call (:func:`include.zones.weights.plan_evacuation`), then the
  global DNS records of the clusters that no longer serve disabled at once
  (:func:`flows.register_services.disable_out_of_service`), then the zone's nodes cordoned (annotated,
  so that only those are uncordoned later); capacity reconciliation follows the record.
- **restore**: each step of ``restore_steps`` (10 % -> 50 % -> 100 % of each backend's remembered
  weight), a health probe of the zone between steps (a bad one sends the weights back to 0 and stops),
  then the nodes uncordoned and the evacuation ended.

Each transition is announced through the configured notifier (:mod:`operators.notifiers`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import task
from airflow.sdk.exceptions import AirflowSkipException

from flows import hooks, run
from flows.defaults import ZONES
from flows.register_services import disable_out_of_service, out_of_service_plan

log = logging.getLogger(__name__)

#: the step that writes; ``finish`` reports a failed run as "may have changed" once it ran
APPLY_TASKS = ("act",)
#: the node annotation naming the zone evacuation that cordoned the node
CORDONED_BY = "yunfleet.io/cordoned-by"


def settings() -> Any:
    from operators.zone_probe import settings_from_extra

    try:
        return settings_from_extra(hooks.cloud_extra())
    except ValueError as exc:
        run.fail(
            f"invalid zone_health settings in connection alibaba_cloud_default, nothing was changed: {exc}"
        )


def known_zones(registry: Any) -> set[str]:
    zones: set[str] = set()
    for cluster in registry.list_clusters():
        zones.update(p.zone_id for p in cluster.node_pools)
        zones.update(cluster.spec.get("zones") or ())
    zones.update(registry.zone_machines())
    return zones


def manual_action(params: Mapping[str, Any], zones: set[str], config: Any) -> dict[str, Any]:
    """The action a person asked for, checked before anything is read from the cloud."""
    from include.zones.evacuation import expiry_seconds

    zone, action = params.get("zone_id"), params.get("action")
    ticket = str(params.get("ticket_id") or "").strip()
    if not zone or not action:
        run.fail("a manual run needs both zone_id and action (evacuate | restore); nothing was changed")
    if action not in ("evacuate", "restore"):
        run.fail(f"action must be evacuate or restore, got {action!r}; nothing was changed")
    if zone not in zones:
        run.fail(f"unknown zone {zone!r}: the fleet's zones are {sorted(zones)}; nothing was changed")
    if not ticket:
        run.fail("a manual evacuation or restore needs a ticket_id; nothing was changed")
    expires_in = params.get("expires_in")
    try:
        expires = expiry_seconds(None if expires_in in (None, "") else float(expires_in), config)
    except (TypeError, ValueError) as exc:
        run.fail(f"{exc}; nothing was changed")
    reason = str(params.get("reason") or "").strip() or f"{action} by hand"
    return {
        "zone": zone,
        "action": action,
        "source": "manual",
        "ticket_id": ticket,
        "reason": reason,
        "expires_in": expires,
    }


def automatic_actions(registry: Any, now: datetime) -> list[dict[str, Any]]:
    """What the zone states and evacuations ask for now (each zone at most once).

    - a zone ``failed`` with no active evacuation, and none ended since it failed (a manual restore
      during an outage is a person's decision), is evacuated;
    - an active evacuation left in ``evacuating`` (an interrupted run) is evacuated again;
    - a zone ``healthy`` whose evacuation an automatic restore may end (not a manual one before its
      expiry) is restored, as is one interrupted in ``restoring:<i>``;
    - an expired evacuation is restored, or carried on while zone health still has the zone failing.
    """
    from include.zones.evacuation import EVACUATING, decide_restore, on_expiry, restoring_index

    machines = registry.zone_machines()
    history = registry.evacuations()
    active = {e.zone_id: e for e in history if e.active}
    actions: dict[str, dict[str, Any]] = {}
    for zone, machine in sorted(machines.items()):
        current = active.get(zone)
        if current is None:
            ended_since = [
                e
                for e in history
                if e.zone_id == zone
                and e.ended_at
                and machine.changed_at
                and e.ended_at >= machine.changed_at
            ]
            if machine.state == "failed" and not ended_since:
                actions[zone] = {"action": "evacuate", "source": "auto", "reason": machine.reason}
            continue
        expiry = on_expiry(current, now=now, zone_state=machine.state)
        if expiry == "restore":
            actions[zone] = {"action": "restore", "source": "expiry", "reason": "evacuation expired"}
        elif expiry == "extend" or current.step == EVACUATING:
            actions[zone] = {
                "action": "evacuate",
                "source": "auto",
                "reason": machine.reason or current.reason,
            }
        elif machine.state == "healthy" and (
            restoring_index(current.step) is not None
            or decide_restore(current, source="auto", now=now).allowed
        ):
            source = "auto" if decide_restore(current, source="auto", now=now).allowed else "expiry"
            actions[zone] = {"action": "restore", "source": source, "reason": "zone healthy again"}
    return [{"zone": z, "ticket_id": None, "expires_in": None, **a} for z, a in sorted(actions.items())]


@task(retries=0)
@run.entry
def decide(**context: Any) -> list[dict[str, Any]]:
    """The actions of this run: the manual request, or what zone health's states ask for now.

    Returns ``[{"zone", "action", "source", "ticket_id", "reason", "expires_in"}]``; no cloud call.
    """
    params = run.params_of(context)
    registry = hooks.registry().registry
    config = settings()
    events = [e for events in (context.get("triggering_asset_events") or {}).values() for e in events]
    drifted: set[str] = set()
    for event in events:
        payload = (getattr(event, "extra", None) or {}).get("payload") or {}
        drifted.update(payload.get("drifted") or ())
        if payload.get("alert"):
            log.warning("zone health alert: %s", payload["alert"])
            notify(context, f"zone health alert: {payload['alert']}")
    if params.get("dry_run"):
        context["ti"].xcom_push(key=run.DRY_RUN_KEY, value=True)
    if params.get("zone_id") or params.get("action"):
        actions = [manual_action(params, known_zones(registry), config)]
    else:
        actions = automatic_actions(registry, datetime.now(UTC))
        busy = {a["zone"] for a in actions}
        for zone in sorted(drifted - busy):
            current = registry.active_evacuation(zone)
            if current is not None and current.step == "evacuated":
                actions.append(
                    {
                        "zone": zone,
                        "action": "evacuate",
                        "source": "reassert",
                        "ticket_id": None,
                        "reason": "backend weights drifted back during the evacuation",
                        "expires_in": None,
                    }
                )
    for a in actions:
        log.info("%s %s (%s): %s", a["action"], a["zone"], a["source"], a["reason"])
    if not actions:
        log.info("nothing to evacuate or restore")
    return actions


def dry_run(a: dict[str, Any], config: Any) -> dict[str, Any]:
    """The weight changes the action would make now (the first step of a restore) and the nodes it would
    cordon or uncordon, in the log and as ``dry_run`` audit rows; nothing is changed."""
    from include.errors import CloudError
    from include.zones.weights import plan_evacuation, plan_restore

    zone = a["zone"]
    registry = hooks.registry().registry
    reads = fleet_reads()
    current = registry.active_evacuation(zone)
    if a["action"] == "evacuate":
        lbs = movable(reads.load_balancers, zone)
        remembered = current.saved_weights if current else None
        weights = plan_evacuation(zone, lbs, remembered=remembered, settings=config)
        for lb_id in pinned(reads.load_balancers, zone):
            log.info("%s: every serving backend is in %s; its weights would stay", lb_id, zone)
    elif current is None:
        return {"zone": zone, "action": "restore", "skipped": "no active evacuation to restore"}
    else:
        weights = plan_restore(zone, reads.load_balancers, current.saved_weights, step=0, settings=config)
    nodes = cordonable(reads, zone)
    verb = "CordonNode" if a["action"] == "evacuate" else "UncordonNode"
    dns_changes: list[Any] = []
    dns_line = ""
    if a["action"] == "evacuate":
        try:
            dns_plan, _ = out_of_service_plan(also_failed=[zone])
        except (CloudError, ValueError) as exc:
            dns_line = f"; global DNS not planned ({str(exc)[:200]})"
        else:
            if dns_plan is not None:
                domain = dns_plan.domain
                dns_changes = [
                    run.PlannedAction("alidns", c.action, c.target(domain), c.request(domain), c.cluster)
                    for c in dns_plan.changes
                ]
                disables = sum(1 for c in dns_plan.changes if c.status == "Disable")
                dns_line = f"; {disables} global DNS record(s) to disable"
                if len(dns_plan.changes) > disables:
                    dns_line += f", {len(dns_plan.changes) - disables} to enable (fail-open)"
            else:
                dns_line = "; no global DNS record to disable"
    planned = [
        run.PlannedAction(
            "slb",
            "SetBackendServers",
            call.lb_id,
            {"LoadBalancerId": call.lb_id, "BackendServers": call.backend_servers()},
            call.cluster or None,
        )
        for call in weights.calls
    ]
    planned += dns_changes
    planned += [run.PlannedAction("k8s", verb, n, {"node": n, "zone": zone}, c) for c, n in nodes]
    line = (
        f"{a['action']} {zone} ({a['source']}): {weights.servers} backend weight(s) in {len(weights.calls)} "
        f"SetBackendServers call(s) (~{weights.minutes:.0f} min of quota){dns_line}; {verb} on "
        f"{len(nodes)} node(s)"
    )
    log.info("dry run: %s", line)
    run.record_dry_run("", planned)
    return {"zone": zone, "action": a["action"], "dry_run": line}


def quick_kube(cluster: str) -> Any:
    """A Kubernetes hook that tries each read twice within 10 s: a cluster whose API server is down (in
    the failing zone) must not hold the failover of every other cluster."""
    from operators.hooks.kubernetes import FleetKubernetesHook
    from operators.utils.retry import RetryPolicy

    return FleetKubernetesHook(
        cluster, request_timeout=(3.0, 5.0), retry_policy=RetryPolicy(max_attempts=2, max_total_seconds=10.0)
    )


def fleet_reads() -> Any:
    """The fleet's instances, load balancers and nodes. A failed ECS or SLB read fails the task (Airflow
    retries it): a plan without them would leave backends serving; a cluster whose nodes cannot be read
    is only logged (its nodes are not cordoned, its load balancers are still changed)."""
    from operators.zone_probe import FleetReader

    registry = hooks.registry().registry
    reads = FleetReader(registry, hooks.ecs(), hooks.slb(), quick_kube).read()
    if reads.cloud_errors:
        raise RuntimeError("the fleet could not be read: " + "; ".join(reads.cloud_errors)[:900])
    for error in reads.errors:
        log.warning("%s", error)
    return reads


def movable(lbs: list[Any], zone: str) -> list[Any]:
    """The load balancers whose traffic can leave ``zone``: those with a backend outside it that takes
    traffic. A load balancer whose every serving backend is in the zone keeps its weights (zeroing them
    could only make things worse: there is nowhere else to go; Envoy's panic threshold reasons the same)."""
    return [lb for lb in lbs if any(b.zone != zone and b.weight > 0 for b in lb.backends)]


def pinned(lbs: list[Any], zone: str) -> list[str]:
    """Load balancers left alone by :func:`movable` that do have backends in ``zone``."""
    keep = {lb.lb_id for lb in movable(lbs, zone)}
    return sorted(lb.lb_id for lb in lbs if lb.lb_id not in keep and any(b.zone == zone for b in lb.backends))


def cordonable(reads: Any, zone: str) -> list[tuple[str, str]]:
    """``(cluster, node)`` in ``zone`` of the clusters that have a Ready node elsewhere (cordoning every
    node of a single-zone cluster would stop it scheduling anything, and helps nobody)."""
    elsewhere = {n.cluster for n in reads.nodes if n.zone != zone and n.ready}
    return sorted(
        (c, n)
        for c, zones in reads.node_zones.items()
        if c in elsewhere
        for n, z in zones.items()
        if z == zone
    )


def pool_capacities(registry: Any, reads: Any) -> list[Any]:
    """Every worker pool of the clusters read: bounds from the registry, nodes per zone from the reads."""
    from include.zones.guards import PoolCapacity

    pools = []
    for cluster in registry.list_clusters():
        if cluster.name not in reads.clusters:
            continue
        rows: dict[str, list[Any]] = {}
        for p in cluster.node_pools:
            rows.setdefault(p.name, []).append(p)
        ready = [n for n in reads.nodes if n.cluster == cluster.name]
        pool_of = reads.node_pools.get(cluster.name, {})
        for name, items in rows.items():
            mine = [n for n in ready if pool_of.get(n.name) == name]
            pools.append(
                PoolCapacity(
                    cluster=cluster.name,
                    pool=name,
                    zones=tuple(sorted(p.zone_id for p in items)),
                    min_size=sum(p.min_size for p in items),
                    max_size=sum(p.max_size for p in items),
                    ready=_count(n.zone for n in mine if n.ready),
                    nodes=_count(n.zone for n in mine),
                )
            )
    return pools


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def send_weights(weights: Any) -> int:
    """Send a plan's ``SetBackendServers`` calls in order; returns the servers changed."""
    changed = 0
    for call in weights.calls:
        result = hooks.slb(call.cluster or None).set_backend_weights(
            call.lb_id, dict(call.weights), cluster=call.cluster or None
        )
        changed += len(result["reweighted"])
    return changed


def evacuate(a: dict[str, Any], config: Any, context: Mapping[str, Any]) -> dict[str, Any]:
    """Evacuate one zone; ``source`` ``reassert`` only sends the weights and cordons again (an active
    evacuation whose weights drifted back, e.g. a load balancer's backends reset by its controller)."""
    from include.zones.evacuation import EVACUATED
    from include.zones.guards import capacity_guard
    from include.zones.weights import plan_evacuation

    zone = a["zone"]
    registry = hooks.registry().registry
    reads = fleet_reads()
    current = registry.active_evacuation(zone)
    lbs = movable(reads.load_balancers, zone)
    weights = plan_evacuation(
        zone, lbs, remembered=current.saved_weights if current else None, settings=config
    )
    if a["source"] == "reassert":
        if current is None:
            return {"zone": zone, "action": "evacuate", "skipped": "no active evacuation to reassert"}
        registry.update_evacuation_step(zone, current.step, saved_weights=weights.saved_weights)
        decision_message = f"{zone} evacuation reasserted"
    else:
        failed = {z for z, m in registry.zone_machines().items() if m.state == "failed" and z != zone}
        # a pool with no other zone cannot be helped by keeping the zone: it is left out of the guard
        pools = [p for p in pool_capacities(registry, reads) if set(p.zones) - {zone}]
        guard = capacity_guard(zone, pools, failed_zones=failed)
        if not guard.allowed:
            notify(context, guard.message)
            if a["source"] == "manual":
                run.fail(f"{guard.message}; nothing was changed")
            log.error("%s; nothing was changed", guard.message)
            return {"zone": zone, "action": "evacuate", "refused": guard.message}
        decision = registry.start_or_extend_evacuation(
            zone,
            source=a["source"],
            reason=a["reason"],
            ticket_id=a["ticket_id"],
            expires_in_s=a["expires_in"],
            saved_weights=weights.saved_weights,
            settings=config,
        )
        decision_message = decision.message
        log.info("%s", decision.message)
        if not decision.changed and decision.record.step == EVACUATED:
            return {"zone": zone, "action": "evacuate", "kept": decision.message}
    for lb_id in pinned(reads.load_balancers, zone):
        log.warning("%s: every serving backend is in %s; its weights stay", lb_id, zone)
    changed = send_weights(weights)
    dns = disable_out_of_service()
    for failure in dns["failures"]:
        log.error("DNS: %s (register_services, started by this run's report, tries again)", failure)
    if dns.get("skipped"):
        log.info("DNS: nothing to disable (%s)", dns["skipped"])
    for record in dns["enabled"]:
        log.warning("DNS: %s keeps answering: every cluster serving its name is out (fail-open)", record)
    cordoned = []
    for cluster, node in cordonable(reads, zone):
        if hooks.kube(cluster).cordon_marked(node, CORDONED_BY, f"zone-failover:{zone}"):
            cordoned.append(f"{cluster}/{node}")
    registry.update_evacuation_step(zone, EVACUATED)
    message = (
        f"{zone} evacuated ({a['source']}{', ticket ' + a['ticket_id'] if a['ticket_id'] else ''}): "
        f"{changed} backend weight(s) set to 0, {len(dns['disabled'])} global DNS record(s) disabled"
        f"{' (' + str(len(dns['failures'])) + ' DNS name(s) failed)' if dns['failures'] else ''}, "
        f"{len(cordoned)} node(s) cordoned; {decision_message}"
    )
    log.info("%s", message)
    if a["source"] != "reassert" or changed or cordoned or dns["disabled"]:
        notify(context, message)
    return {
        "zone": zone,
        "action": "evacuate",
        "weights_changed": changed,
        "dns_disabled": dns["disabled"],
        "dns_failures": dns["failures"],
        "cordoned": cordoned,
    }


def restore(a: dict[str, Any], config: Any, context: Mapping[str, Any]) -> dict[str, Any]:
    from include.zones.evacuation import EVACUATED, decide_restore, next_restore_step, restoring
    from include.zones.weights import plan_evacuation, plan_restore
    from operators.zone_probe import FleetReader, probe_round

    zone = a["zone"]
    registry = hooks.registry().registry
    current = registry.active_evacuation(zone)
    allowed = decide_restore(current, source=a["source"], now=datetime.now(UTC))
    if not allowed.allowed or current is None:
        log.info("%s", allowed.message)
        if a["source"] == "manual":
            run.fail(f"{allowed.message}; nothing was changed")
        return {"zone": zone, "action": "restore", "skipped": allowed.message}
    step = next_restore_step(current, config)
    changed = 0
    while step is not None and step < len(config.restore_steps):
        registry.update_evacuation_step(zone, restoring(step))
        reads = fleet_reads()
        changed += send_weights(
            plan_restore(zone, reads.load_balancers, current.saved_weights, step=step, settings=config)
        )
        log.info(
            "%s restore step %d: %.0f%% of the previous weights", zone, step, config.restore_steps[step] * 100
        )
        if step == len(config.restore_steps) - 1:
            break
        time.sleep(config.restore_step_interval_s)
        reads = FleetReader(registry, hooks.ecs(), hooks.slb(), hooks.kube).read()
        probe = probe_round(registry, reads, config, datetime.now(UTC)).probes.get(zone)
        if probe is not None and probe.verdict == "bad":
            back = plan_evacuation(
                zone, reads.load_balancers, remembered=current.saved_weights, settings=config
            )
            send_weights(back)
            registry.update_evacuation_step(zone, EVACUATED)
            message = (
                f"{zone} restore stopped at step {step}: the zone probed bad ({probe.reason}); "
                "weights back to 0"
            )
            notify(context, message)
            log.error("%s", message)
            return {"zone": zone, "action": "restore", "stopped": message}
        step += 1
    uncordoned = []
    for cluster in sorted({c.name for c in registry.list_clusters() if c.state == "ready"}):
        kube = hooks.kube(cluster)
        for node in kube.list_nodes():
            if node.zone == zone and kube.uncordon_marked(node.name, CORDONED_BY):
                uncordoned.append(f"{cluster}/{node.name}")
    ended = registry.end_evacuation(zone, source=a["source"], ticket_id=a["ticket_id"])
    message = (
        f"{zone} restored ({a['source']}{', ticket ' + a['ticket_id'] if a['ticket_id'] else ''}): "
        f"{changed} backend weight change(s) over {len(config.restore_steps)} step(s), "
        f"{len(uncordoned)} node(s) uncordoned; {ended.message}"
    )
    log.info("%s", message)
    notify(context, message)
    return {"zone": zone, "action": "restore", "weights_changed": changed, "uncordoned": uncordoned}


@task(pool="alibaba_slb_api", max_active_tis_per_dagrun=1)
@run.reported
def act(action: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Evacuate or restore one zone (see the module docstring); in a dry run, only the plan."""
    config = settings()
    if run.params_of(context).get("dry_run"):
        return dry_run(action, config)
    if action["action"] == "evacuate":
        return evacuate(action, config, context)
    return restore(action, config, context)


def notify(context: Mapping[str, Any], message: str) -> None:
    """Announce a transition through the configured notifier; a notifier that fails is logged, never fatal."""
    from operators.notifiers import ZoneFailoverNotifier

    try:
        ZoneFailoverNotifier(message=message).notify(dict(context))
    except Exception as exc:  # a notification never decides the failover
        log.warning("notification not sent: %s", str(exc)[:300])


@task(retries=0, trigger_rule="none_failed", outlets=[ZONES])
@run.reported
def report(**context: Any) -> dict[str, Any]:
    """What the run did, zone by zone (nothing when there was nothing to do); an event on the zones
    asset, so that ``register_services`` follows an evacuation or a restore at once. Skipped in a dry
    run (nothing changed, nothing to follow)."""
    if run.params_of(context).get("dry_run"):
        raise AirflowSkipException("dry run: nothing changed")
    done = [r for r in run.flatten(run.pull(context["ti"], "act")) if isinstance(r, dict)]
    for r in done:
        log.info("%s", r)
    return {"zones": done}


def _what_exists(ti: Any) -> list[str]:
    done = [r for r in run.flatten(run.pull(ti, "act")) if isinstance(r, dict)]
    return [f"{r['zone']}: {r['action']}" for r in done]


LIFECYCLE = run.Lifecycle(
    done_task="report",
    success_state=None,
    apply_tasks=APPLY_TASKS,
    lock_task=None,
    what_exists=_what_exists,
    plan_task="decide",
)
finish = run.finish_task(LIFECYCLE)
