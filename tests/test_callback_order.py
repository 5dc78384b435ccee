"""The order promises of SPEC §2 and §8 where the ordinary path is left: nothing runs after
`on_close`, which runs once, whatever cut the connection short (a client that drops while
its frames wait unread, a CancelledError out of user code, a stop whose time runs out, an
`on_connect` that failed). Real sockets on a real sidecar; the stop through `wsside serve`."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import struct
import sys
from pathlib import Path

import aiohttp
import pytest
from tests.reliability.rawws import CONT, TEXT, frame, upgrade_head

from patterns_page import AccessLine
from serve_process import ServeProcess, free_port


async def test_frames_held_behind_a_slow_handler_never_reach_it_after_the_client_dropped(
    serve, probe, caplog: pytest.LogCaptureFixture
) -> None:
    """A flood behind a handler that waits pauses reading; the frames the parser holds then
    went with the socket when the client dropped: none is handled after `on_close`."""
    caplog.set_level(logging.INFO, logger="wsside.access")  # the close line, to wait on
    lost = AccessLine('"WebSocket /api/ws/slow" closed 1006')
    logging.getLogger("wsside.access").addHandler(lost)
    try:
        s = await serve("""
            import asyncio, probe
            from wsside import Handler

            gate = asyncio.Event()
            slow = []
            h = Handler("/ws/slow")

            @h.on_message
            async def message(conn, data):
                probe.record("message", data)
                if data == "first":
                    slow.append(conn)
                    await gate.wait()

            @h.on_close
            def close(conn, code, reason, by_client):
                probe.record("close", code)

            def other(conn, data):
                if data == "poke":  # a write finds the reset (reading the socket is paused)
                    slow[0].send("poke")
                else:
                    gate.set()

            Handler("/ws/gate", on_message=other)
        """)
        loop = asyncio.get_running_loop()
        with socket.socket() as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", s.port))
            await loop.sock_sendall(sock, upgrade_head("/api/ws/slow"))
            head = b""
            while b"\r\n\r\n" not in head:
                head += await loop.sock_recv(sock, 4096)
            assert head.startswith(b"HTTP/1.1 101 "), head
            (session,) = s.sidecar.intake.sessions
            # The first message in two frames: the parser then takes the whole read, and
            # holds what follows once 1,024 messages wait (in one write, one read).
            burst = frame(TEXT, b"fir", fin=False) + frame(CONT, b"st")
            burst += b"".join(frame(TEXT, b"%d" % i) for i in range(3000))
            await loop.sock_sendall(sock, burst)
            await probe.wait("message")  # the worker runs: that read was taken
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        gate = await s.connect("/api/ws/gate")
        await gate.send_str("poke")
        await asyncio.wait_for(lost.found, 5)  # the reset is seen while the handler waits
        await gate.send_str("go")
        await asyncio.wait_for(session.finished, 10)
    finally:
        logging.getLogger("wsside.access").removeHandler(lost)
    assert probe.all("close") == [("close", 1006)]
    after = probe.records[probe.records.index(("close", 1006)) + 1 :]
    assert not after, f"{len(after)} messages handled after on_close, first {after[0]}"
    handled = [r[1] for r in probe.all("message")]
    assert 1024 < len(handled) < 3001  # the queue's, not the held frames
    assert handled[1:] == list(range(len(handled) - 1))


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="Python 3.10 cannot tell whose a CancelledError is"
)
async def test_a_cancelled_error_out_of_user_code_is_its_error_and_the_next_messages_follow(
    serve, probe
) -> None:
    """An on_message awaiting a future that another connection cancels: the error policy
    (error frame, report), then the messages queued behind it, in order, and later ones."""
    s = await serve("""
        import asyncio, probe
        from wsside import Handler

        shared = {}
        h = Handler("/ws/shared")

        @h.on_message
        async def message(conn, data):
            if data == "wait":
                shared["fut"] = asyncio.get_running_loop().create_future()
                probe.record("waiting")
                await shared["fut"]
            elif data == "cancel":
                shared["fut"].cancel()
            else:
                await conn.send(data)

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code)
    """)
    a = await s.connect("/api/ws/shared", autoping=False)
    b = await s.connect("/api/ws/shared")
    await a.send_str("wait")
    await a.send_str("m1")
    await a.send_str("m2")
    await probe.wait("waiting")
    await a.ping()  # answered once the messages before it were read: m1 and m2 are queued
    assert (await a.receive()).type == aiohttp.WSMsgType.PONG
    await b.send_str("cancel")
    assert await a.receive_json(timeout=5) == {
        "type": "error",
        "message": "on_message raised CancelledError: something it awaited was cancelled",
    }
    assert await a.receive_str(timeout=5) == "m1"
    assert await a.receive_str(timeout=5) == "m2"
    await a.send_str("m3")
    assert await a.receive_str(timeout=5) == "m3"
    event = next(e for e in s.events if e["type"] == "runtime_error")
    assert event["callback"] == "on_message" and "CancelledError" in event["traceback"]
    await a.close()
    assert await probe.wait("close") == [("close", 1000)]


STUCK = """\
import asyncio
import sys

