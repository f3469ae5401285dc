"""The ``yunfleet`` console command (contract).

    yunfleet clusters                     registered clusters and their state
    yunfleet kubeconfig <cluster>         the cluster's admin kubeconfig, on stdout
    yunfleet ticket <dag_id> <ticket_id>  trigger a DAG run for a ticket through the REST API, follow it

Exit codes: 0 done; 1 the run failed or the cluster is unknown; 2 bad input (nothing was sent);
3 the platform cannot be reached or is misconfigured; 4 gave up following a run that is still going.
One module per subcommand (``clusters``, ``kubeconfig``, ``ticket``); ``config`` finds the platform.
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
    """Run one subcommand: its output on stdout, ``yunfleet: <reason>`` on stderr; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout = sys.stdout
    # Airflow and Alembic log to stdout on import; keep stdout for the command's own output
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
