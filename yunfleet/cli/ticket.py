"""``yunfleet ticket <dag_id> <ticket_id>``: trigger a DAG run for a ticket and follow it.

The conf is checked here first against the same param schema and rules the platform applies, so a
bad request is refused with the platform's own words before anything is sent (exit 2). Then the run
is triggered through the Airflow REST API (:mod:`yunfleet.airflow_api`) and followed task by task.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from yunfleet.cli.config import DEFAULT_API_USER, api_password, default_api_url
from yunfleet.cli.errors import EXIT_ENV, EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, CommandError

if TYPE_CHECKING:
    from yunfleet.airflow_api import AirflowApi


def parse_set(values: Sequence[str]) -> dict[str, Any]:
    """``--set key=value`` items as a dict; each value is parsed as JSON, else kept as a string."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise CommandError(EXIT_USAGE, f"--set takes key=value, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def load_conf(args: argparse.Namespace) -> dict[str, Any]:
    """The run conf: ``--conf`` (a JSON object, or ``@file``), then each ``--set``, then the ticket id.

    Later sources win. Raises :class:`CommandError` (exit 2) for an unreadable file, invalid JSON
    or JSON that is not an object.
    """
    conf: dict[str, Any] = {}
    if args.conf:
        text = args.conf
        if text.startswith("@"):
            try:
                text = Path(text[1:]).read_text()
            except OSError as exc:
                raise CommandError(EXIT_USAGE, f"cannot read conf file {text[1:]}: {exc}") from exc
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise CommandError(EXIT_USAGE, f"--conf is not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise CommandError(EXIT_USAGE, "--conf must be a JSON object")
        conf.update(loaded)
    conf.update(parse_set(args.set or []))
    conf["ticket_id"] = args.ticket_id
    return conf


def local_errors(dag_id: str, conf: dict[str, Any]) -> list[str]:
    """The errors the platform would answer with, found before anything is sent.

    Only the DAGs whose params this package knows are checked; others go to the platform as they are.
    """
    from include.provisioning.params import (
        apply_defaults,
        decommission_param_specs,
        provision_param_specs,
        schema_errors,
    )

    if dag_id == "provision_cluster":
        from include.provisioning.request import ProvisionRequest
        from include.provisioning.validation import request_errors

        specs = provision_param_specs()
        errors = schema_errors(specs, conf)
        if not errors:
            errors = request_errors(ProvisionRequest.from_params(apply_defaults(specs, conf)))
        return errors
    if dag_id == "decommission_cluster":
        errors = schema_errors(decommission_param_specs(), conf)
        if not errors and conf.get("confirm_cluster_name") != conf.get("cluster_name"):
            errors.append("confirm_cluster_name: must repeat cluster_name exactly")
        return errors
    return []


def default_run_id(ticket_id: str, now: datetime | None = None) -> str:
    """``ticket__<ticket, up to 64 safe chars>__<UTC time to the microsecond>``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", ticket_id).strip("-")[:64] or "ticket"
    return f"ticket__{safe}__{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%S%f')}"


def connect(args: argparse.Namespace) -> AirflowApi:
    """The REST client for ``--api-url`` (default: ``YUNFLEET_API_URL`` or the local platform)."""
    from yunfleet.airflow_api import AirflowApi

    settings = args.settings
    user = args.user or DEFAULT_API_USER
    return AirflowApi(args.api_url or default_api_url(settings), user, api_password(settings, user))


def cmd_ticket(args: argparse.Namespace, out: TextIO) -> int:
    """Check, trigger and (unless ``--no-follow``) follow the run; print progress to ``out``.

    Exit codes as in :mod:`yunfleet.cli.errors`: 2 when the platform refuses the request (400/422),
    1 when the run fails or the DAG is unknown (404), 3 when the API cannot be reached, 4 when
    ``--timeout`` passes first.
    """
    from include.provisioning.params import TICKET_ID_PATTERN
    from yunfleet.airflow_api import ApiError

    if not re.match(TICKET_ID_PATTERN, args.ticket_id):
        raise CommandError(EXIT_USAGE, f"ticket id {args.ticket_id!r} must be 1-64 of A-Z a-z 0-9 . _ : / -")
    conf = load_conf(args)
    errors = local_errors(args.dag_id, conf)
    if errors:
        raise CommandError(EXIT_USAGE, "invalid conf, nothing was sent: " + "; ".join(errors))
    api = connect(args)
    run_id = args.run_id or default_run_id(args.ticket_id)
    note = args.note or f"ticket {args.ticket_id}"
    try:
        if api.get_dag(args.dag_id).is_paused:
            if not args.unpause:
                raise CommandError(
                    EXIT_USAGE, f"DAG {args.dag_id} is paused; unpause it in the UI or pass --unpause"
                )
            api.set_paused(args.dag_id, False)
        run = api.trigger(args.dag_id, run_id=run_id, conf=conf, note=note)
        print(f"triggered {args.dag_id} run {run.dag_run_id} for ticket {args.ticket_id}", file=out)
        if args.no_follow:
            return EXIT_OK
        state = api.follow(
            args.dag_id,
            run.dag_run_id,
            timeout_s=args.timeout,
            poll_s=args.poll,
            on_change=lambda line: print(f"  {line}", file=out, flush=True),
        )
    except ApiError as exc:
        if exc.status_code in (400, 422):
            raise CommandError(EXIT_USAGE, f"the platform refused the request: {exc}") from exc
        if exc.status_code == 404:
            raise CommandError(EXIT_FAILED, f"not found: {exc}") from exc
        raise CommandError(EXIT_ENV, str(exc)) from exc
    except TimeoutError as exc:
        raise CommandError(EXIT_TIMEOUT, f"{exc}; it keeps running, follow it in the UI") from exc
    finally:
        api.close()
    print(f"run {run_id}: {state}", file=out)
    return EXIT_OK if state == "success" else EXIT_FAILED
