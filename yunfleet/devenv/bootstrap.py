"""Create the connections and pools of the local platform in the Airflow metadata DB, idempotently.

Run as ``python -m yunfleet.devenv.bootstrap`` in the platform's environment (AIRFLOW_HOME set, DB
migrated). Connections that a user has pointed somewhere else (a real Alibaba Cloud account, a
Postgres registry) are left alone; connections still pointing at the sandbox are refreshed so that a
changed sandbox port is picked up.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from yunfleet.devenv.config import POOLS, SANDBOX_ACCESS_KEY_ID, DevSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _is_managed(conn_id: str, login: str | None, extra: dict[str, object]) -> bool:
    """Whether an existing connection is still the generated sandbox/SQLite default."""
    if conn_id == "alibaba_cloud_default":
        return login == SANDBOX_ACCESS_KEY_ID
    url = extra.get("url")
    return isinstance(url, str) and url.startswith("sqlite:///")


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _upsert_connection(session: Session, conn_id: str, spec: dict[str, object]) -> str:
    # The metadata-DB model on purpose: this is admin tooling run before the platform starts, not
    # task code (tasks read connections through airflow.sdk.Connection).
    from airflow.models import Connection

    extra = spec.get("extra", {})
    login = _opt_str(spec.get("login"))
    password = _opt_str(spec.get("password"))
    query = session.query(Connection)  # noqa: AIR311
    existing = query.filter(Connection.conn_id == conn_id).one_or_none()  # noqa: AIR311
    if existing is None:
        session.add(
            Connection(  # noqa: AIR311
                conn_id=conn_id,
                conn_type=str(spec["conn_type"]),
                login=login,
                password=password,
                extra=json.dumps(extra),
            )
        )
        return "created"
    if not _is_managed(conn_id, existing.login, existing.extra_dejson):
        return "kept (points away from the local default)"
    existing.conn_type = str(spec["conn_type"])
    existing.login = login
    existing.set_password(password)
    existing.set_extra(json.dumps(extra))
    return "up to date"


def _migrate_registry(settings: DevSettings) -> str:
    """Bring the local registry/audit SQLite file to the latest schema (Alembic, idempotent)."""
    from include.registry import create_registry_engine, migrate

    settings.registry_db.parent.mkdir(parents=True, exist_ok=True)
    engine = create_registry_engine(settings.registry_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return f"registry {settings.registry_db}: schema at head"


def bootstrap(settings: DevSettings) -> list[str]:
    """Create connections, pools and the registry DB file; return one line per object."""
    from airflow.models import Pool
    from airflow.utils.session import create_session

    report = [_migrate_registry(settings)]
    with create_session() as session:
        for conn_id, spec in (
            ("alibaba_cloud_default", settings.alibaba_connection()),
            ("yunfleet_db", settings.registry_connection()),
        ):
            report.append(f"connection {conn_id}: {_upsert_connection(session, conn_id, spec)}")
        for name, slots in POOLS.items():
            pool = session.query(Pool).filter(Pool.pool == name).one_or_none()
            if pool is None:
                Pool.create_or_update_pool(
                    name, slots, f"API rate limit: {name}", include_deferred=False, session=session
                )
                report.append(f"pool {name}: created with {slots} slots")
            else:
                report.append(f"pool {name}: kept ({pool.slots} slots)")
    return report


def main() -> int:
    for line in bootstrap(DevSettings.from_env()):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
