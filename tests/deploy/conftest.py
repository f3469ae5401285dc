"""Fixtures of the offline deployment checks: the compose tool, a filled env file, the resolved file.

There is no Docker engine where the tests run; ``docker-compose config`` (Debian's docker-compose,
the Compose file validator and interpolator) needs none. When the tool is missing it is installed
with apt-get (root only); under ``CI=true`` a missing tool fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from yunfleet.devenv.config import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
#: values a user fills in before the first start (.env.example leaves them empty)
FILLED_SECRETS = {
    "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-secret-for-the-offline-check",
    "POSTGRES_PASSWORD": "pgpassword",
    "YUNFLEET_ADMIN_PASSWORD": "admin-password",
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason}; CI must run the compose validation", pytrace=False)
    pytest.skip(reason)


def _install_docker_compose() -> str | None:
    """``apt-get install -y docker-compose`` (after ``apt-get update`` if the first try fails)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "docker-compose is missing and cannot be installed here (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "docker-compose"]
    for prepare in ([], ["apt-get", "update"]):
        if prepare:
            subprocess.run(prepare, env=env, capture_output=True, timeout=600, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode == 0 and shutil.which("docker-compose"):
            return None
    return f"apt-get install docker-compose failed: {(done.stdout + done.stderr)[-500:]}"


@pytest.fixture(scope="session")
def compose_tool() -> str:
    """Path of ``docker-compose`` (installed on first use when missing)."""
    path = shutil.which("docker-compose")
    if path is None:
        problem = _install_docker_compose()
        if problem:
            _unavailable(problem)
        path = shutil.which("docker-compose")
    assert path is not None
    return path


def run_compose(tool: str, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose --env-file F -f docker-compose.yaml ARGS`` with F also as the containers' env_file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "YUNFLEET", "POSTGRES"))}
    env["YUNFLEET_ENV_FILE"] = str(env_file)
    return subprocess.run(
        [tool, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def fill_env_example(path: Path, values: dict[str, str]) -> Path:
    """Copy .env.example to ``path`` with the given variables filled in."""
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={values[name]}" if "=" in line and name in values else line)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def filled_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_env_example(tmp_path_factory.mktemp("compose") / "test.env", FILLED_SECRETS)


@pytest.fixture(scope="session")
def raw_compose() -> dict[str, Any]:
    """docker-compose.yaml as written (anchors merged by the YAML loader, nothing interpolated)."""
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="session")
def resolved_compose(compose_tool: str, filled_env_file: Path) -> Iterator[dict[str, Any]]:
    """The file as Docker Compose resolves it (``config``): interpolated, env files merged in."""
    done = run_compose(compose_tool, filled_env_file, "--profile", "sandbox", "config")
    assert done.returncode == 0, f"docker-compose config failed:\n{done.stderr[-3000:]}"
    resolved = yaml.safe_load(done.stdout)
    assert isinstance(resolved, dict)
    yield resolved
