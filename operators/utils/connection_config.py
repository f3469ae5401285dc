"""Settings of an ``alibaba_cloud`` connection, resolved once: argument > connection extra > default."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from include.errors import ConfigurationError
from include.fleet.contract import KUBE_SERVER_TEMPLATE, kube_server_url
from operators.utils.products import CLOUD_PRODUCTS

DEFAULT_PROTOCOL = "https"
DEFAULT_CONNECT_TIMEOUT_MS = 5000
DEFAULT_READ_TIMEOUT_MS = 10000


def _first(*values: Any) -> Any:
    """The first value that is not None (an explicit empty string still counts as set)."""
    return next((v for v in values if v is not None), None)


def _as_int(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be an integer number of milliseconds, got {value!r}") from None
    if number <= 0:
        raise ConfigurationError(f"{name} must be positive, got {number}")
    return number


def is_loopback_endpoint(endpoint: str | None) -> bool:
    if not endpoint:
        return False
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AlibabaCloudConnectionConfig:
    """Everything a hook needs from the connection, with its precedence applied.

    Precedence for every setting: hook argument > connection extra > default. The AccessKey comes
    from login/password, or from the extras ``access_key_id`` / ``access_key_secret``.
    """

    conn_id: str | None
    access_key_id: str | None = field(default=None, repr=False)
    access_key_secret: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    region_id: str | None = None
    endpoint: str | None = None
    endpoints: Mapping[str, str] = field(default_factory=dict)
    protocol: str = DEFAULT_PROTOCOL
    connect_timeout_ms: int = DEFAULT_CONNECT_TIMEOUT_MS
    read_timeout_ms: int = DEFAULT_READ_TIMEOUT_MS
    dns_domain: str | None = None
    kube_server_template: str = KUBE_SERVER_TEMPLATE
    kube_ca_file: str | None = None
    #: ``retry`` extra: fields of ``operators.utils.retry.RetryPolicy`` to change (checked by the hook).
    retry: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        conn_id: str | None,
        *,
        login: str | None = None,
        password: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> AlibabaCloudConnectionConfig:
        """Apply argument > extra > default. ``overrides`` are the hook's arguments (None = unset)."""
        extra = dict(extra or {})
        unknown = set(overrides) - {
            "region_id",
            "endpoint",
            "endpoints",
            "protocol",
            "connect_timeout_ms",
            "read_timeout_ms",
            "dns_domain",
            "kube_server_template",
            "kube_ca_file",
        }
        if unknown:
            raise ConfigurationError(f"unknown Alibaba Cloud setting(s): {sorted(unknown)}")

        def pick(name: str, default: Any = None) -> Any:
            return _first(overrides.get(name), extra.get(name), default)

        endpoints = pick("endpoints", {})
        if isinstance(endpoints, str):
            try:
                endpoints = json.loads(endpoints) if endpoints.strip() else {}
            except json.JSONDecodeError:
                raise ConfigurationError(
                    'extra \'endpoints\' must be a JSON object like {"ecs": "host:port"}'
                ) from None
        if not isinstance(endpoints, Mapping):
            raise ConfigurationError(
                f"'endpoints' must map a product ({', '.join(CLOUD_PRODUCTS)}) to host[:port]"
            )
        bad = set(endpoints) - set(CLOUD_PRODUCTS)
        if bad:
            raise ConfigurationError(
                f"'endpoints' has unknown product(s) {sorted(bad)}; known: {list(CLOUD_PRODUCTS)}"
            )
        retry = extra.get("retry") or {}
        if isinstance(retry, str):
            try:
                retry = json.loads(retry) if retry.strip() else {}
            except json.JSONDecodeError:
                raise ConfigurationError(
                    "extra 'retry' must be a JSON object like {\"throttle_max_total_seconds\": 65}"
                ) from None
        if not isinstance(retry, Mapping):
            raise ConfigurationError("extra 'retry' must map RetryPolicy fields to numbers")
        protocol = str(pick("protocol", DEFAULT_PROTOCOL)).lower()
        if protocol not in ("http", "https"):
            raise ConfigurationError(f"protocol must be 'http' or 'https', got {protocol!r}")
        return cls(
            conn_id=conn_id,
            access_key_id=_first(login or None, extra.get("access_key_id")),
            access_key_secret=_first(password or None, extra.get("access_key_secret")),
            security_token=extra.get("security_token"),
            region_id=pick("region_id"),
            endpoint=pick("endpoint") or None,
            endpoints={k: str(v) for k, v in endpoints.items() if v},
            protocol=protocol,
            connect_timeout_ms=_as_int(
                "connect_timeout_ms", pick("connect_timeout_ms", DEFAULT_CONNECT_TIMEOUT_MS)
            ),
            read_timeout_ms=_as_int("read_timeout_ms", pick("read_timeout_ms", DEFAULT_READ_TIMEOUT_MS)),
            dns_domain=pick("dns_domain"),
            kube_server_template=pick("kube_server_template", KUBE_SERVER_TEMPLATE),
            kube_ca_file=pick("kube_ca_file"),
            retry=dict(retry),
        )

    def endpoint_for(self, product: str) -> str | None:
        """Per-product endpoint, else the global one, else None (the SDK's regional endpoint)."""
        if product not in CLOUD_PRODUCTS:
            raise ConfigurationError(f"unknown product {product!r}; known: {list(CLOUD_PRODUCTS)}")
        return self.endpoints.get(product) or self.endpoint

    def require_credentials(self) -> tuple[str, str]:
        if not self.access_key_id or not self.access_key_secret:
            raise ConfigurationError(
                f"connection {self.conn_id!r} has no AccessKey: set login (AccessKeyId) and password "
                "(AccessKeySecret)"
            )
        if not self.region_id:
            raise ConfigurationError(f"connection {self.conn_id!r} has no region_id in its extra")
        return self.access_key_id, self.access_key_secret

    def kube_server(self, cluster: str, domain: str | None = None) -> str:
        domain = domain or self.dns_domain
        if "{domain}" in self.kube_server_template and not domain:
            raise ConfigurationError("dns_domain is needed to build the API server URL; set it in the extra")
        return kube_server_url(cluster, domain or "", self.kube_server_template)
