"""Kubernetes API errors mapped onto include.errors (409 on writes, 429 and 5xx are transient)."""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from include.errors import (
    CloudError,
    CloudTimeoutError,
    PermanentCloudError,
    ResourceNotFoundError,
    ThrottlingError,
    TransientCloudError,
    YunfleetError,
)

TRANSIENT_STATUS = {409, 429, 500, 502, 503, 504}
PRODUCT = "k8s"


class DrainTimeoutError(YunfleetError):
    """Pods could not be evicted in time (PodDisruptionBudgets); the node was uncordoned."""


def translate_api_exception(exc: BaseException, action: str, *, mutating: bool) -> CloudError:
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        message = (exc.reason or "") + (f": {str(exc.body)[:200]}" if exc.body else "")
        kwargs: dict[str, Any] = {
            "code": str(status),
            "http_status": status,
            "product": PRODUCT,
            "action": action,
        }
        if status == 429:
            retry_after = (exc.headers or {}).get("Retry-After") if exc.headers else None
            kwargs["retry_after"] = float(retry_after) if retry_after and str(retry_after).isdigit() else None
            return ThrottlingError(message, **kwargs)
        if status == 404:
            return ResourceNotFoundError(message, **kwargs)
        if status in TRANSIENT_STATUS and (status != 409 or mutating):
            return TransientCloudError(message, **kwargs)
        if status == 0:
            return CloudTimeoutError(
                message or str(exc), code="ConnectionError", product=PRODUCT, action=action
            )
        return PermanentCloudError(message, **kwargs)
    return CloudTimeoutError(str(exc)[:300], code="ConnectionError", product=PRODUCT, action=action)
