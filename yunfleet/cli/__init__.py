"""The ``yunfleet`` console command (contract).

    yunfleet clusters                     registered clusters and their state
    yunfleet kubeconfig <cluster>         the cluster's admin kubeconfig, on stdout
    yunfleet ticket <dag_id> <ticket_id>  trigger a DAG run for a ticket through the REST API, follow it

Exit codes: 0 done; 1 the run failed or the cluster is unknown; 2 bad input (nothing was sent);
3 the platform cannot be reached or is misconfigured; 4 gave up following a run that is still going.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENV, EXIT_TIMEOUT = 0, 1, 2, 3, 4

class CommandError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- registry ------------------------------------------------------------------------------------


def _registry_hook(conn_id: str) -> Any:
    from operators.hooks.registry import YunfleetRegistryHook

    hook = YunfleetRegistryHook(conn_id)
    try:
        _ = hook.registry
    except Exception as exc:
        raise CommandError(
            EXIT_ENV, f"cannot open the fleet registry via connection {conn_id!r}: {exc}"
        ) from exc
    return hook


def cmd_clusters(args: argparse.Namespace) -> str:
    hook = _registry_hook(args.db_conn)
    try:
        records = hook.registry.list_clusters(include_deleted=args.all)
    except Exception as exc:
        raise CommandError(EXIT_ENV, f"cannot read the fleet registry: {type(exc).__name__}: {exc}") from exc
    rows = []
    for r in records:
        spec = r.spec or {}
        pools = {p.name for p in r.node_pools} or {p.get("name") for p in spec.get("node_pools", [])}
        rows.append(
            {
                "name": r.name,
                "state": r.state,
                "region": r.region_id,
                "kubernetes": spec.get("kubernetes_version", ""),
                "zones": ",".join(spec.get("zones", [])),
                "pools": ",".join(sorted(p for p in pools if p)),
                "api": r.endpoints.get("dns_name") or r.api_server_name,
                "ticket": r.ticket_id or "",
                "updated": r.updated_at.strftime("%Y-%m-%d %H:%M:%S") if r.updated_at else "",
            }
        )
    if args.json:
        return json.dumps(rows, indent=2)
    if not rows:
        return "no clusters registered"
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(str(row[h])) for row in rows)) for h in headers}
    lines = ["  ".join(h.upper().ljust(widths[h]) for h in headers)]
    lines += ["  ".join(str(row[h]).ljust(widths[h]) for h in headers) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_kubeconfig(args: argparse.Namespace) -> str:
    from include.fleet.contract import kube_server_url
    from include.provisioning.kubeconfig import render_kubeconfig
    from yunfleet.cli_config import ConfigError, cloud_settings

    hook = _registry_hook(args.db_conn)
    record = hook.registry.get_cluster(args.cluster)
    if record is None or record.state == "deleted":
        raise CommandError(
            EXIT_FAILED,
            f"cluster {args.cluster!r} is not registered; `yunfleet clusters` lists the registered ones",
        )
    if not record.has_credentials:
        raise CommandError(
            EXIT_FAILED, f"cluster {args.cluster!r} has no credentials yet (state {record.state})"
        )
    try:
        creds = hook.registry.get_credentials(args.cluster)
    except ValueError as exc:
        raise CommandError(EXIT_ENV, f"cannot decrypt the credentials of {args.cluster!r}: {exc}") from exc
    try:
        cloud = cloud_settings(args.cloud_conn)
    except ConfigError as exc:
        raise CommandError(EXIT_ENV, str(exc)) from exc
    ca_pem = creds["ca_cert_pem"]
    if cloud.kube_ca_file:
        try:
            ca_pem = Path(cloud.kube_ca_file).read_text()
        except OSError as exc:
            raise CommandError(EXIT_ENV, f"kube_ca_file {cloud.kube_ca_file} unreadable: {exc}") from exc
    url = kube_server_url(record.name, record.domain or cloud.domain, cloud.kube_server_template)
    return render_kubeconfig(record.name, url, ca_pem, creds["admin_token"]).rstrip("\n")


# -- tickets -------------------------------------------------------------------------------------


def _parse_set(values: Sequence[str]) -> dict[str, Any]:
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


def _load_conf(args: argparse.Namespace) -> dict[str, Any]:
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
    conf.update(_parse_set(args.set or []))
    conf["ticket_id"] = args.ticket_id
    return conf


def local_errors(dag_id: str, conf: dict[str, Any]) -> list[str]:
    """The errors the platform would answer with, found before anything is sent."""
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


def default_run_id(ticket_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", ticket_id).strip("-")[:64] or "ticket"
    return f"ticket__{safe}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"


def cmd_ticket(args: argparse.Namespace, out: TextIO) -> int:
    from include.provisioning.params import TICKET_ID_PATTERN
    from yunfleet.cli_api import AirflowApi, ApiError
    from yunfleet.cli_config import DEFAULT_API_USER, ConfigError, api_password, default_api_url

    if not re.match(TICKET_ID_PATTERN, args.ticket_id):
        raise CommandError(EXIT_USAGE, f"ticket id {args.ticket_id!r} must be 1-64 of A-Z a-z 0-9 . _ : / -")
    conf = _load_conf(args)
    errors = local_errors(args.dag_id, conf)
    if errors:
        raise CommandError(EXIT_USAGE, "invalid conf, nothing was sent: " + "; ".join(errors))
    settings = args.settings
    try:
        password = api_password(settings, args.user or DEFAULT_API_USER)
    except ConfigError as exc:
        raise CommandError(EXIT_ENV, str(exc)) from exc
    api = AirflowApi(args.api_url or default_api_url(settings), args.user or DEFAULT_API_USER, password)
    run_id = args.run_id or default_run_id(args.ticket_id)
    note = args.note or f"ticket {args.ticket_id}"
    try:
        dag = api.get_dag(args.dag_id)
        if dag.get("is_paused"):
            if not args.unpause:
                raise CommandError(
                    EXIT_USAGE, f"DAG {args.dag_id} is paused; unpause it in the UI or pass --unpause"
                )
            api.unpause(args.dag_id)
        run = api.trigger(args.dag_id, run_id=run_id, conf=conf, note=note)
        print(f"triggered {args.dag_id} run {run['dag_run_id']} for ticket {args.ticket_id}", file=out)
        if args.no_follow:
            return EXIT_OK
        state = api.follow(
            args.dag_id,
            run["dag_run_id"],
            timeout_s=args.timeout,
            poll_s=args.poll,
            on_change=lambda line: print(f"  {line}", file=out, flush=True),
        )
    except ApiError as exc:
        if exc.status in (400, 422):
            raise CommandError(EXIT_USAGE, f"the platform refused the request: {exc}") from exc
        if exc.status == 404:
            raise CommandError(EXIT_FAILED, f"not found: {exc}") from exc
        raise CommandError(EXIT_ENV, str(exc)) from exc
    except TimeoutError as exc:
        raise CommandError(EXIT_TIMEOUT, f"{exc}; it keeps running, follow it in the UI") from exc
    finally:
        api.close()
    print(f"run {run_id}: {state}", file=out)
    return EXIT_OK if state == "success" else EXIT_FAILED


# -- entry point ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yunfleet", description="Yunfleet fleet automation")
    parser.add_argument(
        "--db-conn", default="yunfleet_db", help="registry connection id (default yunfleet_db)"
    )
    parser.add_argument(
        "--cloud-conn",
        default="alibaba_cloud_default",
        help="cloud connection id (default alibaba_cloud_default)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    clusters = sub.add_parser("clusters", help="list registered clusters")
    clusters.add_argument("--json", action="store_true", help="machine-readable output")
    clusters.add_argument("--all", action="store_true", help="include deleted clusters")

    kubeconfig = sub.add_parser("kubeconfig", help="print a cluster's admin kubeconfig")
    kubeconfig.add_argument("cluster")

    ticket = sub.add_parser("ticket", help="trigger and follow a DAG run for a ticket")
    ticket.add_argument("dag_id", help="e.g. provision_cluster, decommission_cluster")
    ticket.add_argument("ticket_id")
    ticket.add_argument("--conf", help="JSON object, or @file.json")
    ticket.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="one param (value parsed as JSON)"
    )
    ticket.add_argument("--note", help="run note (default: 'ticket <id>')")
    ticket.add_argument("--run-id", help="DAG run id (default derived from the ticket)")
    ticket.add_argument(
        "--api-url", help="Airflow base URL (default: YUNFLEET_API_URL or the local platform)"
    )
    ticket.add_argument("--user", help="API user (default: YUNFLEET_API_USER or admin)")
    ticket.add_argument("--unpause", action="store_true", help="unpause the DAG if it is paused")
    ticket.add_argument("--no-follow", action="store_true", help="return once the run is queued")
    ticket.add_argument("--timeout", type=float, default=3600.0, help="seconds to follow the run")
    ticket.add_argument("--poll", type=float, default=2.0, help="seconds between polls")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout = sys.stdout
    # Airflow and Alembic log to stdout on import; keep stdout for the command's own output
    # (`kubectl --kubeconfig <(yunfleet kubeconfig demo)` must get a clean document).
    with contextlib.redirect_stdout(sys.stderr):
        try:
            from yunfleet.cli_config import prepare_environment

            args.settings = prepare_environment()
            if args.command == "ticket":
                return cmd_ticket(args, stdout)
            handler = {"clusters": cmd_clusters, "kubeconfig": cmd_kubeconfig}[args.command]
            text = handler(args)
        except CommandError as exc:
            print(f"yunfleet: {exc}", file=sys.stderr)
            return exc.code
        except KeyboardInterrupt:
            return 130
    print(text, file=stdout)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
