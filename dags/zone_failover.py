"""
### Zone failover: evacuate a failing availability zone, restore it gradually

Started by zone health (a zone failed, recovered, or its evacuation expired) or by hand with
`zone_id`, `action` (`evacuate` | `restore`), `ticket_id`, `reason`, `expires_in`.

1. **decide**: the manual request, or what the zone states and evacuations ask for now.
2. **act** (one per zone): **evacuate** = capacity guard, the weights before it remembered, weights
   to 0 (API-server load balancers first, at most 20 servers per `SetBackendServers` call), the
   global DNS records of clusters left without a serving zone disabled, nodes cordoned (capacity
   reconciliation leaves the zone out); **restore** = 10% -> 50% -> 100% of
   each backend's previous weight with a health probe between steps, nodes uncordoned. With
   `dry_run`: the plan in the log and `dry_run` audit rows only.
3. **report** and **finish**: the outcome, a notification per transition, the signed callback.

Every evacuation expires (default 1 h, at most 72 h); a manual one overrides an automatic one.
"""

from __future__ import annotations

from airflow.sdk import dag

from flows import zone_failover as steps
from flows.defaults import CLOUD_RETRIES, START_DATE, params_from
from flows.zone_events import ZONE_EVENTS
from flows.zone_params import zone_failover_param_specs


@dag(
    dag_id="zone_failover",
    schedule=ZONE_EVENTS,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["yunfleet", "zones", "failover", "mutating"],
    doc_md=__doc__,
    default_args={"owner": "platform", **CLOUD_RETRIES},
    params=params_from(zone_failover_param_specs()),
)
def zone_failover() -> None:
    acted = steps.act.expand(action=steps.decide())
    acted >> steps.report() >> steps.finish()


zone_failover()
