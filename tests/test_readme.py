"""Every snippet of README.md runs (the Typer model: a documented example is a test).

Each ```python block is a handler file: it is served by a real sidecar on a loopback port, must
load, must accept a connection on each endpoint without path variables (or refuse it with 401
where it authenticates), and must do what the text around it says (`CHECKS`, one per block,
keyed by the first pattern it declares). Each ```js block must parse (`node --check`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
PATTERN = re.compile(r'Handler\(\s*"([^"]+)"')
WAIT = 5.0


def blocks(lang: str) -> list[tuple[int, str]]:
    text = README.read_text()
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == lang
    ]


# ASGI apps are not handler files: each must be one of docs/asgi.md's, which test_asgi serves.
APPS = [b for b in blocks("python") if "ASGIApp(" in b[1]]
# Nor are tests of handlers (`wsside.testing`): each runs under pytest beside the Quick start's
# chat handler, in a project of its own.
TESTS = [b for b in blocks("python") if "wsside.testing" in b[1]]
PYTHON = [b for b in blocks("python") if b not in APPS and b not in TESTS]
JS = blocks("js")
Check = Callable[[Any, Any], Awaitable[None]]
CHECKS: dict[str, Check] = {}


def check(pattern: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[pattern] = fn
        return fn

    return register


def snippet_id(block: tuple[int, str]) -> str:
    found = PATTERN.findall(block[1])
    return f"line{block[0]}:{found[0] if found else 'no-handler'}"


def test_readme_has_snippets_and_each_has_a_check() -> None:
    assert len(PYTHON) >= 5 and JS
    firsts = [PATTERN.findall(code)[0] for _, code in PYTHON if PATTERN.findall(code)]
    assert len(firsts) == len(PYTHON), "every python block in README.md is a handler file"
    assert sorted(firsts) == sorted(CHECKS), "one behaviour check per python block, no stale ones"


def test_setup_commands_are_make_targets() -> None:
    setup = README.read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \w+)", setup, re.M)
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    for command in commands:
        assert re.search(rf"^{command.split()[1]}:", makefile, re.M), command


def test_wsside_commands_and_flags_exist() -> None:
    """Each `wsside CMD --flag` the README mentions is in that command's --help."""
    mentioned: dict[str, set[str]] = {}
    for span in re.findall(r"`wsside (\w+)([^`]*)`", README.read_text()):
        mentioned.setdefault(span[0], set()).update(re.findall(r"--[\w-]+", span[1]))
    assert {"serve", "doctor", "init"} <= set(mentioned)
    for command, flags in mentioned.items():
        done = subprocess.run(
            [sys.executable, "-m", "wsside", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        )
        assert done.returncode == 0, f"wsside {command}: {done.stderr}"
        for flag in flags:
            assert flag in done.stdout, f"README mentions `wsside {command} {flag}`"


def test_asgi_apps_are_the_ones_docs_asgi_runs() -> None:
    docs = (ROOT / "docs" / "asgi.md").read_text()
    assert APPS, "the README shows an ASGI app in Deploy"
    for line, code in APPS:
        assert f"```python\n{code}```" in docs, f"README.md line {line} is not in docs/asgi.md"


@pytest.mark.parametrize("block", TESTS, ids=lambda b: f"line{b[0]}")
def test_a_test_of_the_chat_passes_and_fails_under_pytest(
    block: tuple[int, str], tmp_path: Path
) -> None:
    """The README's test of the Quick start's chat, run as a user runs it (pytest and
    pytest-asyncio, from the project's folder): it passes, and it fails, saying what it
    waited for, against a chat that forgets the sender."""
    line, code = block
    [chat] = [c for _, c in PYTHON if 'Handler("/ws/chat"' in c]
    (tmp_path / "ws").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_chat.py").write_text(code)

    def pytest_run(handler: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "ws" / "chat.py").write_text(handler)
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = pytest_run(chat)
    assert done.returncode == 0 and "1 passed" in done.stdout, f"line {line}:\n{done.stdout}"
    forgetful = chat.replace("include_self=True", "include_self=False")
    assert forgetful != chat
    done = pytest_run(forgetful)
    assert done.returncode == 1, done.stdout
    assert "TimeoutError: /ws/chat: no message within 5.0 s" in done.stdout, done.stdout


@pytest.mark.parametrize("block", JS, ids=lambda b: f"line{b[0]}")
def test_js_snippet_parses(block: tuple[int, str], tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is needed to check the README's JavaScript"
    source = tmp_path / "snippet.mjs"
    source.write_text(block[1])
    done = subprocess.run(
        [node, "--check", str(source)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, f"README.md line {block[0]}:\n{done.stderr}"


@pytest.mark.parametrize("block", PYTHON, ids=snippet_id)
async def test_python_snippet_loads_and_behaves(
    block: tuple[int, str], serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    line, code = block
    served = await serve(code)
    registry = served.sidecar.registry
    assert not registry.errors, f"README.md line {line} does not load: {registry.errors}"
    declared = [d for d in served.sidecar.describe()]
    assert [d["pattern"] for d in declared] == PATTERN.findall(code)
    for endpoint in declared:
        if endpoint["has_variables"]:
            continue
        if registry.hubs[endpoint["pattern"]].handler.authenticate is None:
            ws = await served.connect("/api" + endpoint["pattern"])
            await ws.close()
        else:
            assert await status(served, "/api" + endpoint["pattern"]) == 401
    await CHECKS[declared[0]["pattern"]](served, capsys)


# ---- what the text says each snippet does ----------------------------------------------------


async def status(served: Any, path: str, **kwargs: Any) -> int:
    """The HTTP status of an upgrade (101 when accepted)."""
    try:
        ws = await served.connect(path, **kwargs)
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status
    await ws.close()
    return 101


async def upgrade_head(port: int, path: str, extra: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n".encode()
    )
    try:
        return (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)).decode("latin-1")
    finally:
        writer.close()
        await writer.wait_closed()


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), msg
    return msg.json() if msg.type is aiohttp.WSMsgType.TEXT and msg.data[:1] in "{[" else msg.data


@check("/ws/chat")
async def chat(served: Any, capsys: Any) -> None:
    ada = await served.connect("/api/ws/chat?username=Ada")
    hello = await receive(ada)
    assert hello["type"] == "connected" and len(hello["id"]) == 36
    guest = await served.connect("/api/ws/chat")
    assert (await receive(guest))["type"] == "connected"
    await ada.send_json({"type": "chat", "text": "hello"})
    for ws in (ada, guest):
        assert await receive(ws) == {"type": "chat-message", "from": "Ada", "text": "hello"}
    await guest.send_json({"type": "chat", "text": "hi"})
    assert (await receive(ada))["from"] == "Guest"


@check("/ws/lobby")
async def lobby(served: Any, capsys: Any) -> None:
    ws = await served.connect("/api/ws/lobby")
    assert await receive(ws) == {"type": "welcome", "rooms": ["lobby"]}


@check("/ws/rooms/{room}")
async def rooms(served: Any, capsys: Any) -> None:
    red1, red2, blue = [await served.connect(f"/api/ws/rooms/{r}") for r in ("red", "red", "blue")]
    for ws, room in ((red1, "red"), (red2, "red"), (blue, "blue")):
        assert await receive(ws) == {"type": "entered", "room": room}
    await red1.send_str("hi red")
    for ws in (red1, red2):
        assert await receive(ws) == {"type": "said", "text": "hi red"}
    await blue.send_str("hi blue")
    assert await receive(blue) == {"type": "said", "text": "hi blue"}  # not red's message


@check("/ws/strict")
async def strict(served: Any, capsys: Any) -> None:
    ws = await served.connect("/api/ws/strict")
    sessions = tuple(served.sidecar.intake.sessions)
    await ws.send_json({"fine": True})
    await ws.send_str("not json")
    msg = await ws.receive(timeout=WAIT)
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1003, "send JSON objects")
    await asyncio.wait_for(asyncio.gather(*(s.finished for s in sessions)), WAIT)
    assert f"{sessions[0].conn.id} closed 1003 'send JSON objects' by us" in capsys.readouterr().out
    big = await served.connect("/api/ws/strict")
    await big.send_bytes(b"x" * (64 * 1024 + 1))
    msg = await big.receive(timeout=WAIT)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009)


@check("/ws/news")
async def news(served: Any, capsys: Any) -> None:
    me, other = await served.connect("/api/ws/news"), await served.connect("/api/ws/news")
    await me.send_str("ack")
    assert await receive(me) == {"type": "ack"}
    for said, heard, self_too in (
        ("everyone", "hello all", False),
        ("room", "hello room", False),
        ("room+me", "hello us", True),
        ("my rooms", "hello my rooms", False),
    ):
        await me.send_str(said)
        assert await receive(other) == {"type": heard}
        if self_too:
            assert await receive(me) == {"type": heard}
        await me.send_str("ack")  # anything sent to `me` before would arrive before the ack
        assert await receive(me) == {"type": "ack"}


@check("/ws/private")
async def private(served: Any, capsys: Any) -> None:
    assert await status(served, "/api/ws/private?token=wrong") == 401
    ws = await served.connect("/api/ws/private?token=s3cret")
    assert await receive(ws) == {"type": "authenticated", "user": "ada"}
    assert await status(served, "/api/ws/admin", headers={"Authorization": "Bearer x"}) == 101
    assert await status(served, "/api/ws/admin", headers={"X-Api-Key": "k"}) == 401
    assert await status(served, "/api/ws/keyed", headers={"X-Api-Key": "k"}) == 101
    assert await status(served, "/api/ws/keyed", headers={"Authorization": "Bearer x"}) == 401


@check("/ws/echo")
async def echo(served: Any, capsys: Any) -> None:
    me, other = await served.connect("/api/ws/echo"), await served.connect("/api/ws/echo")
    await me.send_json({"type": "ping"})
    assert await receive(me) == {"type": "pong"}
    await me.send_json({"type": "echo", "data": [1, 2]})
    assert await receive(me) == {"type": "echo", "data": [1, 2]}
    await me.send_str("quiet")
    assert await receive(me) == "QUIET"
    await me.send_json({"type": "dance"})
    assert await receive(me) == {"type": "unmatched", "received": {"type": "dance"}}
    await me.send_json({"type": "announce", "text": "hi all"})
    for ws in (me, other):
        assert await receive(ws) == {"type": "announcement", "text": "hi all"}


@check("/ws/feed")
async def feed(served: Any, capsys: Any) -> None:
    ws = await served.connect("/api/ws/feed", protocols=("feed.v1", "feed.v2"), compress=15)
    assert (ws.protocol, ws.compress) == ("feed.v2", 15)
    assert await receive(ws) == {"subprotocol": "feed.v2"}
    head = await upgrade_head(
        served.port, "/api/ws/tight", "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    )
    assert head.startswith("HTTP/1.1 101")
    assert "permessage-deflate; server_no_context_takeover; server_max_window_bits=10" in head
    tight = await served.connect("/api/ws/tight", compress=15)
    await tight.send_str("x" * 1000)  # no callback: nothing comes back and the socket stays open
    await tight.ping()
    assert not tight.closed


@check("/ws/typed-chat")
async def typed_chat(served: Any, capsys: Any) -> None:
    ws = await served.connect("/api/ws/typed-chat")
    await ws.send_json({"type": "chat", "text": 42})
    assert await receive(ws) == {"type": "error", "message": "text: expected str, got int"}
    await ws.send_json({"type": "chat", "text": "hi"})
    assert await receive(ws) == {"type": "chat-message", "author": "Ada", "text": "hi"}
    await ws.close()


@check("/ws/clock")
async def clock(served: Any, capsys: Any) -> None:
    ws = await served.connect("/api/ws/clock")
    tick = await receive(ws)
    assert tick["type"] == "tick" and tick["n"] >= 1 and tick["listeners"] == 1
