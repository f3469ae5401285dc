"""How an injected fault rule is answered on the Kubernetes API: as the API server would fail.

The rule's error code is sorted by ``sandbox.core.faults.fault_class``; each class gets the answer a real
kube-apiserver gives for it, whatever vocabulary the rule used (an Alibaba code such as
``Throttling.User`` on product ``*`` still reaches Kubernetes clients as a 429):

- throttling: 429 ``TooManyRequests`` with ``Retry-After: 1`` and ``details.retryAfterSeconds`` (the
  answer of API Priority and Fairness when a request is rejected);
- server: the rule's 5xx status with the reason Kubernetes uses for it (500 ``InternalError``,
  503 ``ServiceUnavailable``, 504 ``Timeout``, other 5xx ``InternalError``);
- client: a Kubernetes reason named by the rule keeps its status (``NotFound`` 404, ``Conflict`` 409, ...);
  any other code is answered with the reason of its status (400 ``BadRequest``, 403 ``Forbidden``, ...).
"""

from __future__ import annotations

from sandbox.core.faults import FaultDecision
from sandbox.kube.errors import KubeError

# Status reasons of the Kubernetes API (k8s.io/apimachinery metav1.StatusReason) with their HTTP status.
REASON_STATUS = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Gone": 410,
    "Expired": 410,
    "Invalid": 422,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "Timeout": 504,
}
STATUS_REASON = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
THROTTLED_RETRY_AFTER_S = 1
TIMEOUT_MESSAGE = (
    "the server was unable to return a response in the time allotted, but may still be processing the request"
)


def throttled(message: str, retry_after_s: int) -> KubeError:
    """429 ``TooManyRequests`` with ``Retry-After`` (seconds) as API Priority and Fairness answers it."""
    return KubeError(
        429,
        "TooManyRequests",
        message,
        {"retryAfterSeconds": retry_after_s},
        headers={"Retry-After": str(retry_after_s)},
    )


def timed_out() -> KubeError:
    return KubeError(504, "Timeout", TIMEOUT_MESSAGE)


def fault_error(decision: FaultDecision) -> KubeError:
    """The Status error a fault decision with an error code answers on the Kubernetes API."""
    code = decision.error_code or "InternalError"
    kind = decision.kind
    note = f"injected fault: {code}"
    if kind == "throttling":
        return throttled(f"Too many requests, please try again later ({note}).", THROTTLED_RETRY_AFTER_S)
    if kind == "server":
        status = decision.http_status
        if code in REASON_STATUS and not decision.status_given:
            status = REASON_STATUS[code]
        return KubeError(status, STATUS_REASON.get(status, "InternalError"), note)
    if code in REASON_STATUS:
        status = decision.http_status if decision.status_given else REASON_STATUS[code]
        return KubeError(status, code, note)
    status = decision.http_status
    return KubeError(status, STATUS_REASON.get(status, "BadRequest"), note)
