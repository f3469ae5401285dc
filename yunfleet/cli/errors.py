"""Exit codes of the ``yunfleet`` command and the one error its subcommands raise."""

from __future__ import annotations

EXIT_OK = 0  # done
EXIT_FAILED = 1  # the run failed, or the cluster is unknown
EXIT_USAGE = 2  # bad input: nothing was sent
EXIT_ENV = 3  # the platform cannot be reached or is misconfigured
EXIT_TIMEOUT = 4  # gave up following a run that is still going


class CommandError(Exception):
    """A one-line reason for the user and the exit code it maps to (one of the ``EXIT_*`` above)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
