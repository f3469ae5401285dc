"""Loopback ports for the local platform and the test fixtures: free ones, busy ones."""

from __future__ import annotations

import socket


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_tcp_udp_port(attempts: int = 50) -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (the sandbox DNS server listens on both).

    Raises ``RuntimeError`` when ``attempts`` free TCP ports were all taken for UDP.
    """
    for _ in range(attempts):
        port = free_tcp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free for both TCP and UDP on 127.0.0.1")


def port_in_use(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port`` (0.5 s connect timeout)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
