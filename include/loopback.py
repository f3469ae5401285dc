"""Loopback traffic and proxy variables: the one list of both.

Calls to a local emulator, a local Airflow or a local Kubernetes API must stay on the machine, but
some clients send even 127.0.0.1 traffic through ``HTTP(S)_PROXY`` (the Alibaba Cloud SDK does; so
does any client that honours ``ALL_PROXY`` without a matching ``NO_PROXY``). Code that talks to a
loopback address removes these variables, or exempts the hosts below, before it connects.

Plain data only, importable from every layer (no Airflow, no SDK).
"""

from __future__ import annotations

# Both spellings: libraries read either the upper- or the lower-case form (curl and urllib prefer
# lower case, some SDKs only read upper case).
PROXY_VARIABLES: tuple[str, ...] = (
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)

# Host names that mean "this machine", as they appear in URLs and in NO_PROXY lists.
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
