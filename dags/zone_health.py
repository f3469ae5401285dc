"""
### Zone health: probe every availability zone of the fleet

Each zone is judged from four signals read through the APIs (never by connecting to an instance):
ECS instance states, SLB backend health on the fleet's load balancers (a stopped listener counts),
node readiness per cluster, and API server readiness of clusters with a control plane there. A state
machine per zone, kept in the fleet registry, moves it healthy -> suspect -> failed -> recovering ->
healthy with hysteresis (3 bad probes to fail, 5 good ones over 60 s to recover; docs/zone-failover.md).

1. **probe**: one probe round; if every zone looks failed at once, nothing changes and an alert is raised.
2. **announce**: a state change, an expired evacuation or an alert becomes an event on the zone-events
   asset, which starts `zone_failover` and `register_services`; skipped when nothing changed.

Runs every minute. The same probe runs every 5 s in the triggerer (an asset watcher), which is what
normally detects an outage first.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag

from flows import zone_health as steps
from flows.defaults import START_DATE


@dag(
    dag_id="zone_health",
    schedule=CronTriggerTimetable("* * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["yunfleet", "zones", "health"],
    doc_md=__doc__,
    default_args={"owner": "platform"},
)
def zone_health() -> None:
    steps.announce(steps.probe())


zone_health()