from wsside import Handler

stuck = Handler("/ws/stuck")


@stuck.on_message
async def message(conn, data):
    print("on_message waits", file=sys.stderr, flush=True)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        print("on_message cancelled", file=sys.stderr, flush=True)
        raise


@stuck.on_close
async def closed(conn, code, reason):
    await asyncio.sleep(0)
    print(f"on_close ran: {code} {reason!r}", file=sys.stderr, flush=True)
"""


async def test_a_stop_shorter_than_the_grace_cancels_a_stuck_callback_and_runs_on_close(
    tmp_path: Path,
) -> None:
    """SIGTERM with --shutdown-timeout 2 (under the 5 s a callback may outstay its
    connection) while an on_message waits for ever: cancelled, said, then on_close with the
    1001 the client got, and the process is out within the timeout."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "stuck.py").write_text(STUCK)
    port = free_port()
    serve = await ServeProcess.start(
        "--port", str(port), "--no-reload", "--shutdown-timeout", "2", cwd=tmp_path
    )
    try:
        await serve.expect("serving on")
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/stuck")
            await ws.send_str("hi")
            await serve.expect("on_message waits")
            serve.proc.send_signal(signal.SIGTERM)
            msg = await ws.receive()
            assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1001, "Going Away")
            stopped = await serve.expect("stopped in")
        assert await asyncio.wait_for(serve.proc.wait(), 10) == 0
    finally:
        await serve.stop()  # only when it is still running (the test failed)
    said = [line.split("wsside: ", 1)[-1] for line in serve.lines]
    warning = (
        "a callback of /api/ws/stuck was still running when the shutdown timeout ran out "
        "at ws/stuck.py:13; it was cancelled\n"
    )
    assert warning in said, said
    order = [said.index(warning), said.index("on_message cancelled\n")]
    order.append(said.index("on_close ran: 1001 'Going Away'\n"))
    assert order == sorted(order), said
    took = re.search(r"stopped in (\d+\.\d+) s", stopped)
    assert took is not None and float(took.group(1)) < 2, stopped


async def test_after_an_async_on_connect_failed_the_messages_sent_meanwhile_are_dropped(
    serve, probe
) -> None:
    s = await serve("""
        import asyncio, probe
        from wsside import Handler

        gate = asyncio.Event()
        h = Handler("/ws/fail")

        @h.on_connect
        async def connect(conn, request):
            probe.record("connect")
            await gate.wait()
            raise RuntimeError("no such user")

        @h.on_message
        def message(conn, data):
            probe.record("message", data)

        @h.on_close
        def close(conn, code, reason, by_client):
            probe.record("close", code)

        Handler("/ws/gate", on_message=lambda conn, data: gate.set())
    """)
    ws = await s.connect("/api/ws/fail", autoping=False)
    await probe.wait("connect")
    await ws.send_str("m1")
    await ws.send_str("m2")
    await ws.ping()  # answered once the messages before it were read: both are queued
    assert (await ws.receive()).type == aiohttp.WSMsgType.PONG
    gate = await s.connect("/api/ws/gate")
    await gate.send_str("go")
    assert await ws.receive_json(timeout=5) == {"type": "error", "message": "no such user"}
    assert (await ws.receive(timeout=5)).data == 1011
    assert await probe.wait("close") == [("close", 1011)]
    assert probe.records == [("connect",), ("close", 1011)]
