"""Hook for the fleet registry and audit store on the ``yunfleet_db`` connection."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from include.audit import AuditStore
from include.errors import ConfigurationError
from include.registry import CredentialCipher, FleetRegistry, create_registry_engine, migrate

try:
    from airflow.sdk import BaseHook
except ImportError:  # pragma: no cover - Airflow < 3
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

_ENGINES: dict[str, Engine] = {}
_MIGRATED: set[str] = set()
_LOCK = threading.Lock()


def registry_engine(url: str, *, ensure_schema: bool = True) -> Engine:
    """One engine per URL per process; the schema is migrated to head on first use."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = create_registry_engine(url)
        if ensure_schema and url not in _MIGRATED:
            migrate(engine)
            _MIGRATED.add(url)
        return engine


def airflow_fernet_key() -> str:
    from airflow.configuration import conf

    return conf.get("core", "fernet_key", fallback="") or ""


class YunfleetRegistryHook(BaseHook):
    """Opens the fleet registry and the audit store.

    :param yunfleet_db_conn_id: connection whose extra ``url`` is the SQLAlchemy URL
        (``conn_type`` generic). Default ``yunfleet_db``.
    :param fernet_key: key(s) that encrypt cluster credentials; default Airflow's ``[core] fernet_key``.
    """

    conn_name_attr = "yunfleet_db_conn_id"
    default_conn_name = "yunfleet_db"
    conn_type = "generic"
    hook_name = "Yunfleet registry"

    def __init__(
        self, yunfleet_db_conn_id: str = default_conn_name, *, fernet_key: str | None = None
    ) -> None:
        super().__init__()
        self.yunfleet_db_conn_id = yunfleet_db_conn_id
        self._fernet_key = fernet_key
        self._prefetched: Any = None

    async def aprefetch_connections(self) -> None:
        """Read the connection on the event loop (triggers): sync reads from a thread cannot reach it."""
        self._prefetched = await self.aget_connection(self.yunfleet_db_conn_id)

    @cached_property
    def url(self) -> str:
        conn = self._prefetched or self.get_connection(self.yunfleet_db_conn_id)
        extra: dict[str, Any] = conn.extra_dejson or {}
        url = extra.get("url") or (conn.host if conn.host and "://" in conn.host else None)
        if not url:
            raise ConfigurationError(
                f"connection {self.yunfleet_db_conn_id!r} has no extra 'url' (the registry's SQLAlchemy URL)"
            )
        return str(url)

    @cached_property
    def engine(self) -> Engine:
        return registry_engine(self.url)

    @cached_property
    def cipher(self) -> CredentialCipher | None:
        key = self._fernet_key if self._fernet_key is not None else airflow_fernet_key()
        return CredentialCipher(key) if key else None

    @cached_property
    def registry(self) -> FleetRegistry:
        return FleetRegistry(self.engine, self.cipher)

    @cached_property
    def audit_store(self) -> AuditStore:
        return AuditStore(self.engine)

    def get_conn(self) -> FleetRegistry:
        return self.registry

    def test_connection(self) -> tuple[bool, str]:
        try:
            count = len(self.registry.list_clusters(include_deleted=True))
        except Exception as exc:  # the UI wants a message, never a traceback
            return False, f"registry unreachable: {type(exc).__name__}: {exc}"
        return True, f"registry reachable; {count} cluster(s) registered"
