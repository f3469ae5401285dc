"""How the read commands reach the Fleet API: address, login, and API errors as exit codes.

The address is ``--api-url``, else ``YUNFLEET_API_URL``, else the local platform's; the user
``--user``, else ``YUNFLEET_API_USER``, else ``admin``; the password ``YUNFLEET_API_PASSWORD``, else
the local platform's generated password file (:func:`yunfleet.cli.config.api_password`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from yunfleet.cli.config import DEFAULT_API_USER, api_password, default_api_url
from yunfleet.cli.errors import EXIT_ENV, EXIT_FAILED, EXIT_USAGE, CommandError
from yunfleet.fleet_api import FleetApi, FleetApiError

T = TypeVar("T")


def fleet_api(args: argparse.Namespace) -> FleetApi:
    """The Fleet API client for the command's options (the caller closes it)."""
    user = getattr(args, "user", None) or DEFAULT_API_USER
    url = getattr(args, "api_url", None) or default_api_url(args.settings)
    return FleetApi(url, user, api_password(args.settings, user))


def fleet_call(call: Callable[[], T]) -> T:
    """``call()``, its :class:`FleetApiError` mapped to an exit code: 400 -> 2 (bad input), 403/404/409 -> 1
    (not allowed, not found, not ready), anything else (unreachable, login refused, 5xx) -> 3."""
    try:
        return call()
    except FleetApiError as exc:
        if exc.status_code == 400:
            raise CommandError(EXIT_USAGE, str(exc)) from exc
        if exc.status_code in (403, 404, 409):
            raise CommandError(EXIT_FAILED, str(exc)) from exc
        raise CommandError(EXIT_ENV, str(exc)) from exc
