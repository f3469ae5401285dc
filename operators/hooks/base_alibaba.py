"""Base hook for Alibaba Cloud: the connection, one SDK client per product, retries and audit.

Every API call goes through :meth:`AlibabaCloudBaseHook.invoke`: SDK errors become
``include.errors`` types, transient ones are retried by the hook's :class:`RetryPolicy` (the SDK's
own retry stays off), and every mutating call writes exactly one audit row (``ok``, ``error``,
or ``dry_run`` without calling the cloud).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from include.audit import Redactor
from include.errors import CloudError, ConfigurationError
from include.fleet.contract import derive_client_token
from include.loopback import PROXY_VARIABLES as _PROXY_VARS
from operators.utils.audit import AuditContext, AuditRecorder, AuditSink, audited_call
from operators.utils.connection_config import AlibabaCloudConnectionConfig, is_loopback_endpoint
from operators.utils.errors import translate_sdk_error
from operators.utils.products import product as product_info
from operators.utils.products import sdk_module
from operators.utils.retry import RetryPolicy
from operators.waiters import WaiterMixin

try:
    from airflow.sdk import BaseHook
except ImportError:  # pragma: no cover - Airflow < 3
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

log = logging.getLogger(__name__)
_PROXY_LOCK = threading.Lock()
_CONN_EXTRA_PREFIX = "extra__alibaba_cloud__"


def _snake(action: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", action).lower()


def _sdk_method(client: Any, action: str) -> Any:
    """The client's ``<action>_with_options`` method (SDK names fold acronyms: ``tcplistener``)."""
    method = getattr(client, f"{_snake(action)}_with_options", None)
    if method is None:
        wanted = f"{action.lower()}withoptions"
        names = [n for n in dir(client) if n.endswith("_with_options") and n.replace("_", "") == wanted]
        if not names:
            raise ConfigurationError(f"the {type(client).__module__} SDK has no action {action!r}")
        method = getattr(client, names[0])
    return method


def _drop_proxies_for_loopback() -> None:
    """The SDK sends even loopback traffic through HTTP(S)_PROXY; a loopback endpoint must not."""
    with _PROXY_LOCK:
        removed = [name for name in _PROXY_VARS if os.environ.pop(name, None) is not None]
    if removed:
        log.warning("Loopback endpoint configured: ignoring proxy variables %s for this process", removed)


