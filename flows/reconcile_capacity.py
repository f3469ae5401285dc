"""Tasks of the ``reconcile_capacity`` DAG: task X is the function X below.

The fleet-wide capacity reconcile: the registry decides which clusters are read (every ready one, the
``clusters`` param, or the clusters whose pods turned unschedulable when the unschedulable-pods event
started the run); each cluster is observed by one mapped task (``flows.capacity_observe``); the pure
planner (``include.capacity.plan``) plans the three tiers and its Great Expectations suite
(``include.capacity.quality``) gates the plan; the apply step (``flows.capacity_apply``) is mapped
per cluster; verify waits for the new nodes and the pending pods. No per-cluster lock:
``max_active_runs=1`` serialises the runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk import task

from flows import hooks, run

log = logging.getLogger(__name__)

#: the step that writes; ``finish`` reports a failed run as "may have changed" once it ran
APPLY_TASKS = ("apply",)
#: observing a cluster that does not answer should not hold the fleet's run for minutes
OBSERVE_RETRIES: dict[str, Any] = {"retries": 2, "retry_delay": 5, "retry_exponential_backoff": 0}
#: XCom key of ``select_clusters``'s settings (its return value is the clusters to read)
SCOPE_KEY = "scope"
#: XCom key of ``plan``'s clusters that could not be read
UNREAD_KEY = "unread"
#: the asset the unschedulable-pods watcher updates (``dags/reconcile_capacity.py``)
UNSCHEDULABLE_ASSET_NAME = "yunfleet_unschedulable_pods"
UNSCHEDULABLE_ASSET_URI = "x-yunfleet://clusters/unschedulable-pods"

#: connection extras of the run (the planner's own settings are the extra ``capacity``; per cluster,
#: ``capacity_clusters: {cluster: {setting: value}}`` overrides them for that cluster)
SETTINGS_EXTRA = "capacity"
CLUSTER_SETTINGS_EXTRA = "capacity_clusters"
VERIFY_TIMEOUT_EXTRA = "capacity_verify_timeout_s"
DEFAULT_VERIFY_TIMEOUT_S = 300.0
VERIFY_POLL_S = 3.0


def event_clusters(context: Mapping[str, Any]) -> list[str]:
    """Clusters named by the unschedulable-pods events that started this run (``[]`` for other runs)."""
    events = context.get("triggering_asset_events") or {}
    found: set[str] = set()
    try:
        groups = list(events.items())
    except (AttributeError, TypeError):
        return []
    for asset, items in groups:
        if getattr(asset, "name", None) != UNSCHEDULABLE_ASSET_NAME:
            continue
        for event in items or []:
            payload = (getattr(event, "extra", None) or {}).get("payload") or {}
            if isinstance(payload, Mapping) and payload.get("cluster"):
                found.add(str(payload["cluster"]))
    return sorted(found)


def run_settings(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The planner's settings (extra ``capacity``), each cluster's overrides of them (extra
    ``capacity_clusters``) and the apply/verify timeouts, checked; as JSON:
    ``{"planner": {...}, "clusters": {cluster: {...}}, <timeout extras>: seconds}``.

    :raises ValueError: an unknown planner setting, a bad value, or a timeout that is not a positive number.
    """
    from flows.capacity_apply import DEFAULT_DRAIN_TIMEOUT_S, DRAIN_TIMEOUT_EXTRA
    from include.capacity.settings import CapacitySettings

    base = dict(extra.get(SETTINGS_EXTRA) or {})
    planner = CapacitySettings.from_json(base)
    overrides = extra.get(CLUSTER_SETTINGS_EXTRA) or {}
    if not isinstance(overrides, Mapping) or not all(isinstance(v, Mapping) for v in overrides.values()):
        raise ValueError(f"connection extra {CLUSTER_SETTINGS_EXTRA!r} must map cluster names to settings")
    clusters = {}
    for name, override in sorted(overrides.items()):
        try:
            clusters[str(name)] = CapacitySettings.from_json({**base, **override}).to_json()
        except ValueError as exc:
            raise ValueError(f"{CLUSTER_SETTINGS_EXTRA}[{name!r}]: {exc}") from exc
    timeouts = {}
    for key, default in (
        (DRAIN_TIMEOUT_EXTRA, DEFAULT_DRAIN_TIMEOUT_S),
        (VERIFY_TIMEOUT_EXTRA, DEFAULT_VERIFY_TIMEOUT_S),
    ):
        value = extra.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"connection extra {key!r} must be a positive number of seconds, got {value!r}")
        timeouts[key] = float(value)
    return {"planner": planner.to_json(), "clusters": clusters, **timeouts}


