"""Whether an `ASGIApp` without a backplane runs in one of several worker processes of one ASGI
server (`uvicorn --workers N`, `hypercorn --workers N`, gunicorn's `-w N`): then a broadcast
reaches the connections of its own process only, which works in development (one process) and
splits every room in production, without an error anywhere.

Workers of one server are told by what they share: the listening socket. The parent's other
children that listen on an address this process listens on are its fellow workers. A test
runner's workers (pytest-xdist) listen on nothing, or on ports of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from .._runtime.events import logger

if TYPE_CHECKING:
    import psutil

__all__ = ["warn_workers_apart"]

# Each check once per process (a run starts again with each test client or loop), and none
# after the warning: at the run's start, which hypercorn's and gunicorn's workers pass with
# the listening socket shared and listening; and at the first connection, for uvicorn's,
# whose socket listens only once a worker has started (a socket bound and not listening is
# no one's to see).
_checked: set[str] = set()


def warn_workers_apart(when: Literal["start", "connection"]) -> None:
    """One warning when this process is one of several workers."""
    if when in _checked:
        return
    _checked.add(when)
    found = fellow_workers()
    if found is None:
        return
    _checked.update(("start", "connection"))
    count, address = found
    logger.warning(
        "wsside: this process is one of %d that serve %s (the ASGI server's workers), and "
        "ASGIApp has no backplane: a broadcast reaches the connections of this process only, "
        "so a room's members on the other workers never get it; pass ASGIApp(..., "
        'backplane="redis://HOST:6379/0") (docs/asgi.md), or run one worker',
        count,
        address,
    )


def fellow_workers() -> tuple[int, str] | None:
    """How many processes, this one included, listen on an address this one listens on (its
    parent's children), and that address; None when it is the only one or it cannot be told."""
    import psutil  # here: only a run without a backplane pays for the import

    try:
        me = psutil.Process()
        parent = me.parent()
        others = [p for p in parent.children() if p.pid != me.pid] if parent else []
        if not others:
            return None
        mine = _listening(me)
        if not mine:
            return None
        count = 1 + sum(1 for other in others if _listening(other) & mine)
    except (psutil.Error, OSError):
        return None
    return (count, min(mine)) if count > 1 else None


def _listening(process: psutil.Process) -> set[str]:
    """The addresses `process` listens on: `127.0.0.1:8000`, `[::1]:8000`, or a Unix socket's
    path. A process that cannot be read listens on nothing here."""
    import psutil

    found: set[str] = set()
    try:
        connections = process.net_connections(kind="all")
    except (psutil.Error, OSError):
        return found
    for conn in connections:
        # The stubs give every socket an (ip, port) pair; a Unix socket has a path (a str),
        # and a socket with no peer an empty value.
        laddr, raddr = cast(object, conn.laddr), cast(object, conn.raddr)
        if raddr:
            continue  # a connection, not a listening socket
        if isinstance(laddr, str):
            if laddr:
                found.add(laddr)
        elif conn.status == psutil.CONN_LISTEN and len(conn.laddr) == 2:
            ip, port = conn.laddr
            if port:
                found.add(f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")
    return found
