"""`SocketTransport` (handed-over sockets) over a real TCP connection: reading, flow control,
closing, errors. Each test waits on the protocol's events, never on time."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from wsside._io.transport import MOVE_AFTER_READS, SocketTransport


class Recorder(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.data = bytearray()
        self.events: list[str] = []
        self.got_data = asyncio.Event()
        self.lost: asyncio.Future[BaseException | None] = loop.create_future()
        self.resumed = asyncio.Event()
        self.fail_on_data = False
        self.on_data: Callable[[], None] | None = None

    def data_received(self, data: bytes) -> None:
        if self.fail_on_data:
            raise RuntimeError("protocol bug")
        self.data += data
        self.got_data.set()
        if self.on_data is not None:
            self.on_data()

    def eof_received(self) -> bool:
        self.events.append("eof")
        return False

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")
        self.resumed.set()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append("lost")
        self.lost.set_result(exc)


class Writer:
    """What holds the transport for writing (the connection's FrameIO does)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport


def started(movable: bool = False) -> tuple[SocketTransport, Recorder, socket.socket, Writer]:
    """A started transport on the server side of a TCP connection, the client socket, and
    a writer that the transport hands on to when it moves."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    server.setblocking(False)
    client.setblocking(False)
    protocol = Recorder()
    transport = SocketTransport(asyncio.get_running_loop(), server, protocol, movable=movable)
    writer = Writer(transport)
    transport.hand_on_move(writer)
    transport.start()
    return transport, protocol, client, writer


@pytest.fixture
async def pair() -> AsyncIterator[tuple[SocketTransport, Recorder, socket.socket]]:
    transport, protocol, client, _ = started()
    yield transport, protocol, client
    transport.abort()
    client.close()
    await protocol.lost


async def recv_until_eof(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    out = bytearray()
    while chunk := await loop.sock_recv(sock, 1 << 20):
        out += chunk
    return bytes(out)


async def test_reads_what_the_peer_sends_and_names_its_ends(pair: Any) -> None:
    transport, protocol, client = pair
    await asyncio.get_running_loop().sock_sendall(client, b"hello")
    await protocol.got_data.wait()
    assert protocol.data == b"hello"
    assert transport.get_extra_info("peername") == client.getsockname()
    assert transport.get_extra_info("sockname") == client.getpeername()
    assert transport.get_extra_info("socket").fileno() >= 0
    assert transport.get_extra_info("nothing", 7) == 7


async def test_a_peer_that_stops_reading_pauses_the_protocol_and_close_flushes(pair: Any) -> None:
    transport, protocol, client = pair
    chunk = b"x" * 65536
    while "pause" not in protocol.events:  # the kernel's buffers fill first, then ours
        transport.write(chunk)
    assert transport.get_write_buffer_size() > 64 * 1024
    written = transport.get_write_buffer_size()
    transport.close()
    assert transport.is_closing() and not protocol.lost.done()
    received = await recv_until_eof(client)  # everything buffered arrives, then EOF
    assert len(received) >= written and set(received) == {ord("x")}
    assert await protocol.lost is None
    assert protocol.events == ["pause", "resume", "lost"]
    assert transport.get_write_buffer_size() == 0


async def test_close_sends_the_fin_at_once_and_reports_the_loss_after(pair: Any) -> None:
    transport, protocol, client = pair
    transport.write(b"last words")
    transport.close()
    # Read to the end without letting the loop run: the FIN must already be on its way
    # (a transport that closed its socket only in `connection_lost` would time out here).
    client.settimeout(5)
    got = bytearray()
    while chunk := client.recv(100):
        got += chunk
    assert got == b"last words"
    assert protocol.events == []  # connection_lost comes in a later callback
    assert await protocol.lost is None
    assert protocol.events == ["lost"]


async def test_the_peers_eof_closes_the_transport(pair: Any) -> None:
    transport, protocol, client = pair
    client.shutdown(socket.SHUT_WR)
    assert await protocol.lost is None
    assert protocol.events == ["eof", "lost"]
    assert transport.is_closing()
    transport.write(b"ignored after the end")  # no error, nothing sent


async def test_write_eof_sends_the_fin_after_the_buffer_and_reading_goes_on(pair: Any) -> None:
    transport, protocol, client = pair
    assert transport.can_write_eof()
    chunk = b"x" * 65536
    while "pause" not in protocol.events:  # some bytes wait in the transport's buffer
        transport.write(chunk)
    written = transport.get_write_buffer_size()
    transport.write_eof()
    transport.write(b"y")  # after the EOF: dropped
    assert not transport.is_closing()
    received = await recv_until_eof(client)  # the buffer, then the FIN
    assert len(received) >= written and set(received) == {ord("x")}
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(client, b"still reading")
    await protocol.got_data.wait()
    assert protocol.data == b"still reading"
    client.shutdown(socket.SHUT_WR)  # the peer's EOF ends it (the protocol says so)
    assert await protocol.lost is None
    assert protocol.events == ["pause", "resume", "eof", "lost"]


async def test_abort_drops_buffered_bytes_and_reports_once(pair: Any) -> None:
    transport, protocol, _client = pair
    while "pause" not in protocol.events:
        transport.write(b"y" * 65536)
    transport.abort()
    transport.abort()
    transport.close()
    assert await protocol.lost is None
    assert protocol.events == ["pause", "lost"]


async def test_a_reset_reaches_connection_lost_with_the_error(pair: Any) -> None:
    _transport, protocol, client = pair
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()  # linger 0: RST
    exc = await protocol.lost
    assert isinstance(exc, ConnectionResetError)


async def test_paused_reading_reads_nothing_until_resumed(pair: Any) -> None:
    transport, protocol, client = pair
    transport.pause_reading()
    assert not transport.is_reading()
    await asyncio.get_running_loop().sock_sendall(client, b"later")
    # A round trip through the loop would have delivered it: write, and wait for our own echo.
    transport.write(b"ping")
    assert await asyncio.get_running_loop().sock_recv(client, 4) == b"ping"
    assert protocol.data == b""
    transport.resume_reading()
    await protocol.got_data.wait()
    assert protocol.data == b"later"


async def test_an_error_in_the_protocol_is_reported_and_drops_the_connection(pair: Any) -> None:
    _transport, protocol, client = pair
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        protocol.fail_on_data = True
        await loop.sock_sendall(client, b"boom")
        exc = await protocol.lost
    finally:
        loop.set_exception_handler(None)
    assert isinstance(exc, RuntimeError)
    assert [type(c["exception"]) for c in reported] == [RuntimeError]
    assert await recv_until_eof(client) == b""


# ---- the move to the loop's own transport (movable=True; on uvloop in production) ---------

LOOPS = [
    "asyncio",
    pytest.param(
        "uvloop",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("uvloop") is None,
            reason="uvloop not installed (wsside[speed])",
        ),
    ),
]


def run_on(loop_kind: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    if loop_kind == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


async def movable_pair(
    on_last_read: Callable[[SocketTransport], None] | None = None,
) -> tuple[SocketTransport, Recorder, socket.socket, Writer]:
    """A movable transport that has read MOVE_AFTER_READS times, so that its move has
    begun; `on_last_read(transport)` runs within the protocol's last `data_received`."""
    transport, protocol, client, writer = started(movable=True)
    loop = asyncio.get_running_loop()
    for n in range(MOVE_AFTER_READS):
        assert writer.transport is transport
        protocol.got_data.clear()
        if n == MOVE_AFTER_READS - 1 and on_last_read is not None:

            def once(last: Callable[[SocketTransport], None] = on_last_read) -> None:
                protocol.on_data = None
                last(transport)

            protocol.on_data = once
        await loop.sock_sendall(client, b"%d," % n)
        await protocol.got_data.wait()  # one read each: the next is sent after this one
    return transport, protocol, client, writer


async def moved(writer: Writer, transport: SocketTransport) -> None:
    """Loop turns until the writer holds the loop's transport (two turns after the read)."""
    for _ in range(100):
        if writer.transport is not transport:
            return
        await asyncio.sleep(0)
    raise AssertionError("the transport did not move")


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_movable_transport_moves_after_its_reads_and_serves_as_before(loop_kind: str) -> None:
    async def main() -> None:
        transport, protocol, client, writer = await movable_pair()
        await moved(writer, transport)
        inner = writer.transport
        assert type(inner) is not SocketTransport and inner.get_protocol() is protocol
        loop = asyncio.get_running_loop()
        # Reads go straight to the protocol; writes through either transport reach the peer.
        protocol.got_data.clear()
        await loop.sock_sendall(client, b"after")
        await protocol.got_data.wait()
        assert protocol.data == b"".join(b"%d," % n for n in range(MOVE_AFTER_READS)) + b"after"
        transport.write(b"one ")
        inner.write(b"two")
        assert await recv_exactly(client, 7) == b"one two"
        assert transport.get_extra_info("peername") == client.getsockname()
        assert transport.is_reading()
        transport.pause_reading()
        assert not transport.is_reading() and not inner.is_reading()
        transport.resume_reading()
        assert transport.is_reading()
        transport.close()
        assert transport.is_closing()
        assert await recv_until_eof(client) == b""
        assert await protocol.lost is None
        assert protocol.events == ["lost"]
        client.close()

    run_on(loop_kind, main)


@pytest.mark.parametrize("loop_kind", LOOPS)
@pytest.mark.parametrize("end", ["close", "write_eof", "abort"])
def test_what_is_asked_during_the_move_is_done_after_it(loop_kind: str, end: str) -> None:
    seen: dict[str, Any] = {}

    def during(transport: SocketTransport) -> None:
        # Runs in the loop turn after the last read, while the socket moves.
        def ask() -> None:
            seen["moving"] = transport._moved is not None and transport._moved._inner is None
            transport.write(b"queued ")
            transport.write(bytearray(b"in order"))
            seen["buffered"] = transport.get_write_buffer_size()
            getattr(transport, end)()
            transport.write(b"dropped")
            seen["closing"] = transport.is_closing()

        asyncio.get_running_loop().call_soon(ask)

    async def main() -> None:
        transport, protocol, client, writer = await movable_pair(during)
        loop = asyncio.get_running_loop()
        if end == "abort":
            assert await protocol.lost is None
            assert await recv_until_eof(client) == b""  # nothing written after an abort
        else:
            assert await recv_until_eof(client) == b"queued in order"
        if end == "write_eof":
            await moved(writer, transport)
            assert not transport.is_closing()
            transport.write(b"after the FIN")  # dropped, as before the move (no error)
            protocol.got_data.clear()
            await loop.sock_sendall(client, b"still read")
            await protocol.got_data.wait()
            assert protocol.data.endswith(b"still read")
            client.shutdown(socket.SHUT_WR)
            assert await protocol.lost is None
            assert protocol.events == ["eof", "lost"]
        else:
            assert await protocol.lost is None
            assert protocol.events == ["lost"]
        assert seen == {"moving": True, "buffered": 15, "closing": end != "write_eof"}
        client.close()

    run_on(loop_kind, main)


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_pause_asked_during_the_move_holds_after_it(loop_kind: str) -> None:
    async def main() -> None:
        transport, protocol, client, writer = await movable_pair(
            lambda t: asyncio.get_running_loop().call_soon(t.pause_reading)
        )
        await moved(writer, transport)
        assert not transport.is_reading() and not writer.transport.is_reading()
        loop = asyncio.get_running_loop()
        before = bytes(protocol.data)
        await loop.sock_sendall(client, b"later")
        # A round trip through the loop would have delivered it: write, and wait for our echo.
        writer.transport.write(b"ping")
        assert await recv_exactly(client, 4) == b"ping"
        assert protocol.data == before
        protocol.got_data.clear()
        transport.resume_reading()
        await protocol.got_data.wait()
        assert protocol.data == before + b"later"
        transport.abort()
        assert await protocol.lost is None
        client.close()

    run_on(loop_kind, main)


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_transport_made_not_movable_never_moves(loop_kind: str) -> None:
    async def main() -> None:
        transport, protocol, client, writer = started()
        loop = asyncio.get_running_loop()
        for _ in range(2 * MOVE_AFTER_READS):
            protocol.got_data.clear()
            await loop.sock_sendall(client, b"x")
            await protocol.got_data.wait()
        transport.write(b"ok")  # a round trip: any move would have finished by now
        assert await recv_exactly(client, 2) == b"ok"
        assert writer.transport is transport and transport._moved is None
        transport.abort()
        await protocol.lost
        client.close()

    run_on(loop_kind, main)


async def recv_exactly(sock: socket.socket, n: int) -> bytes:
    loop = asyncio.get_running_loop()
    out = bytearray()
    while len(out) < n:
        chunk = await loop.sock_recv(sock, n - len(out))
        assert chunk, f"EOF after {bytes(out)!r}"
        out += chunk
    return bytes(out)
