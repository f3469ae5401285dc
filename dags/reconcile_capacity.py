"""
### Reconcile capacity: pods, nodes and zones

Every ready cluster's capacity follows its demand, on three tiers (docs/capacity.md):

- **pods**: Deployments annotated `yunfleet.io/autoscale: "true"` get replicas by the HPA rule from
  their pods' CPU usage, within `yunfleet.io/min-replicas` / `max-replicas` and any time-of-day floor;
- **nodes**: unschedulable pods (and the replicas about to be added) get new nodes by bin-packing,
  underused nodes are cordoned, drained through the eviction API (PodDisruptionBudgets honoured) and
  released;
- **zones**: each pool stays balanced over its zones; a failed zone gets nothing new, a sold-out
  offering falls back to the next zone or instance type in the same run and is backed off.

1. **select_clusters**: every ready cluster, the `clusters` param, or the clusters whose pods turned
   unschedulable when that event started the run.
2. **observe** (one per cluster): nodes, pods, Deployments, pod CPU usage, pools, zone states, back-offs.
3. **plan**: the three tiers and the Great Expectations gate. A converged fleet plans nothing.
4. **show_plan**: the plan table in the log; with `dry_run` the run stops here (audit rows `dry_run`).
5. **apply** (one per cluster): scale subresource, worker batches with fresh bootstrap tokens,
   cordon/drain/release; **verify** waits for the new nodes and the pending pods.
6. **finish**: the outcome, and the signed callback to `callback_url`.

Runs every 5 minutes, when clusters are provisioned or decommissioned, and at once when pods turn
unschedulable (an asset watcher in the triggerer polls every ready cluster every 5 s).
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, dag

from flows import reconcile_capacity as steps
from flows.capacity_params import reconcile_capacity_param_specs
from flows.defaults import CLOUD_RETRIES, CLUSTERS, START_DATE, params_from
from operators.triggers.capacity import UnschedulablePodsTrigger

UNSCHEDULABLE_PODS = Asset(
    name=steps.UNSCHEDULABLE_ASSET_NAME,
    uri=steps.UNSCHEDULABLE_ASSET_URI,
    watchers=[
        AssetWatcher(
            name="unschedulable_pods", trigger=UnschedulablePodsTrigger(poll_interval=5.0, cooldown=30.0)
        )
    ],
)


@dag(
    dag_id="reconcile_capacity",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="UTC"), assets=(CLUSTERS | UNSCHEDULABLE_PODS)
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["yunfleet", "capacity", "autoscaling", "mutating"],
    doc_md=__doc__,
    default_args={"owner": "platform", **CLOUD_RETRIES},
    params=params_from(reconcile_capacity_param_specs()),
)
def reconcile_capacity() -> None:
    clusters = steps.select_clusters()
    planned = steps.plan()
    clusters >> steps.observe.expand(cluster=clusters) >> planned
    applied = steps.apply.expand(planned=planned)
    steps.show_plan(planned) >> applied
    applied >> steps.verify() >> steps.finish()


reconcile_capacity()
