"""What the Service registry plans from: zone records, exported Services, cluster views, settings.

Everything here is a small frozen dataclass with a JSON form (XComs carry them between tasks).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from include.fleet.contract import EXPORT_ANNOTATION, WEIGHT_ANNOTATION, service_records_owner

#: Alidns weights (``UpdateDNSSLBWeight``): integers 1 to 100 (the console's 0 is refused by the API).
MIN_WEIGHT, MAX_WEIGHT = 1, 100
#: Weight of a Service without ``yunfleet.io/weight``: room to go below (1-9) and above (11-100).
DEFAULT_WEIGHT = 10
#: Default TTL of the records, in seconds: the Enterprise Standard edition's minimum (60 s); the
#: Free and Personal editions need 600 (https://www.alibabacloud.com/help/en/dns/ttl-definition).
DEFAULT_TTL = 60
#: Largest TTL Alidns accepts on any edition, in seconds (same page).
MAX_TTL = 86400

#: ``fleet_id`` when the connection names none (as ExternalDNS's ``--txt-owner-id``); set one per
#: fleet when several fleets share a zone
DEFAULT_FLEET_ID = "default"

POLICY_SYNC = "sync"
POLICY_UPSERT_ONLY = "upsert-only"
POLICIES = (POLICY_SYNC, POLICY_UPSERT_ONLY)

#: a cluster whose Services were read this run
MODE_OBSERVED = "observed"
#: a cluster not read this run (not in ``clusters``, busy, or unreachable): its names stay as they are
MODE_KEPT = "kept"
#: a cluster that is leaving or left the fleet: its names go
MODE_GONE = "gone"
MODES = (MODE_OBSERVED, MODE_KEPT, MODE_GONE)


@dataclass(frozen=True)
class ZoneRecord:
    """One record of the managed zone, as ``DescribeDomainRecords`` lists it.

    :param status: ``ENABLE`` or ``DISABLE`` (a paused record is not answered).
    :param weight: the record's weighted-round-robin weight (1-100), when the API reports one.
    :param weighted: the API's ``LbaStatus``: weighted round robin is open at the record's name.
    """

    record_id: str
    rr: str
    type: str
    value: str
    ttl: int
    status: str = "ENABLE"
    weight: int | None = None
    weighted: bool = False
    locked: bool = False
    line: str = "default"

    @property
    def enabled(self) -> bool:
        return self.status == "ENABLE"

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ZoneRecord:
        """From one ``DomainRecords.Record`` item of ``DescribeDomainRecords``."""
        weight = raw.get("Weight")
        return cls(
            record_id=str(raw["RecordId"]),
            rr=str(raw.get("RR") or "").lower(),
            type=str(raw.get("Type") or "").upper(),
            value=str(raw.get("Value") or ""),
            ttl=int(raw.get("TTL") or 600),
            status=str(raw.get("Status") or "ENABLE").upper(),
            weight=int(weight) if weight not in (None, "") else None,
            weighted=bool(raw.get("LbaStatus")),
            locked=bool(raw.get("Locked")),
            line=str(raw.get("Line") or "default"),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ZoneRecord:
        return cls(**data)


@dataclass(frozen=True)
class ExportedService:
    """A Service of type LoadBalancer annotated ``yunfleet.io/export: "true"`` in one cluster.

    :param addresses: its load balancer's IPv4 addresses (``status.loadBalancer.ingress[].ip``),
        sorted; empty while the cloud has not given it one.
    :param weight: from ``yunfleet.io/weight`` (1-100); ``None`` means the default.
    :param problem: why the Service cannot be published as asked (a bad annotation); its names are
        then left as they are.
    """

    cluster: str
    namespace: str
    name: str
    addresses: tuple[str, ...] = ()
    weight: int | None = None
    problem: str | None = None

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.namespace}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["addresses"] = list(self.addresses)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportedService:
        return cls(**{**data, "addresses": tuple(data.get("addresses") or ())})


def exported_service(
    cluster: str,
    namespace: str,
    name: str,
    *,
    service_type: str | None,
    annotations: Mapping[str, str] | None,
    ingress_ips: list[str] | tuple[str, ...],
) -> ExportedService | None:
    """The exported Service, or ``None`` when the Service does not opt in (or is not a LoadBalancer).

    Opting in is exactly ``yunfleet.io/export: "true"``. Only IPv4 ingress addresses are published
    (A records); a weight that is not an integer from 1 to 100 becomes a ``problem``.
    """
    annotations = annotations or {}
    if service_type != "LoadBalancer" or annotations.get(EXPORT_ANNOTATION) != "true":
        return None
    addresses = sorted({ip for ip in ingress_ips if _is_ipv4(ip)}, key=ipaddress.IPv4Address)
    raw_weight = annotations.get(WEIGHT_ANNOTATION)
    weight: int | None = None
    problem = None
    if raw_weight is not None:
        text = raw_weight.strip()
        if text.isdigit() and MIN_WEIGHT <= int(text) <= MAX_WEIGHT:
            weight = int(text)
        else:
            problem = (
                f"{namespace}/{name} in {cluster}: {WEIGHT_ANNOTATION} must be an integer from "
                f"{MIN_WEIGHT} to {MAX_WEIGHT}, got {raw_weight!r}; its names are left as they are"
            )
    return ExportedService(cluster, namespace, name, tuple(addresses), weight, problem)


def _is_ipv4(value: str | None) -> bool:
    try:
        ipaddress.IPv4Address(value or "")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ClusterView:
    """How this run treats a cluster.

    :param mode: ``observed`` (its Services were read: ``services``), ``kept`` (not read: its names
        stay exactly as they are) or ``gone`` (leaving the fleet: its names are removed).
    :param serving: whether its addresses may answer in global names (zone health).
    :param reason: why it is kept or gone, or why it is not serving, for the plan display.
    """

    name: str
    mode: str
    serving: bool = True
    reason: str = ""
    services: tuple[ExportedService, ...] = ()

    def with_services(self, services: list[ExportedService]) -> ClusterView:
        return replace(self, mode=MODE_OBSERVED, services=tuple(services))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "serving": self.serving,
            "reason": self.reason,
            "services": [s.to_json() for s in self.services],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClusterView:
        return cls(
            name=data["name"],
            mode=data["mode"],
            serving=bool(data.get("serving", True)),
            reason=data.get("reason", ""),
            services=tuple(ExportedService.from_json(s) for s in data.get("services") or ()),
        )


@dataclass(frozen=True)
class RegistrationSettings:
    """The fleet's settings for its Service names.

    :param domain: the managed zone (``dns_domain`` of the cloud connection).
    :param owner: the owner in ownership records, ``fleet/<fleet_id>``.
    :param ttl: TTL of every record written, seconds (checked against the edition before writing).
    :param policy: ``sync`` (stale records are removed) or ``upsert-only`` (never removed).
    :param default_weight: weight of a Service without ``yunfleet.io/weight``.
    :param complete: every registered cluster was considered this run, so names of clusters the
        registry no longer knows are stale (``False`` for a run over a ``clusters`` subset).
    """

    domain: str
    owner: str
    ttl: int = DEFAULT_TTL
    policy: str = POLICY_SYNC
    default_weight: int = DEFAULT_WEIGHT
    complete: bool = True

    @classmethod
    def from_extra(
        cls, extra: Mapping[str, Any], *, policy: str = POLICY_SYNC, complete: bool = True
    ) -> RegistrationSettings:
        """From the cloud connection's extra: ``dns_domain``, ``fleet_id`` (default ``default``),
        ``service_dns_ttl`` (seconds, default 60). Values are checked by :meth:`errors`."""
        ttl: Any = extra.get("service_dns_ttl", DEFAULT_TTL)
        if isinstance(ttl, str) and ttl.strip().isdigit():
            ttl = int(ttl)
        return cls(
            domain=str(extra.get("dns_domain") or ""),
            owner=service_records_owner(str(extra.get("fleet_id") or DEFAULT_FLEET_ID)),
            ttl=ttl,
            policy=policy,
            complete=complete,
        )

    def errors(self) -> list[str]:
        """One line per invalid setting (checked before any cloud call)."""
        problems = []
        if not self.domain:
            problems.append("the cloud connection has no extra 'dns_domain'; set the fleet's DNS zone")
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int) or not 1 <= self.ttl <= MAX_TTL:
            problems.append(
                f"service_dns_ttl must be an integer from 1 to {MAX_TTL} seconds, got {self.ttl!r}"
            )
        if self.policy not in POLICIES:
            problems.append(f"policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if not MIN_WEIGHT <= self.default_weight <= MAX_WEIGHT:
            problems.append(f"default weight must be {MIN_WEIGHT}-{MAX_WEIGHT}, got {self.default_weight}")
        return problems

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegistrationSettings:
        return cls(**data)
