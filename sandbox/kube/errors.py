"""Kubernetes API errors, serialised as ``Status`` objects the way the real API server does."""

from __future__ import annotations

from typing import Any


class KubeError(Exception):
    """An API failure: HTTP ``code``, Status ``reason`` and ``message``, optional ``details``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details = {"name": name, "group": group, "kind": kind}
    return {k: v for k, v in details.items() if v}


def not_found(plural: str, group: str, name: str) -> KubeError:
    return KubeError(
        404, "NotFound", f'{_qualified(plural, group)} "{name}" not found', _details(name, group, plural)
    )


def already_exists(plural: str, group: str, name: str) -> KubeError:
    return KubeError(
        409,
        "AlreadyExists",
        f'{_qualified(plural, group)} "{name}" already exists',
        _details(name, group, plural),
    )


def conflict(plural: str, group: str, name: str, why: str) -> KubeError:
    return KubeError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": {why}',
        _details(name, group, plural),
    )


def stale(plural: str, group: str, name: str) -> KubeError:
    return conflict(
        plural,
        group,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> KubeError:
    """422 ``Invalid``; ``causes`` are ``(field, message)`` pairs."""
    label = f"{kind}.{group}" if group else kind
    text = "; ".join(f"{field}: {message}" for field, message in causes)
    if len(causes) > 1:
        text = "[" + ", ".join(f"{field}: {message}" for field, message in causes) + "]"
    return KubeError(
        422,
        "Invalid",
        f'{label} "{name}" is invalid: {text}',
        {
            **_details(name, group, kind),
            "causes": [
                {"reason": _cause_reason(message), "message": message, "field": field}
                for field, message in causes
            ],
        },
    )


def _cause_reason(message: str) -> str:
    if message.startswith("Required value"):
        return "FieldValueRequired"
    if message.startswith("Unsupported value"):
        return "FieldValueNotSupported"
    if message.startswith("Forbidden"):
        return "FieldValueForbidden"
    return "FieldValueInvalid"


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> KubeError:
    return KubeError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> KubeError:
    return KubeError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - "
        f"accepted media types include: application/json-patch+json, "
        f"application/merge-patch+json, application/strategic-merge-patch+json; got {content_type}",
    )


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", "Unauthorized")


def forbidden(user: str, verb: str, resource: str) -> KubeError:
    return KubeError(
        403, "Forbidden", f'{resource} is forbidden: User "{user}" cannot {verb} resource "{resource}"'
    )


def path_not_found() -> KubeError:
    return KubeError(
        404,
        "NotFound",
        "the server could not find the requested resource",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]},
    )


def unavailable(message: str) -> KubeError:
    return KubeError(503, "ServiceUnavailable", message)


def too_many_requests(message: str, causes: list[dict[str, str]] | None = None) -> KubeError:
    """429 as the eviction subresource answers it: no Retry-After, so clients back off themselves."""
    return KubeError(429, "TooManyRequests", message, {"causes": causes} if causes else None)
