"""The error type every simulated API raises, serialised into Alibaba Cloud's error envelope."""

from __future__ import annotations


class ApiError(Exception):
    """An API error with a fixed code, HTTP status and message.

    Subclasses set ``code``, ``http_status`` and ``message`` as class attributes; a message can be
    formatted per raise by passing it to the constructor.
    """

    code: str = "UnknownError"
    http_status: int = 400
    message: str = "An unknown error occurred."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, http_status: int | None = None
    ):
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        super().__init__(f"{self.code}: {self.message}")


class MissingParameter(ApiError):
    code = "MissingParameter"

    def __init__(self, name: str):
        super().__init__(
            f'The input parameter "{name}" that is mandatory for processing this request is not supplied.'
        )


class InvalidParameter(ApiError):
    code = "InvalidParameter"

    def __init__(self, name: str, detail: str = ""):
        text = f'The specified parameter "{name}" is not valid.'
        super().__init__(f"{text} {detail}".strip())


class InvalidAction(ApiError):
    code = "InvalidAction.NotFound"
    http_status = 404

    def __init__(self, action: str, version: str):
        super().__init__(f"Specified api {action} of version {version} is not found.")


class Throttling(ApiError):
    code = "Throttling.User"
    http_status = 400
    message = "Request was denied due to user flow control."


class ServiceUnavailable(ApiError):
    code = "ServiceUnavailable"
    http_status = 503
    message = "The request has failed due to a temporary failure of the server."


class InternalError(ApiError):
    code = "InternalError"
    http_status = 500
    message = "The request processing has failed due to some unknown error, exception or failure."


# HTTP status and message of the codes a fault rule may inject without giving a status itself.
KNOWN_CODES: dict[str, tuple[int, str]] = {
    "Throttling": (400, "Request was denied due to request throttling."),
    "Throttling.User": (400, Throttling.message),
    "Throttling.Api": (400, "Request was denied due to api flow control."),
    "ServiceUnavailable": (503, ServiceUnavailable.message),
    "InternalError": (500, InternalError.message),
    "TooManyRequests": (429, "Too many requests, please try again later."),
    "Timeout": (504, "The request timed out."),
    "UnknownError": (400, "The request processing has failed due to some unknown error."),
    "OperationConflict": (409, "Request was denied due to conflict with a previous request."),
    "OperationDenied.NoStock": (
        403,
        "The requested resource is sold out in the specified zone; "
        "try other types of resources or other regions and zones.",
    ),
    "Zone.NotOnSale": (403, "The specified zone is not available for purchase."),
    "IncorrectInstanceStatus": (403, "The current status of the resource does not support this operation."),
    "QuotaExceed.ElasticQuota": (
        403,
        "The number of vCPUs assigned to the ECS instances has exceeded the quota.",
    ),
    "ServiceIsConfiguring": (
        400,
        "A previous configuration of the load balancer is pending, please try again later.",
    ),
    "BackendServer.configuring": (
        409,
        "A previous configuration of the load balancer is pending; please try again later.",
    ),
    "OperationBusy": (400, "The operation is too frequent, please try again later."),
}


def error_for_code(code: str, http_status: int | None = None) -> ApiError:
    """An ApiError for an arbitrary code, with the documented status and message when known."""
    status, message = KNOWN_CODES.get(code, (400, f"The request failed with error {code}."))
    return ApiError(message, code=code, http_status=http_status or status)
