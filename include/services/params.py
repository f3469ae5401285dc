"""JSON schemas of the ``register_services`` params, for the trigger form, the REST API and the CLI."""

from __future__ import annotations

from include.provisioning.params import (
    CLUSTER_NAME_PATTERN,
    TICKET_ID_PATTERN,
    ParamSpec,
    provision_param_specs,
)
from include.services.model import POLICIES, POLICY_SYNC


def register_services_param_specs() -> dict[str, ParamSpec]:
    """The params of ``register_services``, in form order; all optional (the DAG also runs on a schedule)."""
    return {
        "clusters": ParamSpec(
            schema={
                "type": "array",
                "title": "Clusters",
                "items": {"type": "string", "pattern": CLUSTER_NAME_PATTERN},
                "uniqueItems": True,
                "maxItems": 100,
                "section": "Scope",
            },
            default=[],
            description="Registered clusters to read this run (empty: all). Names of the other clusters "
            "stay exactly as they are.",
        ),
        "ticket_id": ParamSpec(
            schema={
                "type": ["null", "string"],
                "pattern": TICKET_ID_PATTERN,
                "title": "Ticket",
                "section": "Scope",
            },
            default=None,
            description="Id of the ticket a manual run serves; its audit rows carry it (none on schedule).",
        ),
        "policy": ParamSpec(
            schema={"type": "string", "enum": list(POLICIES), "title": "Policy", "section": "Scope"},
            default=POLICY_SYNC,
            description="sync: names no longer exported are removed; upsert-only: nothing is ever removed.",
        ),
        "dry_run": ParamSpec(
            schema={"type": "boolean", "title": "Dry run", "section": "Run"},
            default=False,
            description="Plan only: no mutating call, audit rows marked dry_run.",
        ),
        "callback_url": provision_param_specs()["callback_url"],
    }
