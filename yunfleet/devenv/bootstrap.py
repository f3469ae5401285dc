"""Create the registry, connections and pools of a Yunfleet platform, idempotently.

Run as ``python -m yunfleet.devenv.bootstrap [--from-env]`` in the platform's environment
(AIRFLOW_HOME or AIRFLOW__* variables set, metadata DB migrated). Every object it touches is reported
on one line (``registry ...``, ``connection ...``, ``pool ...``, ``admin ...``).

Local platform (``make run``, no flag): ``alibaba_cloud_default`` points at the sandbox,
``yunfleet_db`` at the SQLite file in ``YUNFLEET_HOME`` and ``yunfleet_callback`` holds the callback
HMAC secret generated once into ``YUNFLEET_HOME/callback-secret`` (a secret set by hand is kept).
Connections that a user has pointed somewhere else (a real Alibaba Cloud account, a Postgres
registry) are left alone; connections still pointing at the sandbox are refreshed so that a changed
sandbox port is picked up.

``YUNFLEET_REGISTRY_URL`` (a SQLAlchemy URL, either mode) moves the registry: its database is created
when missing (PostgreSQL), migrated to head, and ``yunfleet_db`` is set to it.

``--from-env`` (compose's ``airflow-init``, the Helm chart's migration job): the environment is the
source of truth and overwrites what it names.

- ``alibaba_cloud_default`` from ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``
  (required), ``ALIBABA_CLOUD_REGION_ID`` (default ``cn-hangzhou``), ``YUNFLEET_DNS_DOMAIN``
  (required) and, when set, ``ALIBABA_CLOUD_ENDPOINT``, ``ALIBABA_CLOUD_PROTOCOL``,
  ``YUNFLEET_KUBE_SERVER_TEMPLATE``, ``YUNFLEET_KUBE_CA_FILE`` (docs/conventions.md names the extras).
- ``yunfleet_callback`` (HMAC secret of run callbacks) from ``YUNFLEET_CALLBACK_SECRET`` when set.
- the admin password file of the simple auth manager from ``YUNFLEET_ADMIN_PASSWORD`` when set.
- ``AIRFLOW__CORE__FERNET_KEY`` must be a Fernet key and ``AIRFLOW__API_AUTH__JWT_SECRET`` non-empty:
  every component has to share both, so a stack without them is refused here, before it starts.

Exit codes: 0 done; 2 the environment is incomplete (the message names the variable).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from yunfleet.devenv.config import (
    ADMIN_USER,
    POOLS,
    SANDBOX_ACCESS_KEY_ID,
    DevSettings,
    ensure_callback_secret,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REGISTRY_URL_VAR = "YUNFLEET_REGISTRY_URL"
CALLBACK_CONN_ID = "yunfleet_callback"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class BootstrapError(RuntimeError):
    """The environment lacks something the platform needs; the message names it and what to do."""


def _is_managed(conn_id: str, login: str | None, extra: dict[str, object]) -> bool:
    """Whether an existing connection is still the generated sandbox/SQLite default."""
    if conn_id == "alibaba_cloud_default":
        return login == SANDBOX_ACCESS_KEY_ID
    url = extra.get("url")
    return isinstance(url, str) and url.startswith("sqlite:///")


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _upsert_connection(
    session: Session, conn_id: str, spec: dict[str, object], *, authoritative: bool = False
) -> str:
    """Create or refresh one connection; ``authoritative`` overwrites even a hand-edited one."""
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
    if conn_id == CALLBACK_CONN_ID and not authoritative:
        # a secret is never replaced behind the back of the receivers that verify with it
        return "up to date" if existing.password == password else "kept (its secret was set by hand)"
    if not authoritative and not _is_managed(conn_id, existing.login, existing.extra_dejson):
        return "kept (points away from the local default)"
    existing.conn_type = str(spec["conn_type"])
    existing.login = login
    existing.set_password(password)
    existing.set_extra(json.dumps(extra))
    return "up to date"


def registry_url(settings: DevSettings, environ: Mapping[str, str]) -> str:
    """The registry's SQLAlchemy URL: ``YUNFLEET_REGISTRY_URL`` or the SQLite file in the home."""
    return environ.get(REGISTRY_URL_VAR, "").strip() or settings.registry_url


def ensure_database(url: str) -> str:
    """Create the database of ``url`` if it does not exist; returns ``"created"`` or ``"exists"``.

    PostgreSQL: connects to the server's ``postgres`` database with the same credentials (the role
    needs CREATEDB). SQLite: creates the file's folder. Other dialects are left to their admins.
    Raises :class:`BootstrapError` for a database name that is not a plain identifier.
    """
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            existed = path.exists()
            path.parent.mkdir(parents=True, exist_ok=True)
            return "exists" if existed else "created"
        return "exists"
    if parsed.get_backend_name() != "postgresql":
        return "exists"
    name = parsed.database or ""
    if not _DATABASE_NAME.match(name):
        raise BootstrapError(f"database name {name!r} in the registry URL must be a plain identifier")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if found is not None:
                return "exists"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            return "created"
    finally:
        admin.dispose()