class AlibabaCloudBaseHook(WaiterMixin, BaseHook):
    """Interact with Alibaba Cloud through the official SDKs.

    :param alibaba_cloud_conn_id: connection id (conn_type ``alibaba_cloud``); login = AccessKeyId,
        password = AccessKeySecret, extra = ``region_id``, ``endpoint``, ``endpoints``, ``protocol``,
        ``connect_timeout_ms``, ``read_timeout_ms``, ``dns_domain``, ``kube_server_template``,
        ``kube_ca_file``.
    :param region_id, endpoint, endpoints, protocol, connect_timeout_ms, read_timeout_ms: override the
        connection's extra (argument > extra > default).
    :param retry_policy: how transient errors are retried (default :class:`RetryPolicy` with the
        connection extra ``retry`` applied).
    :param dry_run: mutating calls write a ``dry_run`` audit row and are not sent.
    :param audit_sink: where audit rows go; default the audit store on ``yunfleet_db_conn_id``.
    :param audit_context: who is calling; default the running task's context.
    """

    conn_name_attr = "alibaba_cloud_conn_id"
    default_conn_name = "alibaba_cloud_default"
    conn_type = "alibaba_cloud"
    hook_name = "Alibaba Cloud"
    #: The product this hook's ``conn`` talks to (set by subclasses; a key of
    #: ``operators.utils.products.PRODUCTS``, which names its SDK).
    product: str = "ecs"

    def __init__(
        self,
        alibaba_cloud_conn_id: str = default_conn_name,
        *,
        region_id: str | None = None,
        endpoint: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        protocol: str | None = None,
        connect_timeout_ms: int | None = None,
        read_timeout_ms: int | None = None,
        retry_policy: RetryPolicy | None = None,
        dry_run: bool = False,
        audit_sink: AuditSink | None = None,
        audit_context: AuditContext | None = None,
        yunfleet_db_conn_id: str = "yunfleet_db",
        cluster: str | None = None,
    ) -> None:
        super().__init__()
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self._overrides = {
            "region_id": region_id,
            "endpoint": endpoint,
            "endpoints": endpoints,
            "protocol": protocol,
            "connect_timeout_ms": connect_timeout_ms,
            "read_timeout_ms": read_timeout_ms,
        }
        self._retry_policy = retry_policy
        self.dry_run = dry_run
        self._audit_sink = audit_sink
        self._audit_context = audit_context
        self.yunfleet_db_conn_id = yunfleet_db_conn_id
        self.cluster = cluster
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._prefetched: Any = None

    async def aprefetch_connections(self) -> None:
        """Read the connection on the event loop (triggers): sync reads from a thread cannot reach it."""
        try:
            self._prefetched = await self.aget_connection(self.alibaba_cloud_conn_id)
        except Exception as exc:  # a missing connection leaves only hook arguments
            log.warning("Connection %r not found (%s)", self.alibaba_cloud_conn_id, exc)

    # connection ---------------------------------------------------------------------------

    @cached_property
    def conn_config(self) -> AlibabaCloudConnectionConfig:
        """The connection, read once and wrapped with its precedence rules applied."""
        login = password = None
        extra: dict[str, Any] = {}
        try:
            conn = self._prefetched or self.get_connection(self.alibaba_cloud_conn_id)
        except Exception as exc:  # a missing connection leaves only hook arguments
            log.warning(
                "Connection %r not found (%s); using hook arguments only", self.alibaba_cloud_conn_id, exc
            )
        else:
            login, password = conn.login, conn.password
            extra = {k.removeprefix(_CONN_EXTRA_PREFIX): v for k, v in (conn.extra_dejson or {}).items()}
        config = AlibabaCloudConnectionConfig.resolve(
            self.alibaba_cloud_conn_id, login=login, password=password, extra=extra, **self._overrides
        )
        self._mask(config.access_key_secret)
        self._mask(config.security_token)
        return config

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """The hook argument, else :class:`RetryPolicy` with the connection extra ``retry`` applied."""
        return self._retry_policy or RetryPolicy.from_settings(self.conn_config.retry)

    @staticmethod
    def _mask(secret: str | None) -> None:
        if not secret:
            return
        try:
            from airflow.sdk.log import mask_secret
        except ImportError:  # pragma: no cover
            return
        mask_secret(secret)

    def sdk_config(self, product: str) -> Any:
        """The Tea ``Config`` for one product (SDK retries off: the hook retries)."""
        from alibabacloud_tea_openapi import models as open_api_models

        cfg = self.conn_config
        access_key_id, access_key_secret = cfg.require_credentials()
        endpoint = cfg.endpoint_for(product)
        if is_loopback_endpoint(endpoint):
            _drop_proxies_for_loopback()
        return open_api_models.Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            security_token=cfg.security_token,
            region_id=cfg.region_id,
            endpoint=endpoint,
            protocol=cfg.protocol,
            connect_timeout=cfg.connect_timeout_ms,
            read_timeout=cfg.read_timeout_ms,
            user_agent="yunfleet",
        )

    def get_client(self, product: str | None = None) -> Any:
        """The cached SDK client for ``product`` (``ecs``, ``slb``, ``alidns``, ``kms``)."""
        product = product or self.product
        with self._clients_lock:
            client = self._clients.get(product)
            if client is None:
                client_class = sdk_module(product, "client").Client
                client = self._clients[product] = client_class(self.sdk_config(product))
            return client

    @property
    def conn(self) -> Any:
        return self.get_client(self.product)

    def get_conn(self) -> Any:
        return self.conn

    def models(self, product: str | None = None) -> Any:
        """The SDK's request model module for ``product``."""
        return sdk_module(product or self.product, "models")

    def _request(self, action: str, params: Mapping[str, Any], *, product: str | None = None) -> Any:
        """The SDK request model of ``action``; ``None`` values dropped, ``RegionId`` added for
        regional products (ECS, SLB)."""
        product = product or self.product
        body = {k: v for k, v in params.items() if v is not None}
        if product_info(product).regional:
            body = {"RegionId": self.conn_config.region_id, **body}
        return getattr(self.models(product), f"{action}Request")().from_map(body)

    # audit --------------------------------------------------------------------------------

    @cached_property
    def audit_context(self) -> AuditContext:
        return self._audit_context or AuditContext.current()

    @cached_property
    def audit(self) -> AuditRecorder:
        sink = self._audit_sink
        if sink is None:
            from operators.hooks.registry import YunfleetRegistryHook

            sink = YunfleetRegistryHook(self.yunfleet_db_conn_id).audit_store
        redactor = Redactor()
        redactor.add_secret(self.conn_config.access_key_secret)
        redactor.add_secret(self.conn_config.security_token)
        return AuditRecorder(sink=sink, context=self.audit_context, redactor=redactor)

    def client_token(self, intent: str) -> str:
        """ClientToken for ``intent``, stable across retries of this task."""
        return derive_client_token(self.audit_context.identity, intent)

    # calls --------------------------------------------------------------------------------

    def _runtime(self) -> Any:
        from darabonba.runtime import RuntimeOptions

        cfg = self.conn_config
        return RuntimeOptions(read_timeout=cfg.read_timeout_ms, connect_timeout=cfg.connect_timeout_ms)

    def invoke(
        self,
        action: str,
        request: Any,
        *,
        product: str | None = None,
        mutating: bool = False,
        target: str | None = None,
        cluster: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> dict[str, Any] | None:
        """Call ``action`` with an SDK request model and return the response body as a dict.

        Transient errors are retried by :attr:`retry_policy`; the final error is raised as an
        ``include.errors.CloudError``. A mutating call writes one audit row; in dry-run it
        writes a ``dry_run`` row, sends nothing and returns None.
        """
        product = product or self.product
        request_map = request.to_map() if hasattr(request, "to_map") else dict(request or {})
        cluster = cluster or self.cluster
        if mutating and self.dry_run:
            log.info("[dry run] %s %s %s (not sent)", product, action, target or "")
            self.audit.record(
                product=product,
                action=action,
                outcome="dry_run",
                request=request_map,
                target=target,
                cluster=cluster,
            )
            return None
        client = self.get_client(product)
        method = _sdk_method(client, action)
        runtime = self._runtime()

        def once() -> Any:
            try:
                return method(request, runtime)
            except CloudError:
                raise
            except Exception as exc:  # every SDK failure is translated below
                raise translate_sdk_error(
                    exc, product=product, action=action, state_changing=mutating
                ) from exc

        log.info("%s %s %s", product, action, target or "")

        def call() -> dict[str, Any]:
            response = (policy or self.retry_policy).call(once)
            return response.body.to_map() if response.body is not None else {}

        if not mutating:
            return call()
        return audited_call(
            lambda: self.audit,
            call,
            product=product,
            action=action,
            request=request_map,
            target=target,
            cluster=cluster,
            request_id_of=lambda body: body.get("RequestId"),
        )

    def invoke_pages(
        self,
        action: str,
        params: Mapping[str, Any],
        *,
        items: tuple[str, str],
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paged ``Describe*`` read, page after page (``PageNumber`` from 1).

        :param items: where a page keeps its items, e.g. ``("Instances", "Instance")`` for
            ``body["Instances"]["Instance"]``.
        :param page_size: ``PageSize`` sent (each API has its maximum: 100 for most ECS and SLB
            reads, 50 for DescribeVpcs/DescribeVSwitches/DescribeSecurityGroups, 500 for Alidns).
        Stops after a short or empty page, or once ``TotalCount`` items were seen.
        """
        page, seen = 1, 0
        outer, inner = items
        while True:
            request = self._request(action, {**params, "PageNumber": page, "PageSize": page_size})
            body = self.invoke(action, request) or {}
            batch = list((body.get(outer) or {}).get(inner) or [])
            yield from batch
            seen += len(batch)
            if len(batch) < page_size or seen >= int(body.get("TotalCount") or 0):
                return
            page += 1

    # UI ---------------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Call ECS DescribeRegions once; return (ok, message) and never raise."""
        try:
            models = self.models("ecs")
            quick = RetryPolicy(max_attempts=2, max_total_seconds=10.0)
            body = (
                self.invoke("DescribeRegions", models.DescribeRegionsRequest(), product="ecs", policy=quick)
                or {}
            )
            regions = [r.get("RegionId") for r in body.get("Regions", {}).get("Region", [])]
        except Exception as exc:  # the UI wants a message, never a traceback
            return False, f"{type(exc).__name__}: {exc}"
        region = self.conn_config.region_id
        if regions and region not in regions:
            return False, f"credentials work but region {region!r} is not offered (regions: {regions})"
        return True, f"connected; region {region} reachable"
