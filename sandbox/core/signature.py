"""ACS3-HMAC-SHA256 (and legacy HMAC-SHA1 RPC) signature verification, with clock and nonce checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from sandbox.core.errors import ApiError

CREDENTIALS = {"sandbox-ak": "sandbox-secret"}
MAX_SKEW_S = 15 * 60
ALGORITHM = "ACS3-HMAC-SHA256"


class IncompleteSignature(ApiError):
    code = "IncompleteSignature"
    http_status = 400
    message = "The request signature does not conform to Aliyun standards."


class SignatureDoesNotMatch(ApiError):
    code = "SignatureDoesNotMatch"
    http_status = 400
    message = "The request signature we calculated does not match the signature you provided."


class InvalidAccessKeyIdNotFound(ApiError):
    code = "InvalidAccessKeyId.NotFound"
    http_status = 400
    message = "Specified access key is not found."


class IllegalTimestamp(ApiError):
    code = "IllegalTimestamp"
    http_status = 400
    message = 'The input parameter "x-acs-date" that is mandatory for processing this request is not supplied or is not within 15 minutes of the server time.'  # noqa: E501


class SignatureNonceUsed(ApiError):
    code = "SignatureNonceUsed"
    http_status = 400
    message = "The request signature nonce has been used."


def _pct(text: str) -> str:
    return quote(text, safe="-_.~")


class NonceCache:
    """Nonces seen within the clock-skew window (older ones cannot pass the date check anyway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def use(self, nonce: str, now: float) -> bool:
        with self._lock:
            if len(self._seen) > 100_000:
                cutoff = now - 2 * MAX_SKEW_S
                self._seen = {k: t for k, t in self._seen.items() if t >= cutoff}
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


class SignatureVerifier:
    def __init__(self, credentials: Mapping[str, str] | None = None):
        self.credentials = dict(credentials or CREDENTIALS)
        self.nonces = NonceCache()

    def verify(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        now: float,
    ) -> str:
        """Check one request; returns the AccessKeyId or raises the matching API error."""
        authorization = headers.get("authorization")
        if authorization:
            access_key = self._verify_v3(method, path, query, headers, body, authorization)
            self._check_date(headers.get("x-acs-date"), now)
            nonce = headers.get("x-acs-signature-nonce")
        elif any(k == "Signature" for k, _ in query):
            params = dict(query)
            access_key = self._verify_v2(method, query, params)
            self._check_date(params.get("Timestamp"), now)
            nonce = params.get("SignatureNonce")
        else:
            raise IncompleteSignature(
                "The request carries no Authorization header and no Signature parameter."
            )
        if not nonce:
            raise IncompleteSignature("The request carries no signature nonce.")
        if not self.nonces.use(nonce, now):
            raise SignatureNonceUsed(f"The request signature nonce has been used: {nonce}.")
        return access_key

    def _secret(self, access_key: str) -> str:
        secret = self.credentials.get(access_key)
        if secret is None:
            raise InvalidAccessKeyIdNotFound()
        return secret

    def _verify_v3(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        authorization: str,
    ) -> str:
        algorithm, _, rest = authorization.partition(" ")
        if algorithm != ALGORITHM:
            raise IncompleteSignature(
                f"The signature algorithm {algorithm!r} is not supported; use {ALGORITHM}."
            )
        try:
            parts = dict(item.strip().split("=", 1) for item in rest.split(","))
            access_key, signed_headers, signature = (
                parts["Credential"],
                parts["SignedHeaders"],
                parts["Signature"],
            )
        except (KeyError, ValueError) as error:
            raise IncompleteSignature(
                "The Authorization header needs Credential, SignedHeaders and Signature."
            ) from error
        secret = self._secret(access_key)
        names = signed_headers.split(";")
        if "host" not in names or "x-acs-date" not in names:
            raise IncompleteSignature("SignedHeaders must include host and x-acs-date.")
        payload_hash = hashlib.sha256(body).hexdigest()
        claimed = headers.get("x-acs-content-sha256")
        if claimed is not None and claimed != payload_hash:
            raise SignatureDoesNotMatch("The x-acs-content-sha256 header does not match the request body.")
        canonical_query = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in query))
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names)
        canonical_request = "\n".join(
            [method, path or "/", canonical_query, canonical_headers, signed_headers, payload_hash]
        )
        string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise SignatureDoesNotMatch()
        return access_key

    def _verify_v2(self, method: str, query: list[tuple[str, str]], params: Mapping[str, str]) -> str:
        access_key = params.get("AccessKeyId", "")
        secret = self._secret(access_key)
        pairs = sorted((k, v) for k, v in query if k != "Signature")
        canonical = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)
        string_to_sign = f"{method}&%2F&{quote(canonical, safe='~')}"
        digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), params.get("Signature", "")):
            raise SignatureDoesNotMatch()
        return access_key

    @staticmethod
    def _check_date(value: str | None, now: float) -> None:
        if not value:
            raise IllegalTimestamp()
        try:
            stamp = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError as error:
            raise IllegalTimestamp(
                f"The request date {value!r} is not in the form yyyy-MM-ddTHH:mm:ssZ."
            ) from error
        if abs(stamp - now) > MAX_SKEW_S:
            raise IllegalTimestamp(
                f"The request date {value} is more than 15 minutes away from the server time."
            )
