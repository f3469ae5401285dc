"""Background processes of the local platform: start in their own process group, wait, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StartupError(RuntimeError):
    """A platform process failed to start or become ready; the message carries its log tail."""


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """One started process (and its process group), logging to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def failure(self, what: str) -> StartupError:
        return StartupError(f"{self.name} {what}; last lines of {self.log_path}:\n{tail(self.log_path)}")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the whole process group, then SIGKILL what is left after ``timeout`` seconds."""
        pgid = self.popen.pid  # start_new_session=True: the group id is the leader's pid
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.popen.poll()
            if not _group_alive(pgid):
                break
            time.sleep(0.2)
        else:
            _signal_group(pgid, signal.SIGKILL)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(
    name: str, argv: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path
) -> ManagedProcess:
    """Start ``argv`` in a new session (so Ctrl-C reaches it only through us), output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(argv)}\n".encode())
        log.flush()
        popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ManagedProcess(name=name, popen=popen, log_path=log_path)


def wait_until(
    proc: ManagedProcess, ready: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.5
) -> float:
    """Poll ``ready()`` until true; fail fast if the process exits. Returns the seconds waited."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if not proc.running():
            raise proc.failure(f"exited with code {proc.popen.returncode} before {what}")
        try:
            if ready():
                return time.monotonic() - started
        except Exception:  # noqa: S110 - not ready yet (connection refused, partial start)
            pass
        if time.monotonic() > deadline:
            raise proc.failure(f"did not reach '{what}' within {timeout:.0f} s")
        time.sleep(interval)


def run_checked(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path, timeout: float, what: str
) -> str:
    """Run a setup command to completion, appending its output to ``log_path``; raise with its tail."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise StartupError(f"{what} did not finish within {timeout:.0f} s") from exc
    with open(log_path, "a") as log:
        log.write(f"\n===== {' '.join(argv)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise StartupError(f"{what} failed with exit code {result.returncode}:\n{output}")
    return result.stdout