def _migrate_registry(url: str) -> str:
    """Create the registry's database if needed and bring it to the latest schema (Alembic)."""
    from sqlalchemy import make_url

    from include.registry import create_registry_engine, migrate

    created = ensure_database(url)
    engine = create_registry_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    where = make_url(url).render_as_string(hide_password=True)
    return f"registry {where}: {'database created, ' if created == 'created' else ''}schema at head"


def _required(environ: Mapping[str, str], name: str, hint: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise BootstrapError(f"{name} is not set: {hint}")
    return value


def cloud_connection_from_env(environ: Mapping[str, str]) -> dict[str, object]:
    """``alibaba_cloud_default`` from ALIBABA_CLOUD_* / YUNFLEET_* variables (module docstring)."""
    hint = "put it in the env file (.env.example lists every variable)"
    extra: dict[str, object] = {
        "region_id": environ.get("ALIBABA_CLOUD_REGION_ID", "").strip() or "cn-hangzhou",
        "dns_domain": _required(environ, "YUNFLEET_DNS_DOMAIN", hint),
    }
    optional = {
        "endpoint": "ALIBABA_CLOUD_ENDPOINT",
        "protocol": "ALIBABA_CLOUD_PROTOCOL",
        "kube_server_template": "YUNFLEET_KUBE_SERVER_TEMPLATE",
        "kube_ca_file": "YUNFLEET_KUBE_CA_FILE",
    }
    for key, name in optional.items():
        value = environ.get(name, "").strip()
        if value:
            extra[key] = value
    return {
        "conn_type": "alibaba_cloud",
        "login": _required(environ, "ALIBABA_CLOUD_ACCESS_KEY_ID", hint),
        "password": _required(environ, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", hint),
        "extra": extra,
    }


def check_shared_secrets(environ: Mapping[str, str]) -> None:
    """Refuse a deployment whose components would not share a Fernet key and a JWT secret."""
    from cryptography.fernet import Fernet

    key = _required(
        environ,
        "AIRFLOW__CORE__FERNET_KEY",
        'generate one with: python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"',
    )
    try:
        Fernet(key.encode())
    except ValueError:
        raise BootstrapError(
            "AIRFLOW__CORE__FERNET_KEY is not a Fernet key (32 url-safe base64 bytes)"
        ) from None
    _required(environ, "AIRFLOW__API_AUTH__JWT_SECRET", "generate one with: openssl rand -base64 48")


def write_admin_password(password: str) -> str:
    """Write the simple auth manager's password file (``{"admin": password}``, mode 0600)."""
    from airflow.configuration import AIRFLOW_HOME, conf

    configured = conf.get("core", "simple_auth_manager_passwords_file", fallback="")
    path = Path(configured or Path(AIRFLOW_HOME) / "simple_auth_manager_passwords.json.generated")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps({ADMIN_USER: password}) + "\n")
    return f"admin password: written to {path}"


def bootstrap(
    settings: DevSettings, *, environ: Mapping[str, str] | None = None, from_env: bool = False
) -> list[str]:
    """Create the registry, connections and pools; return one line per object.

    Raises :class:`BootstrapError` (before touching anything) when ``from_env`` and a required
    variable is missing.
    """
    env = os.environ if environ is None else environ
    connections: list[tuple[str, dict[str, object], bool]] = []
    if from_env:
        check_shared_secrets(env)
        connections.append(("alibaba_cloud_default", cloud_connection_from_env(env), True))
        secret = env.get("YUNFLEET_CALLBACK_SECRET", "").strip()
        if secret:
            connections.append((CALLBACK_CONN_ID, {"conn_type": "generic", "password": secret}, True))
    else:
        connections.append(("alibaba_cloud_default", settings.alibaba_connection(), False))
        secret = ensure_callback_secret(settings)
        connections.append((CALLBACK_CONN_ID, {"conn_type": "generic", "password": secret}, False))
    url = registry_url(settings, env)
    moved = url != settings.registry_url
    connections.append(("yunfleet_db", {"conn_type": "generic", "extra": {"url": url}}, moved))

    from airflow.models import Pool
    from airflow.utils.session import create_session

    report = [_migrate_registry(url)]
    with create_session() as session:
        for conn_id, spec, authoritative in connections:
            outcome = _upsert_connection(session, conn_id, spec, authoritative=authoritative)
            report.append(f"connection {conn_id}: {outcome}")
        for name, slots in POOLS.items():
            pool = session.query(Pool).filter(Pool.pool == name).one_or_none()
            if pool is None:
                Pool.create_or_update_pool(
                    name, slots, f"API rate limit: {name}", include_deferred=False, session=session
                )
                report.append(f"pool {name}: created with {slots} slots")
            else:
                report.append(f"pool {name}: kept ({pool.slots} slots)")
    password = env.get("YUNFLEET_ADMIN_PASSWORD", "").strip() if from_env else ""
    if password:
        report.append(write_admin_password(password))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m yunfleet.devenv.bootstrap",
        description="Create the registry, connections and pools of a Yunfleet platform (idempotent).",
    )
    parser.add_argument(
        "--from-env",
        action="store_true",
        help="deployment mode: connections, callback secret and admin password from the environment",
    )
    args = parser.parse_args(argv)
    try:
        lines = bootstrap(DevSettings.from_env(), from_env=args.from_env)
    except BootstrapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
