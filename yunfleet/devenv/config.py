"""Settings, paths and process environment of the local Yunfleet platform (`make run`, e2e tests).

Everything here is plain data: no process is started and Airflow is not imported. The same settings
drive `make run` (default ports, `<repo>/.yunfleet`) and the e2e test fixture (temporary home, free
ports), so both bring the platform up the same way.
"""

from __future__ import annotations

import configparser
import json
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from include.loopback import LOOPBACK_HOSTS, PROXY_VARIABLES
from yunfleet.devenv.ports import free_tcp_port, free_tcp_udp_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_USER = "admin"

# Sandbox credentials and region (contract, see ARCHITECTURE.md).
SANDBOX_ACCESS_KEY_ID = "sandbox-ak"
SANDBOX_ACCESS_KEY_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's published test credential
SANDBOX_REGION = "cn-hangzhou"
SANDBOX_DOMAIN = "fleet.example.com"

# Pools that rate-limit cloud and cluster API calls (docs/conventions.md).
POOLS: dict[str, int] = {
    "alibaba_ecs_api": 8,
    "alibaba_slb_api": 4,
    "alibaba_dns_api": 4,
    "kubernetes_api": 8,
}


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer port number, got {raw!r}") from None


@dataclass(frozen=True)
class DevSettings:
    """Where the platform keeps its state and which loopback ports it listens on."""

    home: Path
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    sandbox_http_port: int = 8470
    sandbox_kube_port: int = 8471
    sandbox_dns_port: int = 8453
    worker_log_port: int = 8793
    trigger_log_port: int = 8794
    sandbox_state_dir: Path | None = None
    dag_refresh_interval: int = 5
    dags_folder: Path = field(default_factory=lambda: REPO_ROOT / "dags")
    plugins_folder: Path = field(default_factory=lambda: REPO_ROOT / "plugins")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DevSettings:
        """Defaults of `make run`, each overridable by an environment variable."""
        env = os.environ if environ is None else environ
        home = Path(env.get("YUNFLEET_HOME") or REPO_ROOT / ".yunfleet").resolve()
        state_dir = env.get("SANDBOX_STATE_DIR")
        if state_dir and Path(state_dir).resolve() == home / "sandbox":
            state_dir = None  # the default location, not an override
        return cls(
            home=home,
            api_host=env.get("YUNFLEET_API_HOST", "127.0.0.1"),
            api_port=_env_int(env, "YUNFLEET_API_PORT", 8080),
            sandbox_http_port=_env_int(env, "SANDBOX_HTTP_PORT", 8470),
            sandbox_kube_port=_env_int(env, "SANDBOX_KUBE_PORT", 8471),
            sandbox_dns_port=_env_int(env, "SANDBOX_DNS_PORT", 8453),
            worker_log_port=_env_int(env, "YUNFLEET_WORKER_LOG_PORT", 8793),
            trigger_log_port=_env_int(env, "YUNFLEET_TRIGGER_LOG_PORT", 8794),
            sandbox_state_dir=Path(state_dir).resolve() if state_dir else None,
        )

    @classmethod
    def isolated(cls, home: Path) -> DevSettings:
        """Settings for a throwaway platform: given home, every port picked free on loopback."""
        ports: list[int] = [free_tcp_udp_port()]
        while len(ports) < 6:
            port = free_tcp_port()
            if port not in ports:
                ports.append(port)
        dns, http, kube, api, wlog, tlog = ports
        return cls(
            home=home.resolve(),
            api_port=api,
            sandbox_http_port=http,
            sandbox_kube_port=kube,
            sandbox_dns_port=dns,
            worker_log_port=wlog,
            trigger_log_port=tlog,
        )

    def with_changes(self, **changes: object) -> DevSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    # Paths (docs/conventions.md "Local state").
    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def airflow_cfg(self) -> Path:
        return self.airflow_home / "airflow.cfg"

    @property
    def password_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def callback_secret_file(self) -> Path:
        """The HMAC secret that signs run callbacks (``callback_url``); also in ``yunfleet_callback``."""
        return self.home / "callback-secret"

    @property
    def registry_db(self) -> Path:
        return self.home / "yunfleet.db"

    @property
    def sandbox_dir(self) -> Path:
        return self.sandbox_state_dir or self.home / "sandbox"

    # Addresses.
    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.api_host in ("0.0.0.0", "") else self.api_host  # noqa: S104
        return f"http://{host}:{self.api_port}"

    @property
    def sandbox_endpoint(self) -> str:
        return f"127.0.0.1:{self.sandbox_http_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://{self.sandbox_endpoint}"

    @property
    def registry_url(self) -> str:
        return f"sqlite:///{self.registry_db}"

    def alibaba_connection(self) -> dict[str, object]:
        """The `alibaba_cloud_default` connection pointing at the sandbox (docs/conventions.md)."""
        return {
            "conn_type": "alibaba_cloud",
            "login": SANDBOX_ACCESS_KEY_ID,
            "password": SANDBOX_ACCESS_KEY_SECRET,
            "extra": {
                "region_id": SANDBOX_REGION,
                "endpoint": self.sandbox_endpoint,
                "protocol": "http",
                "connect_timeout_ms": 2000,
                "read_timeout_ms": 10000,
                "dns_domain": SANDBOX_DOMAIN,
                "kube_server_template": f"https://127.0.0.1:{self.sandbox_kube_port}/k8s/{{cluster}}",
                "kube_ca_file": str(self.sandbox_dir / "ca.crt"),
            },
        }

    def registry_connection(self) -> dict[str, object]:
        """The `yunfleet_db` connection: the registry/audit SQLite file in the home."""
        return {"conn_type": "generic", "extra": {"url": self.registry_url}}


