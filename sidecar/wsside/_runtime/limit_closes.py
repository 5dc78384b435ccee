"""The warning line of a connection that wsside itself closed at one of its limits:
`1013 "Client too slow"` (more than `SEND_BUFFER_LIMIT` waited to be sent to the client,
besides the one message whose write paused the transport) and `1009` (the client sent a
message over `max_message_size`).

Without it such a close shows nowhere under Vite (its terminal has no access lines), and the
browser client reconnects into the same close. A reconnect loop, or a thousand slow clients,
make one line per path, then counts (`Repeats`: one line per window while they come).
Called on the close path only (`Session.too_slow`, `Session.on_error`), never per message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._io.asgi import HIGH_WATER
from .._io.writer import SEND_BUFFER_LIMIT
from ..closecodes import CloseReason
from ..handler import DEFAULT_MAX_MESSAGE_SIZE
from .events import logger, printable, shown
from .repeats import REPEAT_WINDOW, Repeats

if TYPE_CHECKING:
    from ..handler import Handler

__all__ = ["message_too_big", "too_slow"]

# `await conn.send(...)` waits while more than this is queued: the high-water mark of the
# queue under ASGI, and asyncio's own default, which the transports keep (`_io/transport.py`).
_PACED_ABOVE = HIGH_WATER
# How the reason of a message in too many fragments starts ("Message has more than").
_FRAGMENTS = CloseReason.too_many_fragments(0).removesuffix(" 0 fragments")


def _size(count: int) -> str:
    """`16 MiB`, `64 KiB`, or `1,500 bytes`."""
    for unit, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if count >= unit and count % unit == 0:
            return f"{count // unit} {name}"
    return f"{count:,} bytes"


def _write(line: str) -> None:
    logger.warning("wsside: %s", line)


def _connections(count: int) -> str:
    return "1 more connection" if count == 1 else f"{count} more connections"


def _more_slow(count: int, last: str) -> str:
    return (
        f'closed {_connections(count)} 1013 "{CloseReason.TOO_SLOW}" in the last '
        f"{REPEAT_WINDOW:g} s (the last: {last})"
    )


def _more_big(count: int, last: str) -> str:
    return f"closed {_connections(count)} 1009 in the last {REPEAT_WINDOW:g} s (the last: {last})"


# Each kind of close its own lines: the first few distinct ones (one per path) at once, the
# rest counted.
_slow = Repeats(_write, _more_slow, named=5)
_big = Repeats(_write, _more_big, named=5)


def _place(handler: Handler) -> str:
    return f"({shown(handler.file)}:{handler.line})"


def too_slow(path: str, handler: Handler, client: str = "-") -> None:
    """wsside closed a connection to `path` (of `handler`) 1013: more than the send buffer's
    limit waited to be sent to it; `client`: its `host:port` as its access line writes it
    ("-" where there is none: a Unix socket)."""
    # The path as the client sent it (percent-encoded); `printable` all the same.
    path = printable(path)
    head = (
        f'closed {path} 1013 "{CloseReason.TOO_SLOW}" {_place(handler)}: more than '
        f"{_size(SEND_BUFFER_LIMIT)} waited to be sent to the client"
    )
    tail = (
        ", which cuts off a client that stops reading and also one sent a burst in one go: "
        "await conn.send(...) for each part paces it (it waits while more than "
        f"{_size(_PACED_ABOVE)} are queued); broadcast() never waits, so a burst of "
        "broadcasts is not paced"
    )
    # Told apart without the address: a reconnect loop, or a thousand slow clients, stay one
    # line and a count. The address is the socket's, or under ASGI the server's scope's (maybe
    # from a proxy's header).
    said = None if client == "-" else f"{head} {printable(client)}{tail}"
    _slow.add(head + tail, path, said)


def message_too_big(path: str, handler: Handler, reason: str) -> None:
    """wsside closed a connection to `path` (of `handler`) 1009: the client sent a message
    over `max_message_size` (`reason`: the close's, as `on_close` gets it)."""
    limit = f"max_message_size ({_size(handler.max_message_size)})"
    if reason.startswith(_FRAGMENTS):
        what = f"a message in more fragments than {limit} allows ({reason})"
    elif reason == CloseReason.INFLATES_TOO_BIG:
        what = f"a compressed message that inflates past {limit}"
    else:
        what = f"a message over {limit}"
    path = printable(path)
    # Where the limit comes from: the handler's own, the config file's [defaults] (not set
    # here, and not the default: only [defaults] sets it then), or nowhere yet.
    from_defaults = (
        "max_message_size" not in handler._given_options()
        and handler.max_message_size != DEFAULT_MAX_MESSAGE_SIZE
    )
    where = "Handler(..., max_message_size=...)" + (
        " or the config file's [defaults]" if from_defaults else ""
    )
    _big.add(
        f"closed {path} 1009 {_place(handler)}: the client sent {what}: raise it in "
        f"{where} if such messages are meant",
        f"{path}: {reason}",
    )
