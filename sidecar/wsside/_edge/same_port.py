"""`wsside serve --workers N`'s port: whether this system can share one between processes,
and the check that it is free before the workers start (`workers.py`)."""

from __future__ import annotations

import socket
import sys

__all__ = ["check_port", "workers_supported"]


def workers_supported() -> str | None:
    """Why this system cannot run several workers on one port (a sentence), or None."""
    if sys.platform != "linux" or not hasattr(socket, "SO_REUSEPORT"):
        return (
            "--workers above 1 needs Linux (SO_REUSEPORT spreads connections over the "
            "workers); elsewhere run one process per port behind a load balancer"
        )
    return None


def check_port(host: str, port: int) -> int:
    """Bind `host:port` once, without SO_REUSEPORT, and release it: fails (OSError) when the
    port is taken, even by another group of workers. Returns the port (the one the system
    chose when `port` is 0), so that every worker listens on the same one."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if port == 0:
                probe.bind(address)
                port = probe.getsockname()[1]
            else:
                probe.bind((address[0], port, *address[2:]))
    return port
