"""A handed-over connection that moves to uvloop's transport (`_io/moving.py`): what is sent
to it during the move, before the new transport is made, counts toward the 16 MiB a client
may be behind. It was queued without bound (60 MB to a client that reads nothing, all kept,
then copied again) and never closed 1013. A real sidecar behind a real control channel
(`test_handoff.Shim`), a raw client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.reliability.rawws import BINARY, CLOSE, TEXT

from test_client_gone import Client
from test_handoff import Shim, needs_uvloop
from wsside._io.transport import MOVE_AFTER_READS

pytestmark = needs_uvloop

WAIT = 20.0
MESSAGES, SIZE = 60, 1_000_000  # 60 MB: well past the 16 MiB budget
BIG = 8_000_000  # one message, more than the kernel takes at once

APP = f"""
import asyncio
from wsside import Handler

def burst(conn, data):
    if data != "burst":
        conn.send(data)
        return
    # On the loop's next turn: after the read that starts the move, before the new
    # transport is made.
    asyncio.get_running_loop().call_soon(
        lambda: [conn.send(bytes({SIZE})) for _ in range({MESSAGES})]
    )

Handler("/burst", on_message=burst)

errors = []

def big(conn, data):
    if data == "report":
        conn.send({{"errors": errors}})
    elif data != "big":
        conn.send(data)
    else:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: errors.append(context["message"]))
        loop.call_soon(lambda: conn.send(bytes({BIG})))

Handler("/big", on_message=big)
"""


@pytest.fixture
def shim(tmp_path: Path) -> Iterator[Shim]:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "app.py").write_text(APP)
    shim = Shim(folder, "uvloop")
    shim.read_until("type", "ready")
    yield shim
    shim.stop()


def test_a_burst_sent_while_the_connection_moves_is_held_to_the_budget(shim: Shim) -> None:
    client = Client(shim.hand_over("/api/burst"))
    deadline = time.monotonic() + WAIT
    for n in range(MOVE_AFTER_READS - 1):  # one read each; the next one starts the move
        client.send(TEXT, f"m{n}".encode())
        assert client.next(deadline) == (TEXT, f"m{n}".encode())
    client.send(TEXT, b"burst")
    received, closed = 0, None
    while closed is None and received < MESSAGES:
        opcode, payload = client.next(deadline)
        if opcode == BINARY:
            assert len(payload) == SIZE
            received += 1
        else:
            assert opcode == CLOSE, opcode
            closed = int.from_bytes(payload[:2], "big")
    assert closed == 1013, (closed, received)
    assert received < 20, received  # 16 MiB and the message that paused the transport


def test_a_big_message_sent_while_the_connection_moves_arrives_without_an_error(
    shim: Shim,
) -> None:
    """The writer was paused for it during the move, and uvloop's transport paused it again
    when it took the message: aiohttp's protocol raised (`protocol.pause_writing() failed`,
    an AssertionError's traceback in the log), though the message arrived."""
    client = Client(shim.hand_over("/api/big"))
    deadline = time.monotonic() + WAIT
    for n in range(MOVE_AFTER_READS - 1):
        client.send(TEXT, f"m{n}".encode())
        assert client.next(deadline) == (TEXT, f"m{n}".encode())
    client.send(TEXT, b"big")
    assert client.next(deadline) == (BINARY, bytes(BIG))
    client.send(TEXT, b"report")
    assert json.loads(client.next(deadline)[1]) == {"errors": []}