def process_env(
    settings: DevSettings, *, base: Mapping[str, str] | None = None, inherit_airflow_env: bool = True
) -> dict[str, str]:
    """Environment for every process of the platform (sandbox, airflow, CLI calls against it).

    It carries every setting, so ``DevSettings.from_env(process_env(s)) == s``: a `yunfleet` or
    `airflow` command run with it finds this platform, whatever its ports.

    Proxy variables are removed and loopback is exempted: the Alibaba SDK sends even 127.0.0.1
    traffic through HTTP(S)_PROXY, which would take sandbox calls off the machine.
    With ``inherit_airflow_env=False`` (tests), AIRFLOW__* / AIRFLOW_CONN_* / AIRFLOW_VAR_* variables
    of the calling shell are dropped so that only the generated airflow.cfg applies.
    """
    env = dict(os.environ if base is None else base)
    for name in PROXY_VARIABLES:
        env.pop(name, None)
    if not inherit_airflow_env:
        for name in list(env):
            if name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) or name == "AIRFLOW_CONFIG":
                del env[name]
    no_proxy = [h for h in env.get("NO_PROXY", env.get("no_proxy", "")).split(",") if h]
    no_proxy += [h for h in LOOPBACK_HOSTS if h not in no_proxy]
    env["NO_PROXY"] = env["no_proxy"] = ",".join(no_proxy)
    env.update(
        {
            "AIRFLOW_HOME": str(settings.airflow_home),
            "YUNFLEET_HOME": str(settings.home),
            "YUNFLEET_API_HOST": settings.api_host,
            "YUNFLEET_API_PORT": str(settings.api_port),
            "YUNFLEET_WORKER_LOG_PORT": str(settings.worker_log_port),
            "YUNFLEET_TRIGGER_LOG_PORT": str(settings.trigger_log_port),
            "SANDBOX_STATE_DIR": str(settings.sandbox_dir),
            "SANDBOX_HTTP_PORT": str(settings.sandbox_http_port),
            "SANDBOX_KUBE_PORT": str(settings.sandbox_kube_port),
            "SANDBOX_DNS_PORT": str(settings.sandbox_dns_port),
            "PYTHONUNBUFFERED": "1",
            # airflow standalone starts its components as `airflow ...` from PATH: use this venv's.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]),
        }
    )
    env.pop("AIRFLOW_CONFIG", None)
    return env


def _existing_secret(parser: configparser.RawConfigParser, section: str, key: str) -> str | None:
    value = parser.get(section, key, fallback="").strip()
    return value or None


#: ``AIRFLOW_HOME/config/airflow_local_settings.py`` (Airflow puts ``config/`` on ``sys.path`` and
#: imports the module in every process): the scheduler, which forks the LocalExecutor's workers, the
#: triggerer, which forks its trigger runner, and Celery workers preload the task libraries before
#: their first fork (see ``flows.preload``).
LOCAL_SETTINGS = """\
# Generated by yunfleet.devenv on every start.
import sys

if sys.argv[1:2] == ["scheduler"] or sys.argv[1:3] == ["celery", "worker"]:
    from flows.preload import preload_before_first_fork

    preload_before_first_fork()
elif sys.argv[1:2] == ["triggerer"]:
    from flows.preload import TRIGGERER_MODULES, preload_before_first_fork

    preload_before_first_fork(TRIGGERER_MODULES)
"""


