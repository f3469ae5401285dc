"""Error hierarchy for every cloud and Kubernetes call Yunfleet makes.

Two families: :class:`TransientCloudError` (worth retrying: throttling, 5xx, timeouts and, for
state-changing calls, conflicts of state) and :class:`PermanentCloudError` (fails at once; the
message says what to fix). Each carries the API ``code``, the server ``message``, the
``request_id`` and the HTTP status; the SDK exception is chained as ``__cause__``.

:func:`translate_sdk_error` maps an Alibaba Cloud SDK (Tea/Darabonba) exception onto this
hierarchy by duck typing, so this module imports no SDK and no Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass

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
#: What to do about well-known permanent errors, appended to the message.
HINTS: dict[str, str] = {
    "IdempotentParameterMismatch": (
        "the ClientToken was already used with different parameters; the task's inputs changed "
        "between tries, so clear the run or use a new intent"
    ),
    "InvalidAccessKeyId.NotFound": "check the AccessKeyId (login) of the Alibaba Cloud connection",
    "SignatureDoesNotMatch": "check the AccessKeySecret (password) of the Alibaba Cloud connection",
    "Forbidden.RAM": "grant the RAM policy listed in docs/building-blocks.md to the AccessKey",
    "OperationDenied.NoStock": "the instance type is sold out in this zone; pick another zone or type",
    "Zone.NotOnSale": "the instance type is not sold in this zone; pick another zone or type",
    "InvalidParameter": "a request parameter is invalid; see the message",
}
#: Transport failures that did not produce an API response are timeouts or refused connections.
TIMEOUT_CODE = "Timeout"
CONNECTION_CODE = "ConnectionError"


class YunfleetError(Exception):
    """Base class of every error raised by Yunfleet building blocks."""


class ConfigurationError(YunfleetError, ValueError):
    """Bad input or configuration, detected before any cloud call."""


class CloudError(YunfleetError):
    """An error returned by (or while talking to) a cloud or Kubernetes API."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        product: str | None = None,
        action: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.product = product
        self.action = action
        self.retry_after = retry_after
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.product}:{self.action}" if self.product and self.action else (self.action or "call")
        text = f"{where} failed"
        if self.code:
            text += f" with {self.code}"
        if self.http_status:
            text += f" (HTTP {self.http_status})"
        text += f": {self.message}"
        if self.code and self.code in HINTS:
            text += f"; {HINTS[self.code]}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text


class TransientCloudError(CloudError):
    """Worth retrying with back-off: throttling, server errors, timeouts, state conflicts."""

    retryable = True


class PermanentCloudError(CloudError):
    """Retrying cannot help; the message says what to fix."""


class ThrottlingError(TransientCloudError):
    """The API asked us to slow down (``Throttling*``, HTTP 429)."""


class CloudTimeoutError(TransientCloudError):
    """No response arrived in time, or the connection failed before a response."""


class ResourceNotFoundError(PermanentCloudError):
    """The named resource does not exist (``*.NotFound``, HTTP 404)."""


class IdempotencyMismatchError(PermanentCloudError):
    """The ClientToken was reused with different parameters."""


class WaiterError(YunfleetError):
    """Base class for waiter outcomes that are not success."""


class WaiterFailureError(WaiterError):
    """A waiter reached a failure state; waiting longer cannot help."""


class WaiterTimeoutError(WaiterError):
    """A waiter used all its attempts without reaching a success state."""


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


class NotOwnedError(PermanentCloudError):
    """A resource exists but Yunfleet does not own it, so it will not be changed."""