def planner_settings(scope: Mapping[str, Any] | None, cluster: str) -> dict[str, Any]:
    """The planner's settings (JSON) for ``cluster``: its override when it has one, else the fleet's."""
    scope = scope or {}
    return dict((scope.get("clusters") or {}).get(cluster) or scope.get("planner") or {})


@task(retries=0)
@run.entry
def select_clusters(**context: Any) -> list[str]:
    """Settings and the registry's clusters: which are reconciled this run; no cloud call.

    Every ready cluster, or the ``clusters`` param (each must be registered and ready), or, for a run the
    unschedulable-pods event started, the clusters it named. Settings go to XCom key ``scope``.
    """
    params = run.params_of(context)
    ready = {c.name for c in hooks.registry().registry.list_clusters() if c.state == "ready"}
    wanted = list(params.get("clusters") or [])
    if wanted:
        missing = [c for c in wanted if c not in ready]
        if missing:
            run.fail(
                f"invalid clusters, nothing was changed: not registered or not ready: {', '.join(missing)}"
            )
        chosen = sorted(wanted)
    else:
        triggered = [c for c in event_clusters(context) if c in ready]
        chosen = triggered or sorted(ready)
        if triggered:
            log.info("started by unschedulable pods in %s", ", ".join(triggered))
    try:
        settings = run_settings(hooks.cloud_extra())
    except ValueError as exc:
        run.fail(f"invalid settings, nothing was changed: {exc}")
    context["ti"].xcom_push(key=SCOPE_KEY, value=settings)
    log.info("reconciling %d cluster(s): %s", len(chosen), ", ".join(chosen) or "none")
    return chosen


@task(pool="kubernetes_api", max_active_tis_per_dagrun=8, **OBSERVE_RETRIES)
@run.reported
def observe(cluster: str, **context: Any) -> dict[str, Any]:
    """One cluster's snapshot (nodes, pods, Deployments, pod CPU usage, pools, zone states, back-offs,
    history, unneeded times, launched workers not yet nodes) and its worker instances per pool and zone."""
    from flows.capacity_observe import observe_snapshot

    scope = run.pull(context["ti"], "select_clusters", SCOPE_KEY) or {}
    window = float(planner_settings(scope, cluster).get("downscale_stabilization_s", 300.0))
    snapshot, instances = observe_snapshot(
        cluster,
        kube=hooks.kube(cluster),
        ecs=hooks.ecs(cluster),
        registry=hooks.registry().registry,
        extra=hooks.cloud_extra(),
        window_s=window,
    )
    log.info(
        "%s: %d nodes (%d launching), %d pods (%d unschedulable), %d Deployments, %d pools",
        cluster,
        len(snapshot.nodes),
        len(snapshot.upcoming),
        len(snapshot.pods),
        sum(1 for p in snapshot.pods if p.unschedulable),
        len(snapshot.deployments),
        len(snapshot.pools),
    )
    return {"cluster": cluster, "snapshot": snapshot.to_json(), "instances": instances}


