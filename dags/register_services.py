"""
### Register exported Services in the fleet's DNS zone

Services of type LoadBalancer annotated `yunfleet.io/export: "true"` in any registered cluster are
published in Alibaba Cloud DNS as `<svc>.<ns>.<cluster>.<domain>` (that cluster's load balancer) and
`<svc>.<ns>.global.<domain>` (one record per serving cluster, weighted round robin, weights from
`yunfleet.io/weight`). Every name carries a TXT ownership record; a name Yunfleet does not own is
reported and never touched.

1. **select_clusters**: the registry decides which clusters are read (`clusters`, or every ready
   one), which are kept as they are and which are leaving; zone health decides who serves.
2. **observe_cluster** (one per cluster): its exported Services and their addresses.
3. **plan**: the whole zone in `ceil(records / 500)` reads, the minimal diff, the edition's TTL
   bounds and the Great Expectations gate. A converged fleet plans nothing.
4. **show_plan**: the plan in the log; with `dry_run` the run stops here (audit rows `dry_run`).
5. **apply**: the changes, name by name; **report** fails the run if a cluster or a name failed.
6. **finish**: the outcome, and the signed callback to `callback_url`.

Runs every 2 minutes, when clusters are provisioned or decommissioned, when zone health announces
a change (its watcher probes every 5 s) and when zone failover evacuated or restored a zone: a zone
that is failed or evacuated serves no global name. `policy` `upsert-only` never removes a record.
See docs/service-registry.md.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag

from flows import register_services as steps
from flows.defaults import CLOUD_RETRIES, CLUSTERS, START_DATE, ZONES, params_from
from flows.zone_events import ZONE_EVENTS
from include.services.params import register_services_param_specs


@dag(
    dag_id="register_services",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/2 * * * *", timezone="UTC"), assets=(CLUSTERS | ZONES | ZONE_EVENTS)
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["yunfleet", "services", "dns", "mutating"],
    doc_md=__doc__,
    default_args={"owner": "platform", **CLOUD_RETRIES},
    params=params_from(register_services_param_specs()),
)
def register_services() -> None:
    clusters = steps.select_clusters()
    planned = steps.plan()
    clusters >> steps.observe_cluster.expand(cluster=clusters) >> planned
    applied = steps.apply(planned)
    steps.show_plan(planned) >> applied
    steps.report(planned, applied) >> steps.finish()


register_services()
