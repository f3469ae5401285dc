#!/usr/bin/env python3
"""Runs on a booting node: read its delivery secret from KMS once, with the instance's RAM role.

Shipped verbatim in user-data as ``/usr/local/sbin/yunfleet-fetch-bootstrap`` (standard library only,
Python 3.8+, as on Ubuntu and Alibaba Cloud Linux images). Usage::

    yunfleet-fetch-bootstrap /etc/yunfleet/bootstrap.json

1. The metadata service in security hardening mode: ``PUT /latest/api/token`` with
   ``X-aliyun-ecs-metadata-token-ttl-seconds``, then every read with ``X-aliyun-ecs-metadata-token``
   (ECS docs "Instance metadata", security hardening mode; works when the instance was launched with
   ``HttpTokens=required``).
2. The RAM role's STS credentials from ``/latest/meta-data/ram/security-credentials/<role>``.
3. KMS ``GetSecretValue`` (API 2016-01-20, RPC style) signed with ACS3-HMAC-SHA256 and the STS token
   (``x-acs-security-token``), against the VPC endpoint ``kms-vpc.<region>.aliyuncs.com`` unless the
   bootstrap block names another.
4. Writes the bundle's files (mode as given, parent directories 0700 when created), replacing the
   instance-id placeholder with the instance's id.

Transient failures are retried (10 attempts, 6 s apart); the script prints one line per failure
without secret values and exits 1 when it gives up. ``YUNFLEET_METADATA_URL``,
``YUNFLEET_FETCH_ATTEMPTS`` and ``YUNFLEET_FETCH_DELAY_S`` exist for tests.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

METADATA_URL = "http://100.100.100.200"
TOKEN_TTL_S = "300"  # noqa: S105 (a lifetime in seconds)
PLACEHOLDER = "__YUNFLEET_INSTANCE_ID__"
ALGORITHM = "ACS3-HMAC-SHA256"
KMS_VERSION = "2016-01-20"
TIMEOUT_S = 10


class FetchError(Exception):
    """One step failed; the message names the step, never a secret."""


def _request(url: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, method=method, headers=headers or {})  # noqa: S310 (fixed schemes)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        raise FetchError(f"{method} {url.split('?')[0]} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"{method} {url.split('?')[0]} failed: {exc}") from None


def role_credentials(metadata_url: str) -> tuple[dict[str, Any], str]:
    """The RAM role's STS credentials and the instance id, through session-token metadata access."""
    token = _request(
        f"{metadata_url}/latest/api/token",
        method="PUT",
        headers={"X-aliyun-ecs-metadata-token-ttl-seconds": TOKEN_TTL_S},
    ).decode()
    auth = {"X-aliyun-ecs-metadata-token": token}
    instance_id = _request(f"{metadata_url}/latest/meta-data/instance-id", headers=auth).decode().strip()
    roles = _request(f"{metadata_url}/latest/meta-data/ram/security-credentials/", headers=auth).decode()
    role = next((line.strip().rstrip("/") for line in roles.splitlines() if line.strip()), "")
    if not role:
        raise FetchError("the instance has no RAM role attached (RunInstances RamRoleName)")
    creds = json.loads(
        _request(f"{metadata_url}/latest/meta-data/ram/security-credentials/{role}", headers=auth)
    )
    if creds.get("Code", "Success") != "Success" or not creds.get("AccessKeyId"):
        raise FetchError(f"the metadata service gave no credentials for role {role!r}")
    return creds, instance_id


def _pct(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def signed_kms_request(
    endpoint: str, action: str, query: dict[str, str], creds: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """URL and headers of a KMS RPC call signed with ACS3-HMAC-SHA256 (Alibaba Cloud "V3 request
    structure and signature"): canonical request of method, ``/``, sorted query, the signed headers
    and the body hash; the signature is
    ``hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\\n" + hex(sha256(canonical))))``.
    """
    scheme, _, host = endpoint.rpartition("://")
    scheme = scheme or "https"
    empty_hash = hashlib.sha256(b"").hexdigest()
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": KMS_VERSION,
        "x-acs-date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": empty_hash,
        "x-acs-security-token": creds.get("SecurityToken", ""),
        "x-acs-accesskey-id": creds["AccessKeyId"],
    }
    names = sorted(headers)
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in query.items()))
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in names)
    signed = ";".join(names)
    canonical = "\n".join(["POST", "/", canonical_query, canonical_headers, signed, empty_hash])
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(creds["AccessKeySecret"].encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={creds['AccessKeyId']},SignedHeaders={signed},Signature={signature}"
    )
    url = f"{scheme}://{host}/?{urllib.parse.urlencode(query)}"
    return url, {k: v for k, v in headers.items() if k != "host"}


def get_secret_value(endpoint: str, name: str, creds: dict[str, Any]) -> str:
    url, headers = signed_kms_request(endpoint, "GetSecretValue", {"SecretName": name}, creds)
    body = json.loads(_request(url, method="POST", headers=headers))
    data = body.get("SecretData")
    if not isinstance(data, str):
        raise FetchError(f"GetSecretValue of {name} returned no SecretData")
    return data


def write_files(bundle_text: str, instance_id: str) -> list[str]:
    """Write the bundle's files atomically; returns their paths."""
    bundle = json.loads(bundle_text)
    if bundle.get("version") != 1:
        raise FetchError("the delivery secret is not a version 1 bundle")
    written = []
    for item in bundle["files"]:
        path = item["path"]
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".yunfleet-")
        try:
            os.fchmod(fd, int(item["permissions"], 8))
            with os.fdopen(fd, "w") as handle:
                handle.write(item["content"].replace(PLACEHOLDER, instance_id))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        written.append(path)
    return written


def fetch(block_path: str) -> list[str]:
    with open(block_path) as handle:
        block = json.load(handle)
    metadata_url = os.environ.get("YUNFLEET_METADATA_URL", METADATA_URL)
    endpoint = block.get("kms_endpoint") or f"kms-vpc.{block['region_id']}.aliyuncs.com"
    creds, instance_id = role_credentials(metadata_url)
    return write_files(get_secret_value(endpoint, block["secret_name"], creds), instance_id)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: yunfleet-fetch-bootstrap /etc/yunfleet/bootstrap.json", file=sys.stderr)
        return 2
    attempts = int(os.environ.get("YUNFLEET_FETCH_ATTEMPTS", "10"))
    delay = float(os.environ.get("YUNFLEET_FETCH_DELAY_S", "6"))
    for attempt in range(1, attempts + 1):
        try:
            paths = fetch(argv[1])
        except (FetchError, KeyError, ValueError) as exc:
            print(f"yunfleet-fetch-bootstrap: attempt {attempt}/{attempts}: {exc}", file=sys.stderr)
            if attempt < attempts:
                time.sleep(delay)
            continue
        print("yunfleet-fetch-bootstrap: wrote " + ", ".join(paths))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
