"""KMS (Secrets Manager) errors with the codes, HTTP statuses and messages of the real service.

Source: the error table of ``CreateSecret`` in the KMS API reference (2016-01-20), which the secret
operations share: 400 ``InvalidParameter``, 400 ``Rejected.LimitExceeded``, 403
``Forbidden.NoPermission``, 404 ``Forbidden.ResourceNotFound``, 409 ``Rejected.ResourceExist``,
409 ``Rejected.ResourceInDeleteWindow``, 429 ``Rejected.Throttling``.
"""

from __future__ import annotations

from sandbox.core.errors import ApiError


class ResourceNotFound(ApiError):
    code = "Forbidden.ResourceNotFound"
    http_status = 404
    message = "The resource is not found."


class ResourceExist(ApiError):
    code = "Rejected.ResourceExist"
    http_status = 409
    message = "The resource already exists."


class ResourceInDeleteWindow(ApiError):
    code = "Rejected.ResourceInDeleteWindow"
    http_status = 409
    message = "The secret is planned to be deleted."


class NoPermission(ApiError):
    code = "Forbidden.NoPermission"
    http_status = 403
    message = "You are not authorized to perform the operation."


class LimitExceeded(ApiError):
    code = "Rejected.LimitExceeded"
    http_status = 400
    message = "The secret quota is exceeded."