def write_local_settings(settings: DevSettings) -> Path:
    """Write ``AIRFLOW_HOME/config/airflow_local_settings.py`` (:data:`LOCAL_SETTINGS`); returns its path."""
    path = settings.airflow_home / "config" / "airflow_local_settings.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LOCAL_SETTINGS)
    return path


def write_airflow_cfg(settings: DevSettings) -> None:
    """Write AIRFLOW_HOME/airflow.cfg, keeping the fernet key and JWT secret of an earlier run.

    The file is regenerated on every start from these settings (override single options with
    AIRFLOW__SECTION__KEY variables); only the two secrets are carried over, so connection
    passwords stay decryptable and issued tokens stay valid across restarts.
    """
    old = configparser.RawConfigParser()
    if settings.airflow_cfg.exists():
        old.read(settings.airflow_cfg)
    from cryptography.fernet import Fernet  # here: the `yunfleet` command imports this module too

    fernet_key = _existing_secret(old, "core", "fernet_key") or Fernet.generate_key().decode()
    jwt_secret = _existing_secret(old, "api_auth", "jwt_secret") or secrets.token_urlsafe(48)

    home = settings.airflow_home
    cfg = configparser.RawConfigParser()
    cfg["core"] = {
        "dags_folder": str(settings.dags_folder),
        "plugins_folder": str(settings.plugins_folder),
        "load_examples": "False",
        "dags_are_paused_at_creation": "True",
        "executor": "LocalExecutor",
        "parallelism": "8",
        "fernet_key": fernet_key,
        "simple_auth_manager_users": f"{ADMIN_USER}:admin",
        "simple_auth_manager_passwords_file": str(settings.password_file),
        "execution_api_server_url": f"{settings.base_url}/execution/",
        "dagbag_import_timeout": "120",
        # the Test button of connections (Airflow keeps it off): the local target is the sandbox
        "test_connection": "Enabled",
    }
    cfg["database"] = {"sql_alchemy_conn": f"sqlite:///{home / 'airflow.db'}"}
    cfg["api"] = {
        "host": settings.api_host,
        "port": str(settings.api_port),
        "workers": "1",
    }
    cfg["api_auth"] = {"jwt_secret": jwt_secret}
    # Serializing provision_cluster validates every param schema once per task (Airflow's
    # ParamsDict.dump), 10-40 s on a busy 2-core machine: the parse timeout and the stale-DAG
    # threshold leave room for that (defaults 50 s), and unchanged files are re-parsed every 30 s.
    cfg["dag_processor"] = {
        "refresh_interval": str(settings.dag_refresh_interval),
        "min_file_process_interval": "30",
        "dag_file_processor_timeout": "180",
        "stale_dag_threshold": "300",
        "parsing_processes": "1",
        "print_stats_interval": "0",
    }
    cfg["logging"] = {
        "base_log_folder": str(home / "logs"),
        "worker_log_server_port": str(settings.worker_log_port),
        "trigger_log_server_port": str(settings.trigger_log_port),
    }
    cfg["scheduler"] = {"enable_health_check": "False"}

    home.mkdir(parents=True, exist_ok=True)
    tmp = settings.airflow_cfg.with_suffix(".cfg.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Generated by yunfleet.devenv on every start; override with AIRFLOW__* variables.\n")
        cfg.write(fh)
    os.replace(tmp, settings.airflow_cfg)


def ensure_callback_secret(settings: DevSettings) -> str:
    """The callback HMAC secret, generated once into :attr:`DevSettings.callback_secret_file` (mode 0600).

    A ticketing system verifies the ``X-Yunfleet-Signature`` of run callbacks with it
    (``include.provisioning.callback.verify``); the bootstrap stores it as the password of the
    ``yunfleet_callback`` connection, which the runs sign with.
    """
    path = settings.callback_secret_file
    secret = path.read_text().strip() if path.exists() else ""
    if not secret:
        secret = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret + "\n")
    return secret


def ensure_admin_password(settings: DevSettings) -> str:
    """The admin password, generated once into Airflow's own password file (JSON, mode 0600)."""
    path = settings.password_file
    passwords: dict[str, str] = {}
    if path.exists():
        text = path.read_text().strip()
        passwords = json.loads(text) if text else {}
    if not passwords.get(ADMIN_USER):
        passwords[ADMIN_USER] = secrets.token_urlsafe(12)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(passwords) + "\n")
    return passwords[ADMIN_USER]
