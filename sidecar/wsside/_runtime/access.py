"""The access log: one line when an upgrade request is answered, one when its connection closes.

    127.0.0.1:51234 - "WebSocket /api/ws/chat" 101
    127.0.0.1:51234 - "WebSocket /api/ws/chat" closed 1000 by the client after 12.3 s
    127.0.0.1:51238 - "WebSocket /api/ws/chat" closed 1000 "No pong received" by the server
        after 9.0 s
    127.0.0.1:51240 - "GET /api/ws/chat" 426          (a request without an upgrade)
    127.0.0.1:51236 - "WebSocket /api/ws/chat" closed 1001 "Going Away" by the server after 6.5 s
        (no answer to the close: cut)

(Each is one line; the long ones are wrapped here.) A close line says who started the close
(as `on_close`'s `initiated_by_client`: a client that went without a close frame, `1006`, is
the client) and its reason when it had one, quoted. Lines go to the `wsside.access` logger at
info, like uvicorn's access log, so a log level of warning (or a handler on that logger)
silences them. The path is shown without its query string, which often carries tokens.
"""

from __future__ import annotations

import logging
from typing import Any

from .events import printable

__all__ = ["NOT_READ", "NO_ANSWER", "access_log", "closed", "enabled", "peer", "upgraded"]

access_log = logging.getLogger("wsside.access")

# Why a connection was cut (dropped without finishing the closing handshake, at the close
# timeout or at the end of a shutdown's budget), after its `closed` line: our close frame got
# no close frame back, or the client read nothing more (not our close frame, not what was
# queued before it).
NO_ANSWER = "no answer to the close: cut"
NOT_READ = "the client read no more: cut"

# A close reason is at most 123 bytes on the wire (a client's is its own text); the line keeps
# this many characters of it, written out (`_quoted`), so that it stays one short line.
REASON_SHOWN = 80


def enabled() -> bool:
    """Whether access lines are written (checked once per connection, not per line)."""
    return access_log.isEnabledFor(logging.INFO)


def peer(transport: Any) -> str:
    """`host:port` of the client on `transport`, or "-" where there is none (a Unix socket)."""
    name = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(name, (tuple, list)) and len(name) >= 2:
        host = str(name[0])
        return f"[{host}]:{name[1]}" if ":" in host else f"{host}:{name[1]}"
    return "-"


def upgraded(client: str, path: str, status: int, method: str = "WebSocket") -> None:
    """An upgrade request to `path` was answered with `status` (101, or a refusal); a
    request that asked for no upgrade is shown with its own method (`"GET /api/x" 426`)."""
    access_log.info('%s - "%s %s" %d', client, method, path, status)


def closed(
    client: str,
    path: str,
    code: int,
    seconds: float,
    cut: str | None = None,
    reason: str = "",
    by_client: bool = True,
    reason_sent: bool = True,
) -> None:
    """The connection to `path` closed with `code` (and `reason`, if any) after `seconds`
    open, the close started by the client (`by_client`) or by the server; `cut`: why its
    closing handshake did not finish (`NO_ANSWER`, `NOT_READ`), when it was cut. A reason
    that the close frame did not carry (`reason_sent` false: a protocol error's, which is
    wsside's own wording) comes last, unquoted, and says so."""
    why = f"{_quoted(reason)} " if reason and reason_sent else ""
    who = "the client" if by_client else "the server"
    kept = f": {reason} (the client got the code only)" if reason and not reason_sent else ""
    access_log.info(
        '%s - "WebSocket %s" closed %d %sby %s after %.1f s%s%s',
        client,
        path,
        code,
        why,
        who,
        seconds,
        "" if cut is None else f" ({cut})",
        kept,
    )


def _quoted(reason: str) -> str:
    """`reason` in double quotes, as one line that acts on no terminal: a client's reason is
    its own text. Backslash, quote, newline and tab are escaped as in Python, other control
    characters written out (`\\x1b`, `printable`); past `REASON_SHOWN` characters it is cut
    (`…` after the quote)."""
    shown, more = reason[:REASON_SHOWN], len(reason) > REASON_SHOWN
    shown = (
        shown.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{printable(shown)}"' + ("…" if more else "")
