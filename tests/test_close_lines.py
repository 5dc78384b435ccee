"""A connection that wsside itself closes at one of its limits leaves one warning line in the
log, naming the endpoint, the handler's file and line, and what to do: `1013 "Client too
slow"` (more than 16 MiB waited to be sent to it: a client that stops reading, or a burst the
handler sent in one go) and `1009` (the client sent a message over `max_message_size`).
The same close again within the window (a reconnect loop, many clients) is counted, not
written again. A real `wsside serve` and a real uvicorn, aiohttp clients; the Vite case is
tests/shim/close-lines.test.js."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest

from asgi_server import Server, assert_stopped, write_files
from serve_process import ServeProcess, free_port
from wsside._runtime import limit_closes
from wsside.closecodes import CloseReason

# The walkthrough's history on connect: 40 MiB sent in one go.
HISTORY = """\
from wsside import Handler

history = Handler("/ws/history")
CHUNKS = [bytes([i]) * (1 << 20) for i in range(40)]

@history.on_connect
def backfill(conn, request):
    for chunk in CHUNKS:
        conn.send(chunk)
"""

# The same burst, each part awaited: it is paced, and all of it arrives.
PACED = """\
from wsside import Handler

paced = Handler("/ws/paced")
CHUNKS = [bytes([i]) * (1 << 20) for i in range(40)]

@paced.on_connect
async def backfill(conn, request):
    for chunk in CHUNKS:
        await conn.send(chunk)
"""

BIG = """\
from wsside import Handler

big = Handler("/ws/big", max_message_size=1024)
"""

FILES = {"ws/history.py": HISTORY, "ws/paced.py": PACED, "ws/big.py": BIG}

# With the client's address, as its access line writes it.
SLOW_LINE = re.compile(
    re.escape(
        'closed /api/ws/history 1013 "Client too slow" (ws/history.py:3): more than 16 MiB '
        "waited to be sent to the client"
    )
    + r" 127\.0\.0\.1:\d+"
    + re.escape(
        ", which cuts off a client that stops reading and also one sent a burst in one go: "
        "await conn.send(...) for each part paces it (it waits while more than 64 KiB are "
        "queued); broadcast() never waits, so a burst of broadcasts is not paced"
    )
)
BIG_LINE = (
    "closed /api/ws/big 1009 (ws/big.py:3): the client sent a message over max_message_size "
    "(1 KiB): raise it in Handler(..., max_message_size=...) if such messages are meant"
)
SLOW_COUNT = 'closed 1 more connection 1013 "Client too slow" in the last 5 s'
BIG_COUNT = "closed 1 more connection 1009 in the last 5 s"


async def read_to_close(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, int]:
    """Read every message of `ws` until the server's close: its code, and how many messages
    came before it."""
    count = 0

    async def read() -> None:
        nonlocal count
        async for _ in ws:
            count += 1

    # Bounded: a close that never comes fails here, naming the step, not at pytest's timeout.
    await asyncio.wait_for(read(), 60)
    return ws.close_code, count


async def send_too_big(client: aiohttp.ClientSession, url: str) -> int | None:
    """Send a message of 2,000 bytes to `url`; the code of the server's close."""
    ws = await client.ws_connect(url)
    await ws.send_bytes(b"x" * 2000)

    async def read() -> None:
        async for _ in ws:
            pass

    await asyncio.wait_for(read(), 60)
    return ws.close_code


async def read_paced(client: aiohttp.ClientSession, url: str) -> int:
    """Open `url`, read the 40 messages of the paced burst (each 1 MiB), then close; how
    many came whole."""
    ws = await client.ws_connect(url, max_msg_size=0)
    whole = 0
    for i in range(40):
        msg = await ws.receive(timeout=60)
        assert msg.type is aiohttp.WSMsgType.BINARY, msg
        whole += msg.data == bytes([i]) * (1 << 20)
    await ws.close()
    return whole


def client_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))


