"""Process handling of the local platform: failures carry the log tail, groups are stopped."""

from __future__ import annotations

import os
import sys

import pytest

import yunfleet.devenv.platform as devenv
from yunfleet.devenv.config import REPO_ROOT, DevSettings
from yunfleet.devenv.procs import StartupError, start, wait_until


def test_a_process_that_dies_during_startup_reports_its_log(tmp_path):
    proc = start(
        "probe",
        [sys.executable, "-c", "print('port 1 is taken'); raise SystemExit(3)"],
        env={"PATH": "/usr/bin"},
        log_path=tmp_path / "probe.log",
        cwd=REPO_ROOT,
    )
    with pytest.raises(StartupError, match=r"(?s)probe exited with code 3 before ready.*port 1 is taken"):
        wait_until(proc, lambda: False, timeout=30, what="ready", interval=0.05)


def test_waiting_is_bounded_and_stop_ends_the_group(tmp_path):
    code = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    )
    proc = start(
        "sleeper",
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin"},
        log_path=tmp_path / "sleeper.log",
        cwd=REPO_ROOT,
    )
    try:
        with pytest.raises(StartupError, match="did not reach 'ready' within 1 s"):
            wait_until(proc, lambda: False, timeout=1, what="ready", interval=0.05)
    finally:
        proc.stop(timeout=10)
    assert not proc.running()
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # neither the process nor its child is left in the group


def test_missing_sandbox_is_reported_not_fatal(tmp_path, monkeypatch):
    monkeypatch.setattr(devenv, "sandbox_available", lambda: False)
    monkeypatch.delenv("YUNFLEET_SANDBOX_COMMAND", raising=False)
    said: list[str] = []
    platform = devenv.LocalPlatform(DevSettings.isolated(tmp_path), echo=said.append)
    assert platform.start_sandbox() is None
    assert platform.sandbox is None
    assert "not available yet" in said[0]
