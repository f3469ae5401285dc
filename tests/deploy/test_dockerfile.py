"""The Dockerfile, checked without building it: the lock is what it installs, the project is what it
copies, and the commands docker-compose.yaml gives the image exist in it.

The image itself cannot be built where the tests run (no Docker engine); what its build does with
the lock (export, hash-checked install, wheel of the project) is repeated outside Docker in
docs/deploy.md ("What was tested").
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import COMPOSE_FILE
from yunfleet.devenv.config import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
ENTRYPOINT = REPO_ROOT / "scripts" / "entrypoint.sh"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
LOCK = tomllib.loads((REPO_ROOT / "uv.lock").read_text())


def _instructions() -> list[tuple[int, str, str]]:
    """``(stage, INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined."""
    out: list[tuple[int, str, str]] = []
    stage = -1
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        word, _, args = text.partition(" ")
        word = word.upper()
        if word == "FROM":
            stage += 1
        out.append((stage, word, args.strip()))
    return out


def _args() -> dict[str, str]:
    return dict(a.split("=", 1) for _s, w, a in _instructions() if w == "ARG" and "=" in a)


def _expand(text: str) -> str:
    args = _args()
    return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), text)


def _runs(stage: int | None = None) -> list[str]:
    return [_expand(a) for s, w, a in _instructions() if w == "RUN" and (stage is None or s == stage)]


def _copies() -> list[tuple[int, list[str], str]]:
    """``(stage, sources, destination)`` of each COPY from the build context."""
    out = []
    for stage, word, args in _instructions():
        if word == "COPY" and not args.startswith("--from"):
            *sources, destination = shlex.split(args)
            out.append((stage, sources, destination))
    return out


def _locked_version(name: str) -> str:
    return next(p["version"] for p in LOCK["package"] if p["name"] == name)


def _wheel_packages() -> list[str]:
    return list(PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])


def test_base_image_matches_the_locked_python_and_airflow():
    bases = [_expand(a).split(" AS ")[0] for _s, w, a in _instructions() if w == "FROM"]
    assert len(bases) == 2, bases
    assert len(set(bases)) == 1, "the venv is copied between stages: both must be the same Python"
    image = bases[0]
    official = re.fullmatch(r"apache/airflow:(\d+\.\d+\.\d+)-python(3\.\d+)", image)
    slim = re.fullmatch(r"python:(3\.\d+)(\.\d+)?-slim(-\w+)?", image)
    assert official or slim, f"base image {image} is neither apache/airflow:X-pythonY nor python:3.x-slim"
    if official:
        assert official.group(1) == _locked_version("apache-airflow")
    python = (official or slim).group(2 if official else 1)  # type: ignore[union-attr]
    assert python == "3.11", f"the lock and CI are on Python 3.11, the image on {python}"


def test_requirements_are_exported_from_the_lock_and_installed_hash_checked():
    runs = " && ".join(_runs(0))
    export = re.search(r"uv export ([^&]*)", runs)
    assert export, "the build must export the lock with uv export"
    flags = export.group(1).split()
    assert {"--frozen", "--no-dev", "--no-emit-project"} <= set(flags)
    output = flags[flags.index("--output-file") + 1]
    install = re.search(rf"pip install ([^&]*-r {re.escape(output)})", runs)
    assert install, f"the exported {output} must be installed with pip install -r"
    assert {"--no-deps", "--require-hashes"} <= set(install.group(1).split())
    # The lock and the project metadata are in the image's build context before the export.
    copied_first = _copies()[0]
    assert {"pyproject.toml", "uv.lock"} <= set(copied_first[1])


def test_no_package_comes_from_outside_the_lock():
    """Every pip install is the exported lock, the project's own wheel, or the pinned uv."""
    uv_pin = next(d for d in PYPROJECT["dependency-groups"]["dev"] if d.startswith("uv=="))
    makefile_uv = re.search(r"^UV_VERSION := (\S+)", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert makefile_uv and uv_pin == f"uv=={makefile_uv.group(1)}" == f"uv=={_args()['UV_VERSION']}"
    for command in " && ".join(_runs()).split("&&"):
        if "pip install" not in command:
            continue
        what = [w for w in shlex.split(command.split("pip install", 1)[1]) if not w.startswith("-")]
        allowed = (
            what == [f"uv=={_args()['UV_VERSION']}"]
            or what == ["/tmp/requirements.txt"]
            or (len(what) == 1 and re.fullmatch(r"/tmp/dist/yunfleet-\*\.whl", what[0]))
        )
        assert allowed, f"pip installs something the lock does not pin: {command.strip()}"
        assert " -e " not in f" {command} ", "the project is installed as a wheel, not editable"


def test_the_project_wheel_holds_every_package_the_dags_and_plugins_import():
    packages = _wheel_packages()
    first_party = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").is_file()} - {"tests", "bench"}
    imported: dict[str, set[str]] = {}
    for folder in ("dags", "plugins", *packages):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top in first_party:
                        imported.setdefault(top, set()).add(str(path.relative_to(REPO_ROOT)))
    missing = {top: sorted(where)[:3] for top, where in imported.items() if top not in packages}
    assert not missing, (
        f"imported but not in the wheel ([tool.hatch.build.targets.wheel] packages): {missing}"
    )


def test_the_build_copies_every_wheel_package_and_the_dag_folders():
    copied = {(stage, src): dest for stage, sources, dest in _copies() for src in sources}
    for package in _wheel_packages():
        assert (0, package) in copied, f"{package}/ is not copied into the build stage"
    assert copied[(1, "dags")] == "/opt/airflow/dags"
    assert copied[(1, "plugins")] == "/opt/airflow/plugins"
    env = " ".join(a for _s, w, a in _instructions() if w == "ENV")
    assert "AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags" in env
    assert "AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins" in env
    assert "AIRFLOW_HOME=/opt/airflow" in env
    build = " && ".join(_runs(0))
    assert build.index("uv build --wheel") < build.index("pip install --no-deps /tmp/dist/yunfleet-")
    assert "pip check" in build


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        if (
            fnmatch.fnmatch(path, pat)
            or fnmatch.fnmatch(path, pat.removeprefix("**/"))
            or (path.startswith(pat + "/"))
        ):
            ignored = not negate
    return ignored


def test_copied_sources_exist_and_are_in_the_build_context():
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for _stage, sources, _dest in _copies():
        for source in sources:
            assert (REPO_ROOT / source).exists(), f"COPY {source}: no such path"
            assert not _ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
    for secret in (".env", ".venv", ".yunfleet", ".git"):
        assert _ignored(secret, patterns), f"{secret} must stay out of the build context"


# -- the entry point ---------------------------------------------------------------------------------


def _entrypoint_words() -> list[str]:
    (args,) = [a for _s, w, a in _instructions() if w == "ENTRYPOINT"]
    words = json.loads(args)
    assert isinstance(words, list)
    return words


def test_entrypoint_is_the_script_behind_an_init_process():
    words = _entrypoint_words()
    assert words == ["/usr/bin/dumb-init", "--", "/entrypoint"]
    assert any("dumb-init" in run for run in _runs(1)), "dumb-init is installed in the final stage"
    assert [s for _st, s, d in _copies() if d == "/entrypoint"] == [["scripts/entrypoint.sh"]]
    assert os.access(ENTRYPOINT, os.X_OK)


@pytest.fixture(scope="module")
def stub_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH whose airflow, python, celery and bash print the argv they got."""
    folder = tmp_path_factory.mktemp("bin")
    for name in ("airflow", "python", "celery", "bash", "yunfleet"):
        stub = folder / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*"\n')
        stub.chmod(0o755)
    return f"{folder}:/usr/bin:/bin"


@pytest.mark.parametrize(
    ("argv", "runs"),
    [
        ([], "airflow version"),
        (["scheduler"], "airflow scheduler"),
        (["api-server"], "airflow api-server"),
        (["celery", "worker"], "airflow celery worker"),
        (["celery", "--app", "x.app", "inspect", "ping"], "celery --app x.app inspect ping"),
        (["bash", "-c", "exec airflow scheduler"], "bash -c exec airflow scheduler"),
        (["python", "-m", "sandbox"], "python -m sandbox"),
        (["db", "migrate"], "airflow db migrate"),
        (["yunfleet", "clusters"], "yunfleet clusters"),
    ],
)
def test_entrypoint_passes_commands_through_or_to_airflow(stub_path, argv, runs):
    done = subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *argv],
        env={"PATH": stub_path},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == runs


# -- what docker-compose.yaml runs exists in the image ------------------------------------------------


def _compose_commands() -> dict[str, list[str]]:
    import yaml

    services: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    commands = {}
    for name, service in services.items():
        command = service.get("command")
        if command is None or "image" not in service or "yunfleet" not in str(service["image"]):
            continue
        commands[name] = shlex.split(command) if isinstance(command, str) else list(command)
    return commands


CHECK_COMMANDS = r"""
import importlib, importlib.util, json, sys
from airflow.cli.cli_parser import get_parser
parser = get_parser()
out = {}
for argv in json.loads(sys.argv[1]):
    try:
        parser.parse_args(argv)
        out[" ".join(argv)] = "ok"
    except SystemExit as exc:
        out[" ".join(argv)] = f"exit {exc.code}"
module, _, attr = sys.argv[2].partition(":")
out["celery app"] = type(getattr(importlib.import_module(module), attr)).__name__
print(json.dumps(out))
"""


def test_every_command_compose_gives_the_image_exists(tmp_path):
    """Airflow subcommands parse, python -m modules are in the wheel, health-check tools exist."""
    airflow_argvs: list[list[str]] = []
    for name, argv in _compose_commands().items():
        if argv[:2] == ["bash", "-c"]:
            for part in argv[2].split("&&"):
                words = shlex.split(part.replace("exec ", ""))
                if words[0] == "airflow":
                    airflow_argvs.append(words[1:])
                else:
                    assert words[:2] == ["python", "-m"], (name, words)
                    module = words[2]
                    assert module.split(".")[0] in _wheel_packages(), (name, module)
                    assert (REPO_ROOT / (module.replace(".", "/") + ".py")).is_file(), (name, module)
        elif argv[:2] == ["python", "-m"]:
            assert argv[2].split(".")[0] in _wheel_packages(), name
            assert (REPO_ROOT / argv[2] / "__main__.py").is_file(), name
        else:
            airflow_argvs.append(argv)  # the entry point runs it as `airflow <argv>`
    airflow_argvs.append(["jobs", "check", "--job-type", "TriggererJob", "--hostname", "h"])
    airflow_argvs.append(["jobs", "check", "--job-type", "DagProcessorJob", "--hostname", "h"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_HOME": str(tmp_path),
        }
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHECK_COMMANDS,
            json.dumps(airflow_argvs),
            "airflow.providers.celery.executors.celery_executor:app",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results.pop("celery app") == "Celery"
    assert results == {" ".join(a): "ok" for a in airflow_argvs}
    # The tools the health checks call are console scripts of locked packages, on the image's PATH.
    for tool, package in (("celery", "celery"), ("airflow", "apache-airflow-core")):
        assert (Path(sys.executable).parent / tool).exists(), tool
        _locked_version(package)
