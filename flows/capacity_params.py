"""JSON schemas of the ``reconcile_capacity`` params, for the trigger form, the REST API and the CLI.

Imported at DAG parse time: nothing beyond ``include.provisioning.params``.
"""

from __future__ import annotations

from include.provisioning.params import ParamSpec, provision_param_specs
from include.services.params import register_services_param_specs


def reconcile_capacity_param_specs() -> dict[str, ParamSpec]:
    """The params of ``reconcile_capacity``, in form order; all optional (the DAG also runs on a schedule
    and on events)."""
    shared = register_services_param_specs()
    return {
        "clusters": ParamSpec(
            schema=shared["clusters"].schema,
            default=[],
            description="Registered clusters to reconcile this run (empty: every ready cluster, or the "
            "clusters whose pods turned unschedulable when the run was started by that event).",
        ),
        "ticket_id": shared["ticket_id"],
        "dry_run": ParamSpec(
            schema={"type": "boolean", "title": "Dry run", "section": "Run"},
            default=False,
            description="Observe and plan only: the plan table in the log, no mutating call, audit rows "
            "marked dry_run.",
        ),
        "callback_url": provision_param_specs()["callback_url"],
    }
