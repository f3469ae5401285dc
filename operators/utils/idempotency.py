"""ClientToken derivation: one token per (DAG run, task, map index, intent).

The token is stable across task retries (the try number is not part of it), so a retried or
restarted task re-sends the same token and the cloud returns the original result instead of
creating a second resource. ``intent`` names what the call wants (for example
``run-instances:demo:workers:cn-hangzhou-h:0+3``) so two different creates in one task never share
a token.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

#: Alibaba Cloud accepts ASCII tokens of at most 64 characters.
MAX_TOKEN_LENGTH = 64


@dataclass(frozen=True)
class TaskIdentity:
    """Where a call comes from; what the ClientToken and the audit rows are keyed on."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int = -1
    try_number: int | None = None


def derive_client_token(identity: TaskIdentity, intent: str) -> str:
    """Return a deterministic ASCII token (``yf-`` + 61 hex chars) for this task and intent."""
    if not intent:
        raise ValueError("intent must be a non-empty string")
    key = "\x1f".join(
        [
            identity.dag_id or "-",
            identity.run_id or "-",
            identity.task_id or "-",
            str(identity.map_index),
            intent,
        ]
    )
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return ("yf-" + digest)[:MAX_TOKEN_LENGTH]
