"""The outcome callback of a provisioning run: a JSON body signed with HMAC-SHA256.

The receiver recomputes ``HMAC-SHA256(secret, "<timestamp>.<body>")`` and compares it with the
``X-Yunfleet-Signature`` header (``t=<timestamp>,v1=<hex>``); the timestamp lets it refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SIGNATURE_HEADER = "X-Yunfleet-Signature"
DEFAULT_TOLERANCE_S = 300


def callback_body(
    *,
    dag_id: str,
    run_id: str,
    cluster: str,
    ticket_id: str,
    outcome: str,
    message: str = "",
    details: dict[str, Any] | None = None,
) -> bytes:
    """Canonical JSON of the callback payload (sorted keys, no spaces)."""
    if outcome not in ("success", "failed"):
        raise ValueError(f"outcome must be success or failed, got {outcome!r}")
    payload = {
        "dag_id": dag_id,
        "run_id": run_id,
        "cluster": cluster,
        "ticket_id": ticket_id,
        "outcome": outcome,
        "message": message,
        "details": details or {},
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def verify(
    secret: str, body: bytes, header: str, now: int | None = None, tolerance_s: int = DEFAULT_TOLERANCE_S
) -> bool:
    """Whether ``header`` is a valid, fresh signature of ``body`` (what a receiver does)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        ts = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    current = int(time.time()) if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)
