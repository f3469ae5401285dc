"""The executor's parent imports the task libraries before it forks, through the generated local settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flows import preload
from yunfleet.devenv.config import DevSettings, write_local_settings

REPO = Path(__file__).resolve().parents[2]

# Runs the generated airflow_local_settings as Airflow would (config/ on sys.path) under a given argv,
# with a small module list, then forks: prints whether the module was there before and after the fork.
PROBE = """
import os, sys
sys.path.insert(0, {config!r})
sys.argv = {argv!r}
import flows.preload as p
p.TASK_MODULES = p.TRIGGERER_MODULES = ("xml.dom.minidom", "no_such_module_here")
import airflow_local_settings
before = "xml.dom.minidom" in sys.modules
pid = os.fork()
if pid == 0:
    os._exit(0 if "xml.dom.minidom" in sys.modules else 3)
_, status = os.waitpid(pid, 0)
print(before, "xml.dom.minidom" in sys.modules, os.waitstatus_to_exitcode(status))
"""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["airflow", "scheduler"], "False True 0"),
        (["airflow", "celery", "worker"], "False True 0"),
        (["airflow", "triggerer"], "False True 0"),
        (["airflow", "api-server"], "False False 3"),
        (["airflow", "dag-processor"], "False False 3"),
    ],
)
def test_local_settings_preload_in_the_forking_parent_only(
    tmp_path: Path, argv: list[str], expected: str
) -> None:
    path = write_local_settings(DevSettings.isolated(tmp_path))
    assert (path.parent.name, path.name) == ("config", "airflow_local_settings.py")
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(config=str(path.parent), argv=argv)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split("\n")[-2] == expected, out.stderr


def test_preload_imports_once_and_reports_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preload, "_done", False)
    outcome = preload.preload(("json", "no_such_module_here"))
    assert outcome["json"] == "ok"
    assert outcome["no_such_module_here"].startswith("ModuleNotFoundError")
    assert preload.preload(("json",)) == {}  # once per process


def test_every_task_module_is_importable() -> None:
    """A renamed hook must not silently drop out of the preload."""
    import importlib.util

    missing = [m for m in preload.TRIGGERER_MODULES if importlib.util.find_spec(m) is None]
    assert missing == []
