"""The start-up warnings of `ASGIApp` for the Handler options and callbacks an ASGI server
owns (docs/asgi.md's table): one line for each that a declaration sets to other than what the
server does, naming the server's setting; nothing for options left alone."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from wsside import Deflate, Handler


def _owned_warnings(caplog: pytest.LogCaptureFixture, *handlers: Handler) -> list[str]:
    from wsside import ASGIApp

    with caplog.at_level("WARNING", logger="wsside"):
        ASGIApp(list(handlers))
    return [r.getMessage() for r in caplog.records if "under ASGI" in r.getMessage()]


def test_per_message_deflate_false_is_warned_of_and_untouched_defaults_are_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """uvicorn negotiates compression by default whatever the handler says: `False` (and a
    `Deflate` of other settings) does not hold; `True`, or nothing given, is what it does."""
    said = _owned_warnings(
        caplog,
        Handler("/ws/off", per_message_deflate=False),
        Handler("/ws/small", per_message_deflate=Deflate(server_max_window_bits=10)),
        Handler("/ws/on", per_message_deflate=True),
        Handler("/ws/plain"),
    )
    why = (
        "which does not hold under ASGI: the server negotiates compression (uvicorn "
        "--ws-per-message-deflate, on by default; hypercorn always accepts the offer) "
        "(docs/asgi.md: What holds under ASGI)"
    )
    assert said == [
        f"wsside: /ws/off sets per_message_deflate=False, {why}",
        f"wsside: /ws/small sets per_message_deflate={Deflate(server_max_window_bits=10)!r}, {why}",
    ]


def test_heartbeat_names_the_servers_settings_and_ping_callbacks_are_not_called(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = Handler("/ws/chat", heartbeat=30, on_ping=lambda conn, data: None)
    quiet = Handler("/ws/quiet", heartbeat=0)  # off here; uvicorn pings all the same

    @quiet.on_pong
    def pong(conn, data):  # type: ignore[no-untyped-def]
        pass

    said = _owned_warnings(caplog, chat, quiet)
    pings = (
        "which does not hold under ASGI: the server sends the pings (uvicorn "
        "--ws-ping-interval and --ws-ping-timeout; hypercorn --websocket-ping-interval) "
        "(docs/asgi.md: What holds under ASGI)"
    )
    assert said == [
        f"wsside: /ws/chat sets heartbeat=30, {pings}",
        "wsside: /ws/chat sets on_ping, which is not called under ASGI: the server answers "
        "pings itself and no ASGI event carries them (docs/asgi.md: What holds under ASGI)",
        f"wsside: /ws/quiet sets heartbeat=0, {pings}",
        "wsside: /ws/quiet sets on_pong, which is not called under ASGI: no ASGI event "
        "carries a pong (docs/asgi.md: What holds under ASGI)",
    ]


def test_the_lines_docs_asgi_md_quotes_are_the_ones_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "asgi.md").read_text()
    quoted = re.findall(r"^wsside: /ws/chat sets .*$", doc, re.M)
    chat = Handler(
        "/ws/chat", heartbeat=30, per_message_deflate=False, on_ping=lambda conn, data: None
    )
    assert _owned_warnings(caplog, chat) == quoted


def test_the_table_names_every_handler_option() -> None:
    """A new Handler option gets its row (or a place in one) in docs/asgi.md's table: whether
    it holds under ASGI, or which server setting gives it."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "asgi.md").read_text("utf-8")
    table = text[text.index("| Handler option or callback |") :].split("\n\n")[0]
    named = set(re.findall(r"`(\w+)=?`", " ".join(r.split("|")[1] for r in table.splitlines())))
    options = [p for p in inspect.signature(Handler).parameters if p != "self"]
    assert len(options) > 15 and [p for p in options if p not in named] == []