async def test_under_wsside_serve_a_1013_or_1009_close_says_why_once_then_counts(
    tmp_path: Path,
) -> None:
    for name, code in FILES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(code)
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/ws"
    serve = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await serve.expect("serving on")
        async with client_session() as client:
            # Nothing is read until the server has closed: a client that reads as fast as the
            # burst is written may take it all, and then there is no 1013 to see. (aiohttp
            # stops reading the socket while a message waits unread.)
            slow = await client.ws_connect(f"{base}/history", max_msg_size=0)
            line = await serve.expect("closed /api/ws/history 1013")
            assert SLOW_LINE.search(line), line
            assert "wsside: " in line  # one of wsside's own lines (`[wsside] ...` under Vite)
            code, received = await read_to_close(slow)
            assert (code, received < 40) == (1013, True), (code, received)
            # A reconnect, within the window: counted, not written again; the count comes when
            # the window ends, 5 s after the first line. Held until then: a client dropped at
            # once went away with 1006 before the burst could overflow.
            again = await client.ws_connect(f"{base}/history", max_msg_size=0)
            slow_count = await serve.expect(SLOW_COUNT, timeout=15)
            assert "(the last: /api/ws/history)" in slow_count, slow_count
            await again.close()
            assert await send_too_big(client, f"{base}/big") == 1009
            line = await serve.expect("closed /api/ws/big 1009")
            assert BIG_LINE in line, line
            assert await send_too_big(client, f"{base}/big") == 1009
            # Awaited, the same burst is paced: all of it arrives, and the client stays open.
            assert await read_paced(client, f"{base}/paced") == 40
        # The window's count comes when it ends, 5 s after its first line.
        big_count = await serve.expect(BIG_COUNT, timeout=15)
        assert re.search(r"\(the last: /api/ws/big: \w+ of 2000 bytes exceeds", big_count), (
            big_count
        )
    finally:
        assert await serve.stop() == 0
    lines = serve.lines
    assert sum(bool(SLOW_LINE.search(line)) for line in lines) == 1, "".join(lines)
    assert sum(BIG_LINE in line for line in lines) == 1, "".join(lines)
    assert not any("/api/ws/paced" in line and "1013" in line for line in lines), "".join(lines)


ASGI_APP = """
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from wsside import ASGIApp

    ws = ASGIApp("ws")
    app = Starlette(routes=[Mount("/api", app=ws)], lifespan=ws.lifespan)
"""


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_under_uvicorn_the_same_closes_say_why(tmp_path: Path) -> None:
    """Under ASGI the server owns the socket, and these two limits are still wsside's: the
    queue of what waits for the server to send (16 MiB), and `max_message_size` below the
    server's own limit (uvicorn `--ws-max-size`, 16 MiB), whose closes are the server's."""
    write_files(tmp_path, {"app.py": ASGI_APP, **FILES})
    server = Server(tmp_path, "uvicorn", prefix="/api")
    try:
        async with client_session() as client:
            slow = await client.ws_connect(server.url("/ws/history"), max_msg_size=0)
            # Read once the server has closed it (as under wsside serve, above).
            line = server.wait_for("closed /api/ws/history 1013", timeout=10)
            assert SLOW_LINE.search(line), line
            code, _ = await read_to_close(slow)
            assert code == 1013
            assert await send_too_big(client, server.url("/ws/big")) == 1009
            assert BIG_LINE in server.wait_for("closed /api/ws/big 1009", timeout=10)
    finally:
        assert_stopped(server)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        (
            CloseReason.message_too_big(70000, 65536),
            "the client sent a message over max_message_size (64 KiB): raise it in",
        ),
        (
            CloseReason.too_many_fragments(1024),
            "the client sent a message in more fragments than max_message_size (64 KiB) allows "
            "(Message has more than 1024 fragments): raise it in",
        ),
        (
            CloseReason.INFLATES_TOO_BIG,
            "the client sent a compressed message that inflates past max_message_size (64 KiB): "
            "raise it in",
        ),
    ],
    ids=["over", "fragments", "inflates"],
)
def test_each_1009_says_which_limit_the_message_broke(
    reason: str, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The wording of each kind of 1009 (the reader's reasons), without a server: called
    with no event loop running, each line is written at once."""
    handler = SimpleNamespace(
        file="ws/strict.py",
        line=7,
        max_message_size=65536,
        _given_options=lambda: frozenset({"max_message_size"}),  # given in Handler(...)
    )
    with caplog.at_level(logging.WARNING, logger="wsside"):
        limit_closes.message_too_big("/api/ws/strict", handler, reason)  # type: ignore[arg-type]
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("wsside: closed /api/ws/strict 1009 (")
    assert f"ws/strict.py:7): {words} Handler(..., max_message_size=...)" in record.getMessage()


async def test_a_limit_from_the_config_file_is_named_where_it_is_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`max_message_size` from `[defaults]`: the 1009 line names the config file too, not only
    Handler(...), which does not set it."""
    from wsside.testing import serve

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "open.py").write_text('from wsside import Handler\nHandler("/ws/open")\n')
    (tmp_path / "wsside.toml").write_text("[defaults]\nmax_message_size = 1024\n")
    async with serve(tmp_path / "ws") as server:
        client = await server.connect("/ws/open")
        await client.send(b"x" * 2000)
        assert (await client.receive_close())[0] == 1009
    said = [r.getMessage() for r in caplog.records if "1009" in r.getMessage()]
    assert any(
        line.endswith(
            "(1 KiB): raise it in Handler(..., max_message_size=...) or the config file's "
            "[defaults] if such messages are meant"
        )
        for line in said
    ), said
