"""JSON schemas of the ``zone_failover`` params, for the trigger form, the REST API and the CLI.

Imported at DAG parse time: nothing beyond ``include``. All optional: the DAG also runs on zone
health's events (no conf); a manual run names ``zone_id``, ``action`` and ``ticket_id``, which
``decide`` checks before any cloud call.
"""

from __future__ import annotations

from include.provisioning.params import TICKET_ID_PATTERN, ParamSpec, provision_param_specs

#: an Alibaba Cloud zone id (``cn-hangzhou-h``)
ZONE_ID_PATTERN = r"^[a-z]{2}-[a-z0-9-]+-[a-z0-9]+$"


def zone_failover_param_specs() -> dict[str, ParamSpec]:
    """The params of ``zone_failover``, in form order."""
    return {
        "zone_id": ParamSpec(
            schema={
                "type": ["null", "string"],
                "pattern": ZONE_ID_PATTERN,
                "title": "Zone",
                "section": "Zone",
            },
            default=None,
            description="Availability zone to evacuate or restore by hand (e.g. cn-hangzhou-h); empty when "
            "zone health started the run.",
        ),
        "action": ParamSpec(
            schema={
                "type": ["null", "string"],
                "enum": [None, "evacuate", "restore"],
                "title": "Action",
                "section": "Zone",
            },
            default=None,
            description="evacuate: SLB weights of the zone's backends to 0, nodes cordoned, DNS and new "
            "capacity elsewhere; restore: back to the previous weights in steps (10%, 50%, 100%).",
        ),
        "ticket_id": ParamSpec(
            schema={
                "type": ["null", "string"],
                "pattern": TICKET_ID_PATTERN,
                "title": "Ticket",
                "section": "Zone",
            },
            default=None,
            description="Id of the ticket a manual run serves (required with action); its audit rows "
            "carry it.",
        ),
        "reason": ParamSpec(
            schema={"type": ["null", "string"], "maxLength": 500, "title": "Reason", "section": "Zone"},
            default=None,
            description="Why, in a sentence (kept with the evacuation).",
        ),
        "expires_in": ParamSpec(
            schema={
                "type": ["null", "integer"],
                "minimum": 60,
                "maximum": 259200,
                "title": "Expires in (s)",
                "section": "Zone",
            },
            default=None,
            description="Seconds until the evacuation is restored on its own (60 s to 72 h; default 1 h). "
            "Evacuating an evacuated zone again extends it.",
        ),
        "dry_run": ParamSpec(
            schema={"type": "boolean", "title": "Dry run", "section": "Run"},
            default=False,
            description="Decide and plan only: the weight changes and cordons in the log, no mutating call, "
            "audit rows marked dry_run.",
        ),
        "callback_url": provision_param_specs()["callback_url"],
    }
