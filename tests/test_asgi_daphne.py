"""Where daphne differs from other ASGI servers. It will not send some close codes: its
WebSocket library (autobahn) sends only 1000 and 3000-4999, and raises for wsside's 1001,
1009, 1011, 1013 (and for an int subclass such as an IntEnum). The client must still get a
close (1000 for those), said once in the log, while `on_close` hears the code wsside meant.

And it sends no lifespan events, which the warning of a missing lifespan says as daphne's.

daphne is not a test dependency: `send` below refuses as autobahn's `sendClose` does, and
the app is driven through its ASGI interface in the test's own loop."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

HANDLER = """\
from pathlib import Path

from wsside import Handler

h = Handler("/ws/h", max_message_size=10)


@h.on_message
def message(conn, data):
    if data == "kick":
        conn.close(4001, "kicked")


@h.on_close
def bye(conn, code, reason):
    with open(Path(__file__).with_name("closed.txt"), "a") as out:
        out.write(f"{code} ")
"""


def _app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An ASGIApp of HANDLER, with no refused close code said yet in this process."""
    from wsside import ASGIApp
    from wsside._edge import asgi_setup

    monkeypatch.setattr(asgi_setup, "_codes_refused", set())
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "h.py").write_text(HANDLER)
    return ASGIApp(tmp_path / "ws")


async def _drive(app: Any, messages: list[str], gone: bool = False) -> list[dict[str, Any]]:
    """One connection through `app` with `messages` sent after the accept; what it sent.
    `gone`: the client left before any close could be sent (every close send raises)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "websocket.close":
            if gone:
                inbox.put_nowait({"type": "websocket.disconnect", "code": 1006})
                raise ConnectionResetError("the client is gone")
            code = event.get("code", 1000)
            if type(code) is not int or (code != 1000 and not 3000 <= code <= 4999):
                raise ValueError(f"invalid close code {code!r}")  # autobahn's rule
            inbox.put_nowait({"type": "websocket.disconnect", "code": code})
        sent.append(event)
        if event["type"] == "websocket.accept":
            for text in messages:
                inbox.put_nowait({"type": "websocket.receive", "text": text})

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/ws/h",
        "raw_path": b"/ws/h",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "query_string": b"",
        "subprotocols": [],
        "scheme": "ws",
    }
    await asyncio.wait_for(app(scope, receive, send), 10)
    return sent


async def test_a_close_code_the_server_refuses_goes_as_1000_and_on_close_keeps_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, monkeypatch)
    closes = []
    for messages in (["x" * 20], ["y" * 20], ["kick"]):
        sent = await _drive(app, messages)
        closes.append([e for e in sent if e["type"] == "websocket.close"])
    # 1009 twice (said once), then a code the server sends as it is, as a plain int.
    assert [[e["code"] for e in c] for c in closes] == [[1000], [1000], [4001]]
    assert type(closes[2][0]["code"]) is int
    assert (tmp_path / "ws" / "closed.txt").read_text().split() == ["1009", "1009", "4001"]
    said = [
        r.getMessage() for r in caplog.records if "refused to send close code" in r.getMessage()
    ]
    assert said == [
        "wsside: this ASGI server refused to send close code 1009 (daphne sends only 1000 and "
        "3000-4999): its clients get 1000 instead; on_close still gets 1009"
    ]


async def test_a_close_to_a_client_that_is_gone_is_not_taken_for_a_refused_code(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, monkeypatch)
    sent = await _drive(app, ["x" * 20], gone=True)
    assert [e["type"] for e in sent] == ["websocket.accept"]
    assert (tmp_path / "ws" / "closed.txt").read_text().split() == ["1009"]
    assert not [r for r in caplog.records if "refused to send close code" in r.getMessage()]


def test_under_daphne_the_missing_lifespan_is_said_as_daphne_s(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """daphne sends no lifespan events at all: the usual advice (pass them on) cannot be
    followed there, so the warning says what comes of it instead."""
    import types

    from wsside._edge import asgi_setup

    monkeypatch.setitem(sys.modules, "daphne.server", types.ModuleType("daphne.server"))
    monkeypatch.setattr(asgi_setup, "_warned_no_lifespan", False)
    asgi_setup.warn_no_lifespan(object(), None)
    said = [r.getMessage() for r in caplog.records if "lifespan" in r.getMessage()]
    assert said == [
        "wsside: daphne sends no lifespan events, so ASGIApp's background tasks and backplane "
        "start with this first connection and stop when the process ends, and at daphne's "
        "shutdown an on_close still running may not finish (docs/asgi.md: Other servers and "
        "frameworks)"
    ]
