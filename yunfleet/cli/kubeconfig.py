"""``yunfleet kubeconfig <cluster>``: the cluster's admin kubeconfig, built from the registry."""

from __future__ import annotations

import argparse
from pathlib import Path

from yunfleet.cli.config import cloud_settings, open_registry
from yunfleet.cli.errors import EXIT_ENV, EXIT_FAILED, CommandError


def cmd_kubeconfig(args: argparse.Namespace) -> str:
    """The kubeconfig document (YAML, no trailing newline).

    The server URL follows the cloud connection's ``kube_server_template`` and its CA comes from
    ``kube_ca_file`` when set (the sandbox), else from the registry. The user is the admin client
    certificate and key kept encrypted in the registry (kubeadm's ``admin.conf`` identity). Exit 1 for
    an unknown cluster or one without credentials yet, 3 when the credentials cannot be decrypted.
    """
    from include.fleet.contract import kube_server_url
    from include.provisioning.kubeconfig import render_kubeconfig

    hook = open_registry(args.db_conn)
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
    cloud = cloud_settings(args.cloud_conn)
    ca_pem = creds["ca_cert_pem"]
    if cloud.kube_ca_file:
        try:
            ca_pem = Path(cloud.kube_ca_file).read_text()
        except OSError as exc:
            raise CommandError(EXIT_ENV, f"kube_ca_file {cloud.kube_ca_file} unreadable: {exc}") from exc
    url = kube_server_url(record.name, record.domain or cloud.domain, cloud.kube_server_template)
    cert, key = creds.get("admin_cert_pem"), creds.get("admin_key_pem")
    if not cert or not key:
        raise CommandError(
            EXIT_FAILED,
            f"cluster {args.cluster!r} has no admin client certificate yet; "
            "re-run provision_cluster to issue one",
        )
    return render_kubeconfig(record.name, url, ca_pem, cert, key).rstrip("\n")
