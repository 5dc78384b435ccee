"""A socket the shim handed over: its upgrade request answered straight on the socket.

Node's HTTP parser already checked the syntax and routed the request here, so there is no HTTP
server in between: `take_over` reads the head the shim sent, routes it (`Intake.route`, as for
aiohttp's upgrades), runs `authenticate`, writes the 101 or the refusal itself, and hands the
connection to `Intake.serve`. With a plain `authenticate` the whole handshake runs in one
call, without a task.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from yarl import URL

from .._io.transport import SocketTransport
from .._io.upgrade import open_stream
from .._protocol.handshake import HandshakeError, accept_headers, refusal, switching_protocols
from .._protocol.http_head import parse_head, read_headers
from .._runtime import access
from .admission import Refusal, Verdict, authenticate, decide
from .intake import FORWARDING_HEADER
from .loop import loop_name
from .unauthorized import note_unauthorized

if TYPE_CHECKING:
    from .intake import Intake, Route

__all__ = ["take_over"]


def take_over(
    intake: Intake,
    sock: socket.socket,
    head: bytes,
    *,
    nodelay: bool = False,
) -> SocketTransport:
    """Serve `sock`, a client socket the shim accepted, through `intake`, from `head`: the
    request Node parsed (re-serialised by the shim, see PROTOCOL.md) and any bytes that
    followed it. `nodelay`: the shim already set TCP_NODELAY. The shim has the socket's
    acknowledgement by then (node_ipc.py): what is written here is never answered again by
    another sidecar. Returns the connection's transport.
    """
    sock.setblocking(False)
    if not nodelay:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not TCP (a server listening on a Unix socket)
            pass
    loop = asyncio.get_running_loop()
    # Not reading yet. On uvloop a connection that keeps talking moves to uvloop's own
    # transport (see SocketTransport).
    transport = SocketTransport(loop, sock, _STARTING, movable=loop_name(loop) == "uvloop")
    try:
        _take_over(intake, transport, head)
    except BaseException:
        transport.abort()
        raise
    return transport


def _take_over(intake: Intake, transport: SocketTransport, head: bytes) -> None:
    try:
        method, target, block, early = parse_head(head)
        headers = read_headers(block)
    except ValueError:  # not from the shim: nothing sensible to answer
        transport.abort()
        return
    peer = transport.get_extra_info("peername")
    remote = str(peer[0]) if isinstance(peer, (list, tuple)) else None
    url = URL(target, encoded=True)
    route = intake.route(method, url, headers, remote, block)
    if isinstance(route, Refusal):
        _end(transport, url.raw_path, route)
        return
    verdict = authenticate(route.hub.handler, route.request)
    if inspect.isawaitable(verdict):
        # Kept until done: the loop holds tasks only weakly.
        task = asyncio.ensure_future(_accept_later(intake, transport, route, verdict, early))
        intake.pending.add(task)
        task.add_done_callback(intake.pending.discard)
    else:
        _accept(intake, transport, route, verdict, early)


async def _accept_later(
    intake: Intake,
    transport: SocketTransport,
    route: Route,
    pending: Awaitable[Verdict],
    early: bytes,
) -> None:
    held = _Held(transport)
    transport.set_protocol(held)
    transport.start()  # to see a client that leaves
    try:
        verdict = await pending
        if held.lost or transport.is_closing():
            return  # the client left during `authenticate`
        _accept(intake, transport, route, verdict, early + held.data)
    except BaseException:
        transport.abort()
        raise


def _accept(
    intake: Intake,
    transport: SocketTransport,
    route: Route,
    verdict: Verdict,
    early: bytes,
) -> None:
    handler = route.hub.handler
    admitted = decide(handler, route.request, verdict, draining=intake.draining)
    if isinstance(admitted, Refusal):
        _end(transport, route.request.path, admitted, route.request.headers.get("User-Agent"))
        return
    try:
        headers, agreement = accept_headers(
            route.request.headers, admitted.protocol, handler.per_message_deflate
        )
    except HandshakeError as exc:
        _end(transport, route.request.path, Refusal(exc.status, str(exc)))
        return
    headers.append((FORWARDING_HEADER, "handover"))
    transport.write(switching_protocols(headers))
    stream, io = open_stream(transport, handler.max_message_size, agreement, early)
    # Reading starts (or goes on after `_Held` paused it) before the session exists, so
    # the session may pause it again (a flood in `early`).
    transport.resume_reading()
    intake.serve(route, admitted, io, stream)


class _Held(asyncio.Protocol):
    """Keeps what the client sends while `authenticate` runs (reading stops at the first
    bytes: the client must wait for the 101 anyway)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.data = b""
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.transport.pause_reading()

    def eof_received(self) -> bool:
        return True  # half-closed: the answer may still be written

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = True


def _end(transport: asyncio.Transport, path: str, why: Refusal, agent: str | None = None) -> None:
    """Refuse a handed-over upgrade, with its access-log line, and close the socket;
    `agent`: the request's User-Agent, where it was read."""
    if access.enabled():
        access.upgraded(access.peer(transport), path, why.status)
    elif why.status == 401:
        note_unauthorized(path, agent)
    transport.write(refusal(*why))
    transport.close()  # after the response is written


# The transport's protocol until the handshake is decided: no byte is read before the real
# protocol replaces it, and losing the connection then needs no call.
_STARTING = asyncio.Protocol()
