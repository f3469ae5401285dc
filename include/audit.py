"""The audit store: one ``audit_events`` row per mutating call or dry-run action.

Requests are redacted before they are stored: credentials, tokens, passwords and private keys
become ``"***"``, UserData becomes its sha256 and length, and any known secret value found inside
another string is masked too.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from include.registry.models import AuditEvent, utcnow

MASK = "***"
OUTCOMES = frozenset({"ok", "error", "dry_run"})

#: Keys (compared without case, '_' and '-') whose values are never stored.
_SECRET_KEY_PARTS = (
    "secret",
    "password",
    "passwd",
    "token",
    "privatekey",
    "authorization",
    "bearer",
    "credential",
    "kubeconfig",
    "cakey",
    "clientkey",
    "keydata",
)
#: Keys that look secret by name but are not (idempotency and paging tokens, KMS secret names and types).
_PUBLIC_KEYS = frozenset(
    {"clienttoken", "nexttoken", "continuetoken", "tokenid", "secretname", "secrettype", "secretdatatype"}
)
#: Keys holding user data: stored as a hash.
_USER_DATA_KEYS = frozenset({"userdata"})
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
)
_BOOTSTRAP_TOKEN = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")


def _norm(key: str) -> str:
    return key.replace("_", "").replace("-", "").replace(".", "").lower()


def is_secret_key(key: str) -> bool:
    normalized = _norm(key)
    if normalized in _PUBLIC_KEYS:
        return False
    return any(part in normalized for part in _SECRET_KEY_PARTS)


def hash_user_data(value: str | bytes) -> dict[str, Any]:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}


@dataclass
class Redactor:
    """Redacts request documents; ``secrets`` are literal values to mask wherever they appear."""

    secrets: set[str] = field(default_factory=set)

    def add_secret(self, value: str | None) -> None:
        if value and len(value) >= 4:
            self.secrets.add(value)

    def redact_text(self, text: str) -> str:
        text = _PEM_PRIVATE_KEY.sub(MASK, text)
        text = _BOOTSTRAP_TOKEN.sub(MASK, text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def redact(self, value: Any, key: str | None = None) -> Any:
        if key is not None:
            normalized = _norm(key)
            if normalized in _USER_DATA_KEYS and isinstance(value, str | bytes):
                return hash_user_data(value)
            if is_secret_key(key) and value not in (None, ""):
                return MASK
        if isinstance(value, Mapping):
            return {str(k): self.redact(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set):
            return [self.redact(v) for v in value]
        if isinstance(value, bytes):
            return hash_user_data(value)
        if isinstance(value, str):
            return self.redact_text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact_text(str(value))


def decode_user_data_for_hash(user_data_b64: str) -> dict[str, Any]:
    """Hash of base64 UserData as sent; also records the decoded length when it decodes."""
    digest = hash_user_data(user_data_b64)
    try:
        digest["decoded_bytes"] = len(base64.b64decode(user_data_b64, validate=True))
    except ValueError:
        pass
    return digest


@dataclass(frozen=True)
class AuditRecord:
    """What one audit row says. ``request`` must already be redacted."""

    product: str
    action: str
    outcome: str
    target: str | None = None
    request: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    cloud_request_id: str | None = None
    cluster: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    try_number: int | None = None
    ticket_id: str | None = None
    actor: str | None = None
    occurred_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {sorted(OUTCOMES)}, got {self.outcome!r}")


class AuditStore:
    """Writes and reads ``audit_events``. Each write commits on its own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def write(self, record: AuditRecord) -> int:
        row = AuditEvent(
            occurred_at=record.occurred_at or utcnow(),
            dag_id=record.dag_id,
            run_id=record.run_id,
            task_id=record.task_id,
            map_index=record.map_index,
            try_number=record.try_number,
            ticket_id=record.ticket_id,
            actor=record.actor,
            cluster=record.cluster,
            product=record.product,
            action=record.action,
            target=(record.target or None) and record.target[:512],
            request=record.request,
            outcome=record.outcome,
            error_code=record.error_code,
            cloud_request_id=record.cloud_request_id,
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return row.id

    def list(
        self,
        *,
        ticket_id: str | None = None,
        cluster: str | None = None,
        run_id: str | None = None,
        product: str | None = None,
        since_id: int = 0,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        query = select(AuditEvent).where(AuditEvent.id > since_id).order_by(AuditEvent.id).limit(limit)
        if ticket_id is not None:
            query = query.where(AuditEvent.ticket_id == ticket_id)
        if cluster is not None:
            query = query.where(AuditEvent.cluster == cluster)
        if run_id is not None:
            query = query.where(AuditEvent.run_id == run_id)
        if product is not None:
            query = query.where(AuditEvent.product == product)
        with self._sessions() as session:
            return [_to_record(row) for row in session.scalars(query)]

    def max_id(self) -> int:
        with self._sessions() as session:
            ids: Iterable[int] = session.scalars(
                select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)
            )
            return next(iter(ids), 0)


def _to_record(row: AuditEvent) -> AuditRecord:
    return AuditRecord(
        product=row.product,
        action=row.action,
        outcome=row.outcome,
        target=row.target,
        request=dict(row.request or {}),
        error_code=row.error_code,
        cloud_request_id=row.cloud_request_id,
        cluster=row.cluster,
        dag_id=row.dag_id,
        run_id=row.run_id,
        task_id=row.task_id,
        map_index=row.map_index,
        try_number=row.try_number,
        ticket_id=row.ticket_id,
        actor=row.actor,
        occurred_at=row.occurred_at,
    )
