"""`wsside serve`'s port on several addresses (`--host` given more than once), and with
`--workers N`: whether this system can share one port between processes, and the check that
it is free on every address before the workers start (`workers.py`)."""

from __future__ import annotations

import contextlib
import errno
import socket
import sys
from collections.abc import Sequence

__all__ = ["CannotBind", "check_port", "workers_supported"]

# With port 0 (the system chooses), how many ports are tried for one free on every address.
_TRIES = 20


class CannotBind(Exception):
    """`host` cannot listen on `port`: `error` says why."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        super().__init__(f"{host}:{port}: {error}")
        self.host, self.port, self.error = host, port, error


def workers_supported() -> str | None:
    """Why this system cannot run several workers on one port (a sentence), or None."""
    if sys.platform != "linux" or not hasattr(socket, "SO_REUSEPORT"):
        return (
            "--workers above 1 needs Linux (SO_REUSEPORT spreads connections over the "
            "workers); elsewhere run one process per port behind a load balancer"
        )
    return None


def check_port(hosts: Sequence[str], port: int) -> int:
    """Bind `port` on each address of `hosts` at once, without SO_REUSEPORT, and release them:
    fails (`CannotBind`) when the port is taken on one of them, even by another group of
    workers, or a host does not resolve. Returns the port: with `port` 0, one the
    system chose for the first address that is free on every other one too, so that every
    address (and every worker) listens on the same one."""
    for attempt in range(_TRIES if port == 0 else 1):
        try:
            return _bind_all(hosts, port)
        except CannotBind as exc:
            if port != 0 or exc.error.errno != errno.EADDRINUSE or attempt == _TRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _bind_all(hosts: Sequence[str], port: int) -> int:
    with contextlib.ExitStack() as held:
        for host in hosts:
            try:
                infos = socket.getaddrinfo(
                    host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
                )
            except OSError as exc:
                raise CannotBind(host, port, exc) from None
            for family, kind, proto, _, address in infos:
                probe = held.enter_context(socket.socket(family, kind, proto))
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    # As asyncio's listeners: `::` is IPv6 only, beside `0.0.0.0` on one port.
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    probe.bind((address[0], port, *address[2:]))
                except OSError as exc:
                    raise CannotBind(host, port, exc) from None
                if port == 0:
                    port = probe.getsockname()[1]
    return port
