"""The ordered log of every API call the sandbox received (behind GET /_sandbox/calls)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

# Parameter names whose values never enter the log (UserData could carry secrets; SecretData does).
_SECRET_MARKERS = ("userdata", "password", "secret", "securitytoken", "accesskey", "authorization")
# Names that contain a marker but hold no secret (KMS secret names and types).
_PUBLIC = frozenset({"secretname", "secrettype", "secretdatatype"})
_MAX_VALUE = 512


def redact_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Copy of ``params`` with secret-bearing values replaced and long values truncated."""
    clean: dict[str, Any] = {}
    for key, value in (params or {}).items():
        lowered = str(key).lower().replace("_", "").replace("-", "")
        if lowered not in _PUBLIC and any(marker in lowered for marker in _SECRET_MARKERS):
            clean[key] = f"<redacted {len(str(value))} chars>"
        elif isinstance(value, str) and len(value) > _MAX_VALUE:
            clean[key] = value[:_MAX_VALUE] + "..."
        else:
            clean[key] = value
    return clean


class CallLog:
    """Append-only call log with sequence numbers; bounded so a long demo cannot exhaust memory."""

    def __init__(self, clock: Callable[[], float] = time.time, limit: int = 50_000):
        self._clock = clock
        self._limit = limit
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._next_seq = 1

    def record(
        self,
        product: str,
        action: str,
        status: int,
        error_code: str | None = None,
        params: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> int:
        """Append one call; ``product`` is ecs, slb, alidns or k8s. Returns its sequence number."""
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            self._entries.append(
                {
                    "seq": seq,
                    "time": self._clock(),
                    "product": product,
                    "action": action,
                    "status": status,
                    "error_code": error_code,
                    "params": redact_params(params),
                    "request_id": request_id,
                }
            )
            if len(self._entries) > self._limit:
                del self._entries[: len(self._entries) - self._limit]
            return seq

    def since(self, seq: int = 0) -> dict[str, Any]:
        """Calls with a sequence number greater than ``seq`` and the ``next`` cursor to pass back."""
        with self._lock:
            calls = [dict(entry) for entry in self._entries if entry["seq"] > seq]
            return {"calls": calls, "next": self._next_seq - 1}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
