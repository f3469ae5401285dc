"""Alibaba Cloud SDK (Tea/Darabonba) exceptions mapped onto the ``include.errors`` hierarchy.

The SDK raises one exception type whose attributes (``code``, ``data``, ``status_code``,
``request_id``, ``retry_after``, ``inner_exception``) carry the API's answer; they are read by duck
typing, so this module imports no SDK and the rules stay table-testable without one.
"""

from __future__ import annotations

from dataclasses import dataclass

from include.errors import (
    CloudError,
    CloudTimeoutError,
    IdempotencyMismatchError,
    PermanentCloudError,
    ResourceNotFoundError,
    ThrottlingError,
    TransientCloudError,
)

#: Codes that mean "slow down"; always transient.
THROTTLING_CODES = frozenset(
    {"Throttling", "Throttling.User", "Throttling.Api", "Throttling.Concurrent", "RequestLimitExceeded"}
)
#: Codes the server uses for its own failures; always transient.
SERVER_CODES = frozenset({"InternalError", "ServiceUnavailable", "UnknownError", "InternalFailure"})
#: Conflicts of state: transient for a state-changing call (the previous change is still settling),
#: permanent for a read (which never conflicts).
STATE_CONFLICT_CODES = frozenset(
    {
        "OperationConflict",
        "IncorrectInstanceStatus",
        "BackendServer.configuring",
        "ServiceIsConfiguring",
        "OperationBusy",
        "LastTokenProcessing",
    }
)
#: Transport failures that did not produce an API response are timeouts or refused connections.
TIMEOUT_CODE = "Timeout"
CONNECTION_CODE = "ConnectionError"


@dataclass(frozen=True)
class ErrorFacts:
    """What :func:`translate_sdk_error` reads from an SDK exception."""

    code: str | None
    message: str
    request_id: str | None
    http_status: int | None
    retry_after: float | None


def _int_or_none(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "", "None") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def extract_facts(exc: BaseException) -> ErrorFacts:
    """Read code, message, request id, status and retry-after from an SDK exception."""
    data = getattr(exc, "data", None)
    data = data if isinstance(data, dict) else {}
    code = getattr(exc, "code", None) or data.get("Code") or data.get("code")
    status = _int_or_none(getattr(exc, "status_code", None)) or _int_or_none(data.get("statusCode"))
    request_id = getattr(exc, "request_id", None) or data.get("RequestId") or data.get("requestId")
    message = data.get("Message") or data.get("message")
    if not message:
        inner = getattr(exc, "inner_exception", None)
        inner_message = getattr(inner, "message", None) if inner is not None else None
        if isinstance(inner_message, dict):
            inner_message = inner_message.get("message")
        message = inner_message or (str(inner) if inner is not None else None)
        message = message or getattr(exc, "message", None) or str(exc)
    retry_after_ms = _int_or_none(getattr(exc, "retry_after", None))
    retry_after = retry_after_ms / 1000.0 if retry_after_ms and retry_after_ms > 0 else None
    return ErrorFacts(
        code=str(code) if code not in (None, "", "None") else None,
        message=_truncate(str(message)),
        request_id=str(request_id) if request_id not in (None, "", "None") else None,
        http_status=status,
        retry_after=retry_after,
    )


def _truncate(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _looks_like_timeout(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__.lower()
        if "timeout" in name or "timedout" in name or isinstance(current, TimeoutError):
            return True
        inner = getattr(current, "inner_exception", None)
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)
    return "timed out" in str(exc).lower() or "timeout" in str(exc).lower()


def classify(code: str | None, http_status: int | None, *, state_changing: bool) -> type[CloudError]:
    """Return the error class for an API error code and HTTP status."""
    if code == "IdempotentParameterMismatch":
        return IdempotencyMismatchError
    if code in THROTTLING_CODES or http_status == 429 or (code or "").startswith("Throttling"):
        return ThrottlingError
    if code in SERVER_CODES or (http_status is not None and 500 <= http_status <= 599):
        return TransientCloudError
    if code in STATE_CONFLICT_CODES:
        return TransientCloudError if state_changing else PermanentCloudError
    if (code or "").endswith(".NotFound") or (code or "").endswith("NotExist") or http_status == 404:
        return ResourceNotFoundError
    return PermanentCloudError


def translate_sdk_error(exc: BaseException, *, product: str, action: str, state_changing: bool) -> CloudError:
    """Map an SDK exception onto the hierarchy. The caller raises the result ``from exc``."""
    if isinstance(exc, CloudError):
        return exc
    facts = extract_facts(exc)
    if facts.code is None and facts.http_status is None:
        # No API response: a transport problem (timeout, refused connection, TLS).
        timeout = _looks_like_timeout(exc)
        return CloudTimeoutError(
            facts.message,
            code=TIMEOUT_CODE if timeout else CONNECTION_CODE,
            product=product,
            action=action,
        )
    cls = classify(facts.code, facts.http_status, state_changing=state_changing)
    return cls(
        facts.message,
        code=facts.code,
        request_id=facts.request_id,
        http_status=facts.http_status,
        product=product,
        action=action,
        retry_after=facts.retry_after,
    )
