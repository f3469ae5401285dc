"""The installed `yunfleet` console command in a fresh process: clusters, kubeconfig, ticket; output and
exit codes.

The read commands get only the API address and a login; here the Fleet API is the plugin's app on a
throwaway registry, served on loopback behind a login that answers as Airflow's does
(tests/plugins/fleet_view_support.py). ``ticket`` is refused before anything is sent, or reports an
unreachable platform. The run against the live platform is in test_provision_cluster.py.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from include.provisioning.pki import generate_credentials
from include.registry import CredentialCipher, FleetRegistry, create_registry_engine, migrate
from plugins.fleet_view.app import create_app
from plugins.fleet_view.sources import FleetSettings
from tests.plugins.fleet_view_support import USERS, FakeSources, airflow_like, serve, token_security

YUNFLEET = str(Path(sys.executable).parent / "yunfleet")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An empty registry behind the Fleet API; ``env`` runs the command against it as ``admin``."""
    engine = create_registry_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    migrate(engine)
    ca = tmp_path / "sandbox-ca.crt"
    ca.write_text(generate_credentials("sandbox").ca_cert_pem)
    key = Fernet.generate_key().decode()
    sources = FakeSources(engine, key)
    sources.settings_ = FleetSettings(
        "fleet.example.com", "fleet/default", "https://127.0.0.1:9/k8s/{cluster}", str(ca)
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "YUNFLEET"))}
    with serve(airflow_like(create_app(sources, token_security()))) as url:
        env = {
            **keep,
            "YUNFLEET_HOME": str(tmp_path),
            "YUNFLEET_API_URL": url,
            "YUNFLEET_API_USER": "admin",
            "YUNFLEET_API_PASSWORD": USERS["admin"][0],
        }
        yield {
            "env": env,
            "registry": FleetRegistry(engine, CredentialCipher(key)),
            "sources": sources,
            "ca": ca,
        }


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """For ``ticket``: a platform address where nothing listens."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "YUNFLEET"))}
    return {
        **keep,
        "YUNFLEET_HOME": str(tmp_path),
        "YUNFLEET_API_URL": "http://127.0.0.1:9",
        "YUNFLEET_API_PASSWORD": "x",
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [YUNFLEET, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def register_demo(registry: FleetRegistry) -> dict[str, Any]:
    registry.upsert_cluster(
        "demo",
        region_id="cn-hangzhou",
        domain="fleet.example.com",
        spec={"kubernetes_version": "1.31", "zones": ["cn-hangzhou-h"], "node_pools": [{"name": "general"}]},
        state="ready",
        ticket_id="OPS-7",
    )
    creds = generate_credentials("demo").to_json()
    registry.put_credentials("demo", creds)
    return creds


def test_clusters_and_kubeconfig(fleet: dict[str, Any]) -> None:
    env = fleet["env"]
    empty = run(env, "clusters")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "no clusters registered"

    creds = register_demo(fleet["registry"])
    listed = run(env, "clusters")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.strip().splitlines()
    assert header.split()[:3] == ["NAME", "STATE", "REGION"]
    assert row.split()[:4] == ["demo", "ready", "cn-hangzhou", "1.31"]

    out = run(env, "kubeconfig", "demo")
    assert out.returncode == 0, out.stderr
    doc = yaml.safe_load(out.stdout)  # stdout holds the document and nothing else
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:9/k8s/demo"
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == fleet["ca"].read_text()
    user = doc["users"][0]["user"]
    assert base64.b64decode(user["client-certificate-data"]).decode() == creds["admin_cert_pem"]
    assert base64.b64decode(user["client-key-data"]).decode() == creds["admin_key_pem"]
    assert "token" not in user and creds["admin_key_pem"] not in out.stderr


def test_unknown_cluster_exits_1(fleet: dict[str, Any]) -> None:
    out = run(fleet["env"], "kubeconfig", "nope")
    assert out.returncode == 1
    assert "cluster 'nope' is not registered" in out.stderr
    assert out.stdout == ""


def test_wrong_fernet_key_exits_3_without_leaking(fleet: dict[str, Any]) -> None:
    creds = register_demo(fleet["registry"])
    fleet[
        "sources"
    ].key = Fernet.generate_key().decode()  # the API server's key is not the one that stored them
    out = run(fleet["env"], "kubeconfig", "demo")
    assert out.returncode == 3
    assert "cannot decrypt the credentials of 'demo'" in out.stderr
    assert creds["admin_key_pem"] not in out.stderr + out.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["provision_cluster", "OPS 1"], "ticket id 'OPS 1' must be"),
        (["provision_cluster", "OPS-1", "--set", "cluster_name=Bad"], "cluster_name: 'Bad' does not match"),
        (
            [
                "provision_cluster",
                "OPS-1",
                "--conf",
                json.dumps(
                    {
                        "cluster_name": "good",
                        "zones": ["cn-hangzhou-h"],
                        "node_pools": [
                            {
                                "name": "p",
                                "instance_type": "ecs.g7.large",
                                "zones": ["cn-hangzhou-i"],
                                "min_size": 0,
                                "max_size": 1,
                                "desired_size": 1,
                            }
                        ],
                    }
                ),
            ],
            "node_pools[p].zones: cn-hangzhou-i not among the cluster's zones",
        ),
        (
            [
                "decommission_cluster",
                "OPS-1",
                "--set",
                "cluster_name=demo",
                "--set",
                "confirm_cluster_name=demx",
            ],
            "confirm_cluster_name: must repeat cluster_name",
        ),
        (["provision_cluster", "OPS-1", "--conf", "{not json"], "--conf is not valid JSON"),
    ],
)
def test_ticket_refuses_bad_input_before_sending(env: dict[str, str], args: list[str], expected: str) -> None:
    out = run(env, "ticket", *args)
    assert out.returncode == 2, out.stderr
    assert expected in out.stderr
    assert "cannot reach" not in out.stderr


def test_ticket_reports_an_unreachable_platform(env: dict[str, str]) -> None:
    out = run(env, "ticket", "provision_cluster", "OPS-1", "--set", "cluster_name=good")
    assert out.returncode == 3
    assert "cannot reach the Airflow API at http://127.0.0.1:9" in out.stderr
