"""The DNS names of exported Services, and the ``source`` their ownership records carry.

A Service ``web`` in namespace ``shop`` of cluster ``c1`` is published as ``web.shop.c1.<domain>``
(the A record of that cluster's load balancer) and ``web.shop.global.<domain>`` (one A record per
serving cluster, weighted). Both names carry a TXT ownership record whose ``source`` is the name's
scope, namespace and Service: ``c1/shop/web`` and ``global/shop/web``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from include.fleet.contract import GLOBAL_LABEL, global_record_rr, service_record_rr

#: RFC 1035: at most 63 octets per label and 253 for the whole name (without the final dot).
MAX_LABEL, MAX_NAME = 63, 253
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


@dataclass(frozen=True)
class ServiceName:
    """One published name: its RR in the zone, its scope (a cluster or ``global``) and its source."""

    rr: str
    scope: str
    namespace: str
    service: str

    @property
    def is_global(self) -> bool:
        return self.scope == GLOBAL_LABEL

    @property
    def source(self) -> str:
        return f"{self.scope}/{self.namespace}/{self.service}"


def cluster_name(cluster: str, namespace: str, service: str) -> ServiceName:
    """``<svc>.<ns>.<cluster>``."""
    return ServiceName(service_record_rr(service, namespace, cluster), cluster, namespace, service)


def global_name(namespace: str, service: str) -> ServiceName:
    """``<svc>.<ns>.global``."""
    return ServiceName(global_record_rr(service, namespace), GLOBAL_LABEL, namespace, service)


def parse_source(source: str) -> ServiceName | None:
    """The name an ownership record's ``source`` (``<scope>/<ns>/<svc>``) stands for, or ``None``."""
    parts = source.split("/")
    if len(parts) != 3 or not all(_LABEL.match(p) for p in parts):
        return None
    scope, namespace, service = parts
    if scope == GLOBAL_LABEL:
        return global_name(namespace, service)
    return cluster_name(scope, namespace, service)


def parse_rr(rr: str) -> ServiceName | None:
    """The Service name an RR of the zone stands for (``<svc>.<ns>.<scope>``), or ``None``."""
    parts = rr.split(".")
    if len(parts) != 3 or not all(_LABEL.match(p) for p in parts):
        return None
    service, namespace, scope = parts
    return parse_source(f"{scope}/{namespace}/{service}")


def name_problem(cluster: str, namespace: str, service: str, domain: str) -> str | None:
    """Why ``<svc>.<ns>.<cluster>.<domain>`` cannot be published, or ``None``.

    Refused: labels that are not lowercase DNS labels of at most 63 characters, names longer than
    253 characters with the domain, and the cluster name ``global`` (it would collide with the
    names across clusters).
    """
    if cluster == GLOBAL_LABEL:
        return f"cluster {cluster!r}: the label {GLOBAL_LABEL!r} is reserved for names across clusters"
    for what, label in (("cluster", cluster), ("namespace", namespace), ("service", service)):
        if len(label) > MAX_LABEL or not _LABEL.match(label):
            return f"{what} {label!r} is not a DNS label of at most {MAX_LABEL} characters"
    for name in (cluster_name(cluster, namespace, service), global_name(namespace, service)):
        fqdn = f"_yunfleet.{name.rr}.{domain}"
        if len(fqdn) > MAX_NAME:
            return f"{fqdn} is longer than {MAX_NAME} characters"
    return None
