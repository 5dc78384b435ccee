"""`SocketTransport` (handed-over sockets) over a real TCP connection: reading, flow control,
closing, errors. Each test waits on the protocol's events, never on time."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, AsyncIterator

import pytest

from wsside._io.transport import SocketTransport


class Recorder(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.data = bytearray()
        self.events: list[str] = []
        self.got_data = asyncio.Event()
        self.lost: asyncio.Future[BaseException | None] = loop.create_future()
        self.resumed = asyncio.Event()
        self.fail_on_data = False

    def data_received(self, data: bytes) -> None:
        if self.fail_on_data:
            raise RuntimeError("protocol bug")
        self.data += data
        self.got_data.set()

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


@pytest.fixture
async def pair() -> AsyncIterator[tuple[SocketTransport, Recorder, socket.socket]]:
    """A started transport on the server side of a TCP connection, and the client socket."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    server.setblocking(False)
    client.setblocking(False)
    protocol = Recorder()
    transport = SocketTransport(asyncio.get_running_loop(), server, protocol)
    transport.start()
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
    transport, protocol, client = pair
    while "pause" not in protocol.events:
        transport.write(b"y" * 65536)
    transport.abort()
    transport.abort()
    transport.close()
    assert await protocol.lost is None
    assert protocol.events == ["pause", "lost"]


async def test_a_reset_reaches_connection_lost_with_the_error(pair: Any) -> None:
    transport, protocol, client = pair
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
    transport, protocol, client = pair
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
