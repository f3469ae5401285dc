"""``yunfleet kubeconfig <cluster>``: the cluster's admin kubeconfig, from the Fleet API.

The API hands it only to Airflow users who may read the registry's connection (``yunfleet_db``);
exit 1 for an unknown cluster, one without credentials yet, or a user who may not have it.
"""

from __future__ import annotations

import argparse

from yunfleet.cli.api import fleet_api, fleet_call


def cmd_kubeconfig(args: argparse.Namespace) -> str:
    """The kubeconfig document (YAML, no trailing newline)."""
    with fleet_api(args) as api:
        return fleet_call(lambda: api.kubeconfig(args.cluster)).rstrip("\n")
