"""The node-side fetch script, run as a node runs it: session-token metadata access on a loopback
stand-in for 100.100.100.200, STS credentials of the RAM role, a signed GetSecretValue against the
sandbox's KMS, the bundle's files written with their modes and the instance id filled in."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as kms_models

from include.provisioning import node_fetch
from include.provisioning.delivery import DeliveredFile, bundle
from include.provisioning.node import INSTANCE_ID_PLACEHOLDER

SCRIPT = Path(node_fetch.__file__)
INSTANCE = "i-bp1f2r8kx0abcdefgh12"


class Metadata(BaseHTTPRequestHandler):
    """ECS metadata in security hardening mode: every read needs the token from PUT /latest/api/token."""

    token = "md-session-token"
    role: str | None = "yunfleet-node"
    seen: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: str) -> None:
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_PUT(self) -> None:
        self.seen.append(f"PUT {self.path}")
        ttl = self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds")
        if self.path != "/latest/api/token" or not ttl or not 1 <= int(ttl) <= 21600:
            return self._send(400, "bad token request")
        self._send(200, self.token)

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path}")
        if self.headers.get("X-aliyun-ecs-metadata-token") != self.token:
            return self._send(401, "Unauthorized")
        if self.path == "/latest/meta-data/instance-id":
            return self._send(200, INSTANCE)
        if self.path == "/latest/meta-data/ram/security-credentials/":
            return self._send(200 if self.role else 404, self.role or "")
        if self.path == f"/latest/meta-data/ram/security-credentials/{self.role}":
            creds = {
                "AccessKeyId": "sandbox-ak",
                "AccessKeySecret": "sandbox-secret",
                "SecurityToken": "sts-token",
                "Expiration": "2099-01-01T00:00:00Z",
                "Code": "Success",
            }
            return self._send(200, json.dumps(creds))
        self._send(404, "not found")


@pytest.fixture
def metadata() -> Iterator[str]:
    Metadata.seen = []
    Metadata.role = "yunfleet-node"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Metadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run_script(block: Path, metadata_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "YUNFLEET_METADATA_URL": metadata_url,
        "YUNFLEET_FETCH_ATTEMPTS": "2",
        "YUNFLEET_FETCH_DELAY_S": "0",
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(block)], capture_output=True, text=True, timeout=60, env=env
    )


def test_fetch_writes_the_bundle_with_the_role_credentials(
    clean_sandbox: Any, metadata: str, tmp_path: Path
) -> None:
    target = tmp_path / "etc" / "kubernetes"
    files = [
        DeliveredFile(
            str(target / "kubeadm.yaml"),
            "0600",
            f"name: {INSTANCE_ID_PLACEHOLDER}\ntoken: abcdef.0123456789abcdef\n",
        ),
        DeliveredFile(str(target / "pki" / "ca.crt"), "0644", "-----BEGIN CERTIFICATE-----\n"),
    ]
    clean_sandbox.kms_client().create_secret(
        kms_models.CreateSecretRequest(
            secret_name="yunfleet/demo/w-1", secret_data=bundle(files), version_id="v1"
        )
    )
    block = tmp_path / "bootstrap.json"
    block.write_text(
        json.dumps(
            {
                "secret_name": "yunfleet/demo/w-1",
                "region_id": "cn-hangzhou",
                "kms_endpoint": f"http://{clean_sandbox.endpoint}",
            }
        )
    )
    since = clean_sandbox.calls()["next"]
    result = run_script(block, metadata)
    assert result.returncode == 0, result.stderr
    assert (target / "kubeadm.yaml").read_text() == f"name: {INSTANCE}\ntoken: abcdef.0123456789abcdef\n"
    assert stat.S_IMODE((target / "kubeadm.yaml").stat().st_mode) == 0o600
    assert stat.S_IMODE((target / "pki" / "ca.crt").stat().st_mode) == 0o644
    assert Metadata.seen[0] == "PUT /latest/api/token"
    calls = clean_sandbox.calls(since)["calls"]
    assert [(c["product"], c["action"], c["status"]) for c in calls] == [("kms", "GetSecretValue", 200)]
    assert "0123456789abcdef" not in result.stdout + result.stderr


def test_fetch_fails_clearly_without_a_role_or_a_secret(
    clean_sandbox: Any, metadata: str, tmp_path: Path
) -> None:
    block = tmp_path / "bootstrap.json"
    block.write_text(
        json.dumps(
            {
                "secret_name": "yunfleet/demo/gone",
                "region_id": "cn-hangzhou",
                "kms_endpoint": f"http://{clean_sandbox.endpoint}",
            }
        )
    )
    missing = run_script(block, metadata)
    assert missing.returncode == 1 and "Forbidden.ResourceNotFound" in missing.stderr
    Metadata.role = None
    no_role = run_script(block, metadata)
    assert no_role.returncode == 1 and "404" in no_role.stderr