def observed_by_cluster(ti: Any) -> dict[str, dict[str, Any]]:
    return {o["cluster"]: o for o in run.flatten(run.pull(ti, "observe"))}


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The plan table as log lines: one per action, with its reason."""
    lines = []
    for r in rows:
        if r["kind"] == "scale_deployment":
            what = f"replicas {r['previous']} -> {r['replicas']}"
        elif r["kind"] == "add_nodes":
            what = f"+{r['count']} x {r['instance_type']} in {r['zone']}"
        else:
            what = f"remove (pool {r['pool']}, {r['zone']})"
        pods = f" pods: {r['pods']}" if r.get("pods") else ""
        lines.append(f"{r['cluster']:<16} {r['kind']:<16} {r['target']:<28} {what} | {r['reason']}{pods}")
    return lines


@task(retries=0, trigger_rule="all_done")
@run.reported
def plan(**context: Any) -> list[dict[str, Any]]:
    """Plan each observed cluster and gate every plan with the planner's GX suite.

    Returns one item per observed cluster (what ``apply`` maps over): ``{"cluster", "plan", "rows"}``;
    clusters that could not be read go to XCom key ``unread`` and are left as they are.
    """
    from include.capacity.model import CapacityPlan, Snapshot
    from include.capacity.plan import plan_capacity
    from include.capacity.quality import check_plan
    from include.capacity.settings import CapacitySettings

    ti = context["ti"]
    scope = run.pull(ti, "select_clusters", SCOPE_KEY)
    if scope is None:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("select_clusters did not finish; nothing to plan")
    observed = observed_by_cluster(ti)
    wanted = run.flatten(run.pull(ti, "select_clusters"))
    unread = [c for c in wanted if c not in observed]
    ti.xcom_push(key=UNREAD_KEY, value=unread)
    items: list[dict[str, Any]] = []
    failures: list[str] = []
    for cluster in sorted(observed):
        snapshot = Snapshot.from_json(observed[cluster]["snapshot"])
        settings = CapacitySettings.from_json(planner_settings(scope, cluster))
        result: CapacityPlan = plan_capacity(snapshot, settings)
        report = check_plan(result, snapshot, settings)
        if not report.success:
            failures.append(f"{cluster}: " + " | ".join(report.failures))
            continue
        for key, note in sorted(result.notes.items()):
            log.info("%s note %s: %s", cluster, key, note)
        for key, error in sorted(result.errors.items()):
            log.warning("%s error %s: %s", cluster, key, error)
        if result.unmanaged_nodes:
            log.info("%s unmanaged nodes (never touched): %s", cluster, ", ".join(result.unmanaged_nodes))
        items.append({"cluster": cluster, "plan": result.to_json(), "rows": result.rows()})
    if failures:
        run.fail("a plan failed its gate, nothing was changed: " + "; ".join(failures)[:900])
    total = sum(len(i["plan"]["actions"]) for i in items)
    log.info("%d cluster(s) planned, %d action(s); %d cluster(s) not read", len(items), total, len(unread))
    return items


@task.short_circuit(ignore_downstream_trigger_rules=False, retries=0)
def show_plan(planned: list[dict[str, Any]], **context: Any) -> bool:
    """The plan table in the log; a dry run records each action as a ``dry_run`` audit row and stops here."""
    from include.capacity.model import CapacityPlan

    rows = [r for item in planned or [] for r in item["rows"]]
    actions = []
    for item in planned or []:
        result = CapacityPlan.from_json(item["plan"])
        for a in result.actions:
            product, action, target = {
                "scale_deployment": ("kubernetes", "ScaleDeployment", a.target),
                "add_nodes": ("ecs", "RunInstances", f"{result.cluster}/{a.pool}/{a.zone}"),
                "remove_node": ("ecs", "DeleteInstances", a.instance_id or a.target),
            }[a.kind]
            actions.append(run.PlannedAction(product, action, target, a.to_json(), result.cluster))
    return run.show_plan(context, "fleet", table(rows) or ["nothing to change"], actions)


def store_state(registry: Any, cluster: str, plan: Any, snapshot: Any, settings: Any, run_id: str) -> None:
    """What the next run needs (new recommendations, unneeded timers), and for the Fleet view the plan
    rows and one snapshot of what the run observed (nodes Ready per zone, pods running and pending)."""
    import datetime as dt

    from include.fleetview.capacity import snapshot_records

    def at(t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, dt.UTC)

    fresh: dict[float, dict[tuple[str, str], int]] = {}
    for key, entries in plan.history.items():
        before = set(snapshot.history.get(key, ()))
        namespace, _, name = key.partition("/")
        for t, replicas in entries:
            if (t, replicas) not in before:
                fresh.setdefault(t, {})[(namespace, name)] = replicas
    for t, recommended in sorted(fresh.items()):
        registry.record_recommendations(cluster, recommended, at=at(t))
    registry.prune_recommendations(
        before=at(snapshot.now - settings.downscale_stabilization_s), cluster=cluster
    )
    registry.set_unneeded_nodes(cluster, {n: at(t) for n, t in plan.unneeded_since.items()})
    for record in snapshot_records(snapshot, plan, run_id):
        registry.record_capacity(cluster, **record)
    counts: dict[tuple[str | None, str | None], int] = {}
    for node in (*snapshot.nodes, *snapshot.upcoming):
        counts[(node.pool, node.zone)] = counts.get((node.pool, node.zone), 0) + 1
    for a, row in zip(plan.actions, plan.rows(), strict=True):
        if a.kind == "scale_deployment":
            tier, current, desired = "pod", int(a.previous or 0), int(a.replicas or 0)
        else:
            current = counts.get((a.pool, a.zone), 0)
            desired = current + a.count if a.kind == "add_nodes" else current - 1
            tier = "node"
        registry.record_capacity(
            cluster,
            tier=tier,
            subject=a.target,
            current=current,
            desired=desired,
            zone_id=a.zone,
            reason={"kind": a.kind, "reason": a.reason, "pods": row["pods"], "run_id": run_id},
        )


@task(pool="alibaba_ecs_api", max_active_tis_per_dagrun=4)
@run.reported
def apply(planned: dict[str, Any], **context: Any) -> dict[str, Any]:
    """One cluster's plan (a mapped task per cluster): Deployments scaled, then nodes added (planned
    offering, else its fallbacks in this task), then nodes removed (cordon, drain, release).

    Also stores what the next run needs (history, unneeded timers) and the plan rows for the Fleet view.
    """
    import time

    from flows import capacity_apply as steps
    from include.capacity.model import ADD_NODES, REMOVE_NODE, SCALE_DEPLOYMENT, CapacityPlan, Snapshot
    from include.capacity.settings import CapacitySettings

    ti = context["ti"]
    cluster = planned["cluster"]
    result = CapacityPlan.from_json(planned["plan"])
    scope = run.pull(ti, "select_clusters", SCOPE_KEY) or {}
    settings = CapacitySettings.from_json(planner_settings(scope, cluster))
    observed = observed_by_cluster(ti)[cluster]
    snapshot = Snapshot.from_json(observed["snapshot"])
    instances: dict[str, list[str]] = {k: list(v) for k, v in observed["instances"].items()}
    registry = hooks.registry().registry
    store_state(registry, cluster, result, snapshot, settings, context["run_id"])
    out: dict[str, Any] = {"cluster": cluster, "scaled": [], "added": [], "removed": [], "refused": []}
    if result.converged:
        return out
    kube = hooks.kube(cluster)
    actions = sorted(enumerate(result.actions), key=lambda pair: (steps.ORDER[pair[1].kind], pair[0]))
    for _, action in (p for p in actions if p[1].kind == SCALE_DEPLOYMENT):
        out["scaled"].append(steps.scale_deployment(action, kube=kube))
    adds = [p for p in actions if p[1].kind == ADD_NODES]
    if adds:
        extra = hooks.cloud_extra()
        ctx = steps.launch_context(
            cluster,
            ecs=hooks.ecs(cluster),
            registry=registry,
            extra=extra,
            pools=sorted({a.pool for _, a in adds if a.pool}),
        )
        kms = hooks.kms(cluster)
        blocked: set[Any] = set()
        for index, action in adds:
            out["added"].append(
                steps.add_nodes(
                    action,
                    index,
                    ctx=ctx,
                    snapshot=snapshot,
                    settings=settings,
                    instances=instances,
                    blocked=blocked,
                    registry=registry,
                    kms=kms,
                    kube=kube,
                    now=time.time(),
                )
            )
    timeout = float(scope.get(steps.DRAIN_TIMEOUT_EXTRA, steps.DEFAULT_DRAIN_TIMEOUT_S))
    ecs = hooks.ecs(cluster)
    for _, action in (p for p in actions if p[1].kind == REMOVE_NODE):
        done = steps.remove_node(action, kube=kube, ecs=ecs, drain_timeout=timeout)
        out["removed" if done["removed"] else "refused"].append(done)
    return out


@task(pool="kubernetes_api", trigger_rule="none_failed", retries=2)
@run.reported
def verify(**context: Any) -> dict[str, Any]:
    """Read back what the run changed; the run's success depends on this step.

    Waits (up to ``capacity_verify_timeout_s``, default 300 s) until every launched instance is a Ready
    node and the pods the new nodes were for are scheduled; deletes the run's KMS delivery secrets
    once the nodes joined (or the wait ended). Fails naming what is missing, a cluster that could not
    be read, and a scale-up for which every offering was sold out; refused drains are reported.
    """
    ti = context["ti"]
    if run.params_of(context).get("dry_run"):
        return {"dry_run": True}
    scope = run.pull(ti, "select_clusters", SCOPE_KEY) or {}
    timeout = float(scope.get(VERIFY_TIMEOUT_EXTRA, DEFAULT_VERIFY_TIMEOUT_S))
    applied = run.flatten(run.pull(ti, "apply"))
    problems = [
        f"{c}: could not be read; left as it was" for c in run.flatten(run.pull(ti, "plan", UNREAD_KEY))
    ]
    from flows.capacity_verify import wait_for_capacity

    summary: dict[str, Any] = {"clusters": {}}
    for item in applied:
        cluster = item["cluster"]
        for add in item["added"]:
            if add["zone"] is None:
                tried = ", ".join(
                    f"{t['offering'][0]}/{t['offering'][1]}: {t['outcome']}" for t in add["tried"]
                )
                problems.append(
                    f"{cluster}: no offering could launch {add['count']} node(s) of {add['target']} ({tried})"
                )
        for refused in item["refused"]:
            log.warning("%s: %s", cluster, refused["refused"])
        missing = wait_for_capacity(cluster, item, timeout=timeout, poll=VERIFY_POLL_S)
        problems.extend(f"{cluster}: {m}" for m in missing)
        summary["clusters"][cluster] = {
            "scaled": len(item["scaled"]),
            "added": sum(len(a["created_ids"]) for a in item["added"]),
            "removed": len(item["removed"]),
            "refused": [r["node"] for r in item["refused"]],
        }
    if problems:
        run.fail(f"{len(problems)} problem(s): " + "; ".join(problems)[:900])
    return summary


LIFECYCLE = run.Lifecycle(done_task="verify", success_state=None, apply_tasks=APPLY_TASKS, lock_task=None)

finish = run.finish_task(LIFECYCLE)
