"""The ``yunfleet`` console command (contract).

    yunfleet clusters                     registered clusters and their state
    yunfleet kubeconfig <cluster>         the cluster's admin kubeconfig, on stdout
    yunfleet audit <ticket_id>            everything done for a ticket: its runs and audited calls
    yunfleet ticket <dag_id> <ticket_id>  trigger a DAG run for a ticket through the REST API, follow it

Every subcommand talks to the Airflow API server only (``--api-url`` and a login): the read commands
through the Fleet JSON API (``/yunfleet/api/``, :mod:`yunfleet.fleet_api`, no Airflow import, so they
answer in a fraction of a second), ``ticket`` through Airflow's REST API.

Exit codes: 0 done; 1 the run failed, or the cluster or ticket is unknown, or the user may not read
it; 2 bad input (nothing was sent); 3 the platform cannot be reached or is misconfigured; 4 gave up
following a run that is still going. One module per subcommand (``clusters``, ``kubeconfig``,
``audit``, ``ticket``); ``api`` and ``config`` find the platform.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from yunfleet.cli.config import ConfigError, prepare_environment
from yunfleet.cli.errors import EXIT_ENV, EXIT_OK, CommandError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yunfleet", description="Yunfleet fleet automation")
    platform = argparse.ArgumentParser(add_help=False)
    platform.add_argument(
        "--api-url", help="Airflow base URL (default: YUNFLEET_API_URL or the local platform)"
    )
    platform.add_argument("--user", help="API user (default: YUNFLEET_API_USER or admin)")
    sub = parser.add_subparsers(dest="command", required=True)

    clusters = sub.add_parser("clusters", parents=[platform], help="list registered clusters")
    clusters.add_argument("--json", action="store_true", help="machine-readable output")
    clusters.add_argument("--all", action="store_true", help="include deleted clusters")

    kubeconfig = sub.add_parser("kubeconfig", parents=[platform], help="print a cluster's admin kubeconfig")
    kubeconfig.add_argument("cluster")

    audit = sub.add_parser("audit", parents=[platform], help="everything done for a ticket")
    audit.add_argument("ticket_id")
    audit.add_argument("--cluster", help="only calls on this cluster")
    audit.add_argument("--since", help="ISO 8601 time, or a duration back from now (6h, 7d)")
    audit.add_argument("--until", help="ISO 8601 time, or a duration back from now")
    audit.add_argument("--limit", type=int, default=1000, help="most calls listed (default 1000)")
    audit.add_argument("--json", action="store_true", help="machine-readable output")

    ticket = sub.add_parser("ticket", parents=[platform], help="trigger and follow a DAG run for a ticket")
    ticket.add_argument("dag_id", help="e.g. provision_cluster, decommission_cluster")
    ticket.add_argument("ticket_id")
    ticket.add_argument("--conf", help="JSON object, or @file.json")
    ticket.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="one param (value parsed as JSON)"
    )
    ticket.add_argument("--note", help="run note (default: 'ticket <id>')")
    ticket.add_argument("--run-id", help="DAG run id (default derived from the ticket)")
    ticket.add_argument("--unpause", action="store_true", help="unpause the DAG if it is paused")
    ticket.add_argument("--no-follow", action="store_true", help="return once the run is queued")
    ticket.add_argument("--timeout", type=float, default=3600.0, help="seconds to follow the run")
    ticket.add_argument("--poll", type=float, default=2.0, help="seconds between polls")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand: its output on stdout, ``yunfleet: <reason>`` on stderr; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout = sys.stdout
    # Libraries that log to stdout must not mix with the command's own output
    # (`kubectl --kubeconfig <(yunfleet kubeconfig demo)` must get a clean document).
    with contextlib.redirect_stdout(sys.stderr):
        try:
            args.settings = prepare_environment()
            if args.command == "ticket":
                from yunfleet.cli.ticket import cmd_ticket

                return cmd_ticket(args, stdout)
            if args.command == "clusters":
                from yunfleet.cli.clusters import cmd_clusters

                text = cmd_clusters(args)
            elif args.command == "audit":
                from yunfleet.cli.audit import cmd_audit

                text = cmd_audit(args)
            else:
                from yunfleet.cli.kubeconfig import cmd_kubeconfig

                text = cmd_kubeconfig(args)
        except CommandError as exc:
            print(f"yunfleet: {exc}", file=sys.stderr)
            return exc.code
        except ConfigError as exc:
            print(f"yunfleet: {exc}", file=sys.stderr)
            return EXIT_ENV
        except KeyboardInterrupt:
            return 130
    print(text, file=stdout)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
