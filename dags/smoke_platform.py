"""
### Platform smoke check

Proves that the platform path every Yunfleet DAG relies on works end to end: the scheduler runs a
task, the task reads the `alibaba_cloud_default` connection through the Task SDK, builds the
official ECS client from it and calls the read-only **DescribeRegions** action.

Safe against any account: it changes nothing. `ticket_id` is recorded in the task log only;
`dry_run` is accepted so the trigger form matches the mutating DAGs.

Removed once the real DAGs cover the same path.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="smoke_platform",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    tags=["yunfleet", "smoke"],
    doc_md=__doc__,
    default_args={"owner": "platform", "retries": 2, "retry_delay": timedelta(seconds=5)},
    params={
        "ticket_id": Param(
            type="string",
            pattern=r"^[A-Z][A-Z0-9]*-[0-9]+$",
            description="Ticket that asked for this run, e.g. OPS-123.",
        ),
        "dry_run": Param(True, type="boolean", description="Accepted for symmetry; the check is read-only."),
    },
)
def smoke_platform() -> None:
    @task(pool="alibaba_ecs_api")
    def describe_regions(**context: object) -> list[str]:
        """Call ECS DescribeRegions with the connection's credentials and endpoint."""
        from airflow.sdk import Connection
        from alibabacloud_ecs20140526 import models as ecs_models
        from alibabacloud_ecs20140526.client import Client as EcsClient
        from alibabacloud_tea_openapi import models as open_api_models

        conn = Connection.get("alibaba_cloud_default")
        extra = conn.extra_dejson
        region = extra.get("region_id")
        if not region:
            raise ValueError("connection alibaba_cloud_default has no 'region_id' in its extra")
        config = open_api_models.Config(
            access_key_id=conn.login,
            access_key_secret=conn.password,
            region_id=region,
            endpoint=extra.get("endpoint") or (extra.get("endpoints") or {}).get("ecs"),
            protocol=extra.get("protocol"),
            connect_timeout=int(extra.get("connect_timeout_ms", 5000)),
            read_timeout=int(extra.get("read_timeout_ms", 10000)),
        )
        response = EcsClient(config).describe_regions(ecs_models.DescribeRegionsRequest())
        regions = sorted(r.region_id for r in response.body.regions.region)
        params = context["params"]
        print(
            f"ticket {params['ticket_id']}: {len(regions)} regions visible, including {region}: "  # type: ignore[index]
            f"{region in regions}"
        )
        if region not in regions:
            raise RuntimeError(f"region {region} of the connection is not among the visible regions")
        return regions

    describe_regions()


smoke_platform()
