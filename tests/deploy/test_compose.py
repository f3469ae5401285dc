"""Offline validation of docker-compose.yaml, and of the file against the project.

``docker-compose config`` (no engine needed) proves the file is valid Compose and resolves it;
the other checks hold the resolved stack to what the project needs: the services and their commands,
one shared Celery configuration, health checks, secrets only from the env file, mounts that exist,
every environment variable the code running in the containers reads.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from tests.deploy.conftest import COMPOSE_FILE, ENV_EXAMPLE, FILLED_SECRETS, run_compose
from yunfleet.devenv import bootstrap
from yunfleet.devenv.config import REPO_ROOT

AIRFLOW_SERVICES = {
    "airflow-init": None,
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
LONG_RUNNING = [
    *(name for name in AIRFLOW_SERVICES if name != "airflow-init"),
    "postgres",
    "redis",
    "sandbox",
]
#: code that runs inside the Airflow containers (DAG files, task code, hooks, domain, UI plugin)
CONTAINER_CODE = ("dags", "flows", "operators", "include", "plugins")
#: environment variables that code reads but the stack need not set, and why
OPTIONAL_VARIABLES = {
    "YUNFLEET_CALLBACK_CONN_ID": "names another callback connection; default yunfleet_callback",
    "YUNFLEET_NOTIFY_CONN_ID": "names another notification connection; default yunfleet_notify",
    "YUNFLEET_METADATA_URL": "read by the node fetch script on the cluster nodes, not in Airflow",
    "YUNFLEET_FETCH_ATTEMPTS": "read by the node fetch script on the cluster nodes, not in Airflow",
    "YUNFLEET_FETCH_DELAY_S": "read by the node fetch script on the cluster nodes, not in Airflow",
}
#: Airflow options the code reads that need not be set (their fallback is the right value)
OPTIONAL_AIRFLOW_OPTIONS = {("operators", "default_deferrable")}
SANDBOX_REQUIRED = {
    "SANDBOX_HOST",
    "SANDBOX_HTTP_PORT",
    "SANDBOX_KUBE_PORT",
    "SANDBOX_DNS_PORT",
    "SANDBOX_STATE_DIR",
    "SANDBOX_TLS_NAMES",
}
SANDBOX_OPTIONAL = {
    "SANDBOX_TIMINGS",
    "SANDBOX_QUOTA_WINDOW_S",
    "SANDBOX_TICK_MS",
    "SANDBOX_SEED",
    "SANDBOX_KUBE_TIMINGS",
    "YUNFLEET_HOME",
}


def _services(resolved: dict[str, Any]) -> dict[str, Any]:
    return dict(resolved["services"])


def _env(resolved: dict[str, Any], service: str) -> dict[str, str]:
    return {
        k: "" if v is None else str(v)
        for k, v in (_services(resolved)[service].get("environment") or {}).items()
    }


def _mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{target: {"type", "source", "read_only"}}`` from either volume syntax ``config`` may print."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            kind = "bind" if source.startswith(("/", ".")) else "volume"
            volume = {"type": kind, "source": source, "target": target, "read_only": mode == ["ro"]}
        mounts[volume["target"]] = volume
    return mounts


def _command(service: dict[str, Any]) -> str:
    command = service.get("command")
    return " ".join(command) if isinstance(command, list) else str(command)


# -- the file as Docker Compose reads it -------------------------------------------------------------


def test_docker_compose_accepts_the_file(resolved_compose):
    assert set(_services(resolved_compose)) == {"postgres", "redis", "sandbox", *AIRFLOW_SERVICES}


def test_the_stack_refuses_to_resolve_without_the_secrets(compose_tool):
    done = run_compose(compose_tool, ENV_EXAMPLE, "config")
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr


def test_nothing_secret_is_committed():
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name in FILLED_SECRETS:
        assert example.get(name) == "", f"{name} must be left empty in .env.example"
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", ".env"], cwd=REPO_ROOT, capture_output=True, check=False
    )
    assert tracked.returncode != 0, ".env must not be tracked"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 0, ".env must be git-ignored"
    text = COMPOSE_FILE.read_text()
    for name in (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    ):
        assert name not in text, f"{name} belongs in the env file, not in docker-compose.yaml"


# -- services, commands, health ------------------------------------------------------------------------


def test_every_component_runs_its_airflow_command(resolved_compose):
    services = _services(resolved_compose)
    for name, command in AIRFLOW_SERVICES.items():
        if command is not None:
            assert _command(services[name]) == command, name
    init = _command(services["airflow-init"])
    assert init.index("airflow db migrate") < init.index("python -m yunfleet.devenv.bootstrap --from-env")


def test_long_running_services_have_health_checks_and_restart(resolved_compose):
    services = _services(resolved_compose)
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert services[name].get("restart") == "always", name
    assert services["airflow-init"].get("restart") == "no"


def test_startup_order_follows_the_dependencies(resolved_compose):
    services = _services(resolved_compose)
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    # Workers and the triggerer run task code, which talks to the API server's Execution API.
    for name in ("airflow-worker", "airflow-triggerer"):
        assert services[name]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy", name


def test_workers_scale_with_docker_compose_scale(resolved_compose):
    worker = _services(resolved_compose)["airflow-worker"]
    # --scale starts several containers from one service: nothing in it may be unique per host.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert _env(resolved_compose, "airflow-worker")["DUMB_INIT_SETSID"] == "0"  # warm shutdown
    assert int(worker["stop_grace_period"].rstrip("m")) >= 1


def test_sandbox_is_an_optional_profile_on_the_compose_network(raw_compose, resolved_compose):
    sandbox = raw_compose["services"]["sandbox"]
    assert sandbox["profiles"] == ["sandbox"]
    assert sandbox["command"] == ["python", "-m", "sandbox"]
    assert "ports" not in sandbox, "the sandbox stays on the compose network"
    assert "env_file" not in sandbox, "the sandbox gets none of the stack's secrets"
    env = _env(resolved_compose, "sandbox")
    assert env["SANDBOX_HOST"] == "0.0.0.0"  # noqa: S104 - inside its container, for the other services
    assert "sandbox" in env["SANDBOX_TLS_NAMES"].split(",")
    assert sandbox["image"] == raw_compose["x-airflow-common"]["image"]


# -- one configuration for every Airflow component -----------------------------------------------------


def test_airflow_services_share_one_celery_configuration(resolved_compose):
    envs = {name: _env(resolved_compose, name) for name in AIRFLOW_SERVICES}
    for name, env in envs.items():
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        metadata = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert (metadata.drivername, metadata.host, metadata.database) == (
            "postgresql+psycopg2",
            "postgres",
            "airflow",
        )
        assert metadata.password == FILLED_SECRETS["POSTGRES_PASSWORD"]
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == f"db+{env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN']}"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
        assert int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]) >= 1
    # Components sign and verify each other's tokens and decrypt each other's secrets: one value each,
    # and that value is the env file's.
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"):
        assert {env[key] for env in envs.values()} == {FILLED_SECRETS[key]}, key
    shared = {k: v for k, v in envs["airflow-scheduler"].items()}
    for name, env in envs.items():
        differing = {k for k in shared if env.get(k) != shared[k]}
        assert not differing, f"{name} differs from the scheduler in {sorted(differing)}"


def test_postgres_serves_the_metadata_db_with_the_env_file_password(resolved_compose):
    env = _env(resolved_compose, "postgres")
    assert env["POSTGRES_DB"] == "airflow"
    assert env["POSTGRES_PASSWORD"] == FILLED_SECRETS["POSTGRES_PASSWORD"]
    registry = make_url(_env(resolved_compose, "airflow-init")[bootstrap.REGISTRY_URL_VAR])
    assert (registry.host, registry.database, registry.username) == (
        "postgres",
        "yunfleet",
        env["POSTGRES_USER"],
    )


def test_the_admin_password_file_is_shared_by_init_and_the_api_server(resolved_compose):
    services = _services(resolved_compose)
    path = _env(resolved_compose, "airflow-apiserver")["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    for name in ("airflow-init", "airflow-apiserver"):
        mount = _mounts(services[name])[str(Path(path).parent)]
        assert (mount["type"], mount["source"]) == ("volume", "airflow-auth"), name


# -- checked against the project -----------------------------------------------------------------------


def test_every_mounted_path_exists(raw_compose, resolved_compose):
    declared = set(resolved_compose.get("volumes") or {})
    for name, service in _services(resolved_compose).items():
        for volume in _mounts(service).values():
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name} mounts missing {volume['source']}"
            else:
                assert volume["source"] in declared, f"{name} uses undeclared volume {volume['source']}"
        build = service.get("build")
        if build:
            assert (Path(build["context"]) / build.get("dockerfile", "Dockerfile")).is_file(), name
    for env_file in raw_compose["x-airflow-common"]["env_file"]:
        assert env_file == "${YUNFLEET_ENV_FILE:-.env}"
    assert ENV_EXAMPLE.is_file()


_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]+$")


def _reads(tree: ast.AST) -> tuple[set[str], set[tuple[str, str]]]:
    """Environment variable names and (section, key) Airflow options read with literal names."""
    names: set[str] = set()
    options: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func, first = node.func, node.args[0].value
            if not isinstance(first, str):
                continue
            if isinstance(func, ast.Name) and "env" in func.id and _VARIABLE.match(first):
                names.add(first)  # a helper such as _int_env("SANDBOX_HTTP_PORT", 8470)
                continue
            if not isinstance(func, ast.Attribute):
                continue
            owner = ast.unparse(func.value)
            reads_env = owner.endswith("environ") and func.attr in ("get", "setdefault", "pop")
            if reads_env or (owner == "os" and func.attr == "getenv"):
                names.add(first)
            elif owner == "conf" and func.attr.startswith("get") and len(node.args) >= 2:
                second = node.args[1]
                if isinstance(second, ast.Constant) and isinstance(second.value, str):
                    options.add((first.lower(), second.value.lower()))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ"):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                names.add(node.slice.value)
    return names, options


def _scan(folders: tuple[str, ...]) -> tuple[dict[str, set[str]], dict[tuple[str, str], set[str]]]:
    names: dict[str, set[str]] = {}
    options: dict[tuple[str, str], set[str]] = {}
    for folder in folders:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            found, opts = _reads(ast.parse(path.read_text(), filename=str(path)))
            where = str(path.relative_to(REPO_ROOT))
            for name in found:
                names.setdefault(name, set()).add(where)
            for opt in opts:
                options.setdefault(opt, set()).add(where)
    return names, options


def test_every_environment_variable_the_task_code_reads_is_set(resolved_compose):
    names, options = _scan(CONTAINER_CODE)
    assert names, "the scan found no environment reads at all: it is broken"
    env = _env(resolved_compose, "airflow-worker")
    missing = {n: sorted(w) for n, w in names.items() if n not in env and n not in OPTIONAL_VARIABLES}
    assert not missing, f"read by the code, not set by docker-compose.yaml: {missing}"
    for (section, key), where in options.items():
        if (section, key) in OPTIONAL_AIRFLOW_OPTIONS:
            continue
        variable = f"AIRFLOW__{section.upper()}__{key.upper()}"
        assert env.get(variable), f"{variable} (read in {sorted(where)}) is not set for the containers"


def test_the_region_default_follows_the_cloud_connection(resolved_compose):
    env = _env(resolved_compose, "airflow-dag-processor")
    assert env["YUNFLEET_REGION_ID"] == env["ALIBABA_CLOUD_REGION_ID"]


def test_every_variable_the_sandbox_reads_is_known(resolved_compose):
    names, _ = _scan(("sandbox",))
    unknown = set(names) - SANDBOX_REQUIRED - SANDBOX_OPTIONAL
    assert not unknown, (
        f"the sandbox reads {unknown}: set them on the sandbox service or list them as optional"
    )
    env = _env(resolved_compose, "sandbox")
    assert SANDBOX_REQUIRED <= set(env), SANDBOX_REQUIRED - set(env)
    mounts = _mounts(_services(resolved_compose)["sandbox"])
    assert env["SANDBOX_STATE_DIR"] in mounts and not mounts[env["SANDBOX_STATE_DIR"]]["read_only"]


def test_the_env_file_carries_what_airflow_init_requires(resolved_compose):
    env = _env(resolved_compose, "airflow-init")
    # The same function airflow-init runs: it raises when a required variable is missing.
    bootstrap.check_shared_secrets(env)
    connection = bootstrap.cloud_connection_from_env(env)
    extra = connection["extra"]
    assert isinstance(extra, dict)
    # Pointed at the sandbox service, with the sandbox's CA from the shared volume.
    assert extra["endpoint"] == "sandbox:8470"
    assert extra["kube_server_template"].startswith("https://sandbox:8471/")
    ca = Path(extra["kube_ca_file"])
    mount = _mounts(_services(resolved_compose)["airflow-worker"])[str(ca.parent)]
    assert (mount["source"], mount["read_only"]) == ("sandbox-state", True)
    sandbox_env = _env(resolved_compose, "sandbox")
    assert sandbox_env["SANDBOX_STATE_DIR"] == str(ca.parent)


def test_api_pools_come_from_the_bootstrap_not_from_a_copy(raw_compose):
    script = _command(raw_compose["services"]["airflow-init"])
    assert "pools set" not in script, "pools are created by yunfleet.devenv.bootstrap (POOLS)"
    assert json.dumps(raw_compose).count("yunfleet.devenv.bootstrap") == 1


@pytest.mark.parametrize("service", ["airflow-apiserver", "airflow-scheduler", "sandbox"])
def test_python_health_checks_compile(resolved_compose, service):
    test = _services(resolved_compose)[service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], f"<{service} healthcheck>", "exec")
