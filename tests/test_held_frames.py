"""A read of many small messages to a handler that awaits: the session stops reading once its
queue is full, the rest of the read under way is held by the parser, and each time the queue
drains the parser goes on from where it stopped. Each frame is handled once, however many
times the session pauses: the rest of the read was held again at every pause before (a burst
of 300,000 tiny messages: 29 calls per frame, and its echo took twice its time; here 102,400
messages: 1.8 million calls, now 180,000)."""

from __future__ import annotations

from typing import Any

import pytest
from tests import test_connection

from wsside._io.reader import StrictReader
from wsside._runtime.callback_queue import INBOX_HIGH_WATER

COUNT = 100 * INBOX_HIGH_WATER  # many pauses and resumes within each read


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the parser's frame hook ran (once per frame, plus its holding)."""
    calls = [0]
    original = StrictReader.handle_frame

    def counted(self: StrictReader, *frame: Any) -> None:
        calls[0] += 1
        original(self, *frame)

    monkeypatch.setattr(StrictReader, "handle_frame", counted)
    monkeypatch.setattr(StrictReader, "_handle_frame", counted, raising=False)
    return calls


async def test_each_frame_of_a_read_held_across_pauses_is_handled_once(
    serve: Any, handled: list[int]
) -> None:
    s = await serve(f"""
        import asyncio
        from wsside import Handler
        h = Handler("/ws/slow")
        h.seen = []

        @h.on_message
        async def work(conn, data):
            await asyncio.sleep(0)  # each message waits a turn: the queue fills
            h.seen.append(int(data))
            if len(h.seen) == {COUNT}:
                conn.send(h.seen == list(range({COUNT})))
    """)
    burst = b"".join(test_connection._masked(0x1, str(i).encode()) for i in range(COUNT))
    reader, writer = await test_connection.small_window_client(s.port, "/api/ws/slow", burst)
    try:
        head = await reader.readexactly(2)
        assert head == b"\x81\x04" and await reader.readexactly(4) == b"true"
        # Once when the C parser met it (handled, or held), once more at most when released.
        assert COUNT <= handled[0] <= 2 * COUNT + 10, handled[0]
    finally:
        writer.close()
