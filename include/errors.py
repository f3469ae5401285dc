"""Error hierarchy for every cloud and Kubernetes call Yunfleet makes.

Two families: :class:`TransientCloudError` (worth retrying: throttling, 5xx, timeouts and, for
state-changing calls, conflicts of state) and :class:`PermanentCloudError` (fails at once; the
message says what to fix). Each carries the API ``code``, the server ``message``, the
``request_id`` and the HTTP status; the SDK exception is chained as ``__cause__``.

Mapping an SDK exception onto this hierarchy is the hooks' job
(``operators.utils.errors.translate_sdk_error``); this module imports no SDK and no Airflow.
"""

from __future__ import annotations

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


class NotOwnedError(PermanentCloudError):
    """A resource exists but Yunfleet does not own it, so it will not be changed."""
