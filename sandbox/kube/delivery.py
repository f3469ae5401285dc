"""What a booting instance gets from its KMS delivery secret (the node side of the bootstrap).

A real node runs ``yunfleet-fetch-bootstrap``: session-token metadata access, its RAM role's STS
credentials, one ``GetSecretValue``, then ``kubeadm init``/``join`` with the delivered
configuration. The simulation does the same against the sandbox's own KMS state, once per instance
when it first runs: the read is recorded in the call log (product ``kms``, action
``GetSecretValue``, the instance and its role as caller), and it fails, so the node never joins,
when the instance has no RAM role, its metadata service is disabled (``HttpEndpoint=disabled``), or
the secret is missing. Only digests of tokens and keys are kept (the world state is served by the
control API); the CA certificate, which is public, is kept as is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sandbox.core.errors import ApiError
from sandbox.kube.bootstrap import Bootstrap

KUBEADM_CONFIG = "/etc/kubernetes/kubeadm.yaml"
CA_CERT = "/etc/kubernetes/pki/ca.crt"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def digest(value: str) -> str:
    """Tokens and keys are kept only as digests."""
    return hashlib.sha256(value.encode()).hexdigest()


def ca_hash(cert_pem: str) -> str:
    """kubeadm's CA hash: ``sha256:`` + SHA-256 of the certificate's SubjectPublicKeyInfo."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def go_duration(text: str) -> float:
    """Seconds in a Go duration like ``2h0m0s`` (the form of kubeadm's token ``ttl``)."""
    parts = _DURATION.findall(text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


@dataclass
class Delivered:
    """What one instance learned from its delivery secret (digests only)."""

    ok: bool
    reason: str = ""
    init: bool = False
    control_plane_join: bool = False
    token_digest: str | None = None
    token_expires_at: float | None = None
    certificate_key_digest: str | None = None
    ca_cert_pem: str | None = None
    ca_cert_hashes: tuple[str, ...] = ()

    def to_state(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["ca_cert_hashes"] = list(self.ca_cert_hashes)
        return raw

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> Delivered:
        return cls(**{**raw, "ca_cert_hashes": tuple(raw.get("ca_cert_hashes") or ())})


def _failed(reason: str) -> Delivered:
    return Delivered(ok=False, reason=reason)


def _files(bundle_text: str) -> dict[str, str]:
    bundle = json.loads(bundle_text)
    if not isinstance(bundle, dict) or bundle.get("version") != 1:
        raise ValueError("not a version 1 delivery bundle")
    return {str(f["path"]): str(f["content"]) for f in bundle["files"]}


def _documents(text: str) -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    return {str(d.get("kind")): d for d in docs}


def read_bundle(bundle_text: str, now: float) -> Delivered:
    """Interpret a delivery bundle as kubeadm would: the init or join configuration it carries."""
    try:
        files = _files(bundle_text)
        docs = _documents(files[KUBEADM_CONFIG])
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        return _failed(f"the delivery secret holds no usable kubeadm configuration ({type(exc).__name__})")
    if "InitConfiguration" in docs:
        init = docs["InitConfiguration"]
        tokens = init.get("bootstrapTokens") or []
        if CA_CERT not in files or not tokens:
            return _failed("an InitConfiguration needs the cluster CA and a bootstrap token")
        try:
            ttl = go_duration(str(tokens[0].get("ttl") or "24h0m0s"))
        except ValueError as exc:
            return _failed(str(exc))
        return Delivered(
            ok=True,
            init=True,
            token_digest=digest(str(tokens[0]["token"])),
            token_expires_at=now + ttl if ttl > 0 else None,
            certificate_key_digest=digest(str(init.get("certificateKey") or "")),
            ca_cert_pem=files[CA_CERT],
        )
    join = docs.get("JoinConfiguration")
    discovery = ((join or {}).get("discovery") or {}).get("bootstrapToken") or {}
    if not join or not discovery.get("token"):
        return _failed("the delivery secret holds neither an InitConfiguration nor a JoinConfiguration")
    plane = join.get("controlPlane")
    return Delivered(
        ok=True,
        control_plane_join=plane is not None,
        token_digest=digest(str(discovery["token"])),
        certificate_key_digest=digest(str((plane or {}).get("certificateKey") or ""))
        if plane is not None
        else None,
        ca_cert_hashes=tuple(str(h) for h in discovery.get("caCertHashes") or ()),
    )


def fetch(world: Any, instance: Any, boot: Bootstrap, now: float) -> Delivered:
    """The instance reads its delivery secret once with its RAM role (recorded in the call log)."""
    from sandbox.kms import kms_backend

    params = {
        "SecretName": boot.secret_name,
        "Caller": f"instance/{instance.instance_id}",
        "RamRoleName": getattr(instance, "ram_role_name", None) or "",
    }
    if getattr(instance, "http_endpoint", "enabled") == "disabled":
        return _failed(
            "the instance's metadata service is disabled (HttpEndpoint=disabled): no role credentials"
        )
    if not getattr(instance, "ram_role_name", None):
        return _failed("the instance has no RAM role (RamRoleName): it cannot read its delivery secret")
    try:
        _, data = kms_backend(world).get_secret_value(boot.secret_name, now)
    except ApiError as error:
        world.calls.record("kms", "GetSecretValue", error.http_status, error.code, params)
        return _failed(f"GetSecretValue {boot.secret_name}: {error.code}")
    world.calls.record("kms", "GetSecretValue", 200, None, params)
    return read_bundle(data, now)


def bootstrap_token_digest(secret: dict[str, Any]) -> tuple[str, str, float | None] | None:
    """``(token id, digest of "<id>.<secret>", expiry)`` of a ``bootstrap.kubernetes.io/token`` Secret
    usable for authentication, else None. The saved world keeps ``token-secret`` as ``sha256:<digest>``."""
    if secret.get("type") != "bootstrap.kubernetes.io/token":
        return None
    data = secret.get("data") or {}

    def field(name: str) -> str:
        raw = data.get(name)
        if not isinstance(raw, str):
            return ""
        if raw.startswith("sha256:"):
            return raw
        try:
            return base64.b64decode(raw).decode()
        except (ValueError, UnicodeDecodeError):
            return ""

    token_id, token_secret = field("token-id"), field("token-secret")
    if field("usage-bootstrap-authentication") != "true" or not token_id or not token_secret:
        return None
    if secret.get("metadata", {}).get("name") != f"bootstrap-token-{token_id}":
        return None
    full = token_secret[7:] if token_secret.startswith("sha256:") else digest(f"{token_id}.{token_secret}")
    expiration = field("expiration")
    expires: float | None = None
    if expiration:
        import datetime as dt

        try:
            expires = dt.datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return token_id, full, expires


def redact_bootstrap_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Secret whose ``token-secret`` is replaced by ``sha256:<digest of the full token>``."""
    found = bootstrap_token_digest(secret)
    if found is None:
        return secret
    copy = json.loads(json.dumps(secret))
    copy["data"]["token-secret"] = "sha256:" + found[1]
    return copy
