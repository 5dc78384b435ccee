"""docs/patterns.md read for its tests (`tests/test_patterns.py`): its python blocks by
section, how a fragment extends the block before it, and the clients and log watchers those
tests share (a y-websocket page, in Python, for the Yjs recipe)."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
import re
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest

try:
    import pycrdt
except ImportError:  # pyproject's test extra has it; the Yjs recipe's test skips without it
    pycrdt = None

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "patterns.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
HEADING = re.compile(r"^## (.+)$", re.M)
PAGE_REDIS = "redis://localhost:6379/0"  # the Redis the page's blocks connect to
WAIT = 5.0


def recipes() -> dict[str, tuple[int, str]]:
    """The page's python blocks, with their line, by their section's title (up to a `:` or
    `(`), and ` #2` after it for the section's second block."""
    text = PAGE.read_text()
    titles = [(m.start(), m.group(1)) for m in HEADING.finditer(text)]
    found: dict[str, tuple[int, str]] = {}
    for m in (m for m in FENCE.finditer(text) if m.group(1) == "python"):
        key = re.split(r"[:(]", [t for at, t in titles if at < m.start()][-1])[0].strip()
        count = sum(k.split(" #")[0] == key for k in found)
        line = text.count("\n", 0, m.start()) + 1
        found[f"{key} #{count + 1}" if count else key] = (line, m.group(2))
    return found


RECIPES = recipes()
COVERED: set[str] = set()


def covers(*keys: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as the check of the page's blocks `keys`."""
    COVERED.update(keys)
    return lambda test: test


def recipe(key: str) -> str:
    return RECIPES[key][1]


def extended(base: str, fragment: str) -> str:
    """`base` without the top-level functions that `fragment` defines again, then `fragment`:
    how the page's fragments extend a block ("the `on_connect` of the first example, with
    presence"), since a `Handler` takes each callback once."""

    def functions(code: str) -> list[Any]:
        kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
        return [node for node in ast.parse(code).body if isinstance(node, kinds)]

    again = {node.name for node in functions(fragment)}
    lines = base.splitlines(keepends=True)
    cut = [node for node in functions(base) if node.name in again]
    assert cut, f"the fragment defines none of the base's functions again: {sorted(again)}"
    for node in reversed(cut):
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        del lines[first - 1 : node.end_lineno]
    return "".join(lines) + "\n\n" + fragment


def replaced(code: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert old in code, f"the recipe no longer has {old!r}: change the test with it"
        code = code.replace(old, new)
    return code


def handlers(tmp_path: Path, code: str, name: str = "recipe.py") -> Path:
    """A handlers folder holding `code` as the file `name`."""
    folder = tmp_path / "ws"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(code)
    return folder


def module_of(file: Path) -> ModuleType:
    """The module wsside imported `file` as, found by its file: the name it has is wsside's
    business, and reaching its globals (a session store) is what a test of it needs."""
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == str(file):
            return module
    raise LookupError(f"no module imported from {file}")


async def next_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return msg.json()


class AccessLine(logging.Handler):
    """The first access line (`wsside.access`) that holds `fragment`, as a future."""

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.fragment = fragment
        self.found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def emit(self, record: logging.LogRecord) -> None:
        if self.fragment in record.getMessage() and not self.found.done():
            self.found.set_result(record.getMessage())


@pytest.fixture
async def reads_nothing() -> AsyncIterator[Callable[[Any, str], Awaitable[None]]]:
    """`await reads_nothing(server, path)`: a WebSocket client that completes its handshake,
    then reads nothing more (a laptop asleep): a raw socket with a small receive buffer, so
    that the server's sends back up at once."""
    writers: list[asyncio.StreamWriter] = []

    async def connect(server: Any, path: str) -> None:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.setblocking(False)
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
        reader, writer = await asyncio.open_connection(sock=raw)
        writers.append(writer)
        writer.write(
            f"GET {server.prefix}{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        assert head.startswith(b"HTTP/1.1 101"), head

    yield connect
    for writer in writers:
        writer.close()


class YPage:
    """A page's y-websocket provider, in Python: what y-websocket 3 sends, with pycrdt. On
    opening, sync step 1 and its awareness; the server's step 1 answered with step 2; the
    server's step 2 and updates applied to `text`, its awareness messages to `awareness`, and
    what they change sent back, as y-websocket does (its own state, which the server removed,
    at the next clock). `type` sends an edit as y-websocket sends a transaction's update,
    `renew` its state as y-websocket does every 15 s."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.doc = pycrdt.Doc()
        self.text = self.doc.get("body", type=pycrdt.Text)
        self.awareness = pycrdt.Awareness(self.doc)
        self.awareness.set_local_state({"user": {"name": name}})
        self.awareness.observe(self._changed)
        self.removed: list[int] = []  # the ids the server said had left
        self._echo: list[int] = []
        self.closed: tuple[int, str] | None = None
        self.texts: list[str] = []  # text frames: none must come (a JSON error frame)
        self.changed = asyncio.Condition()  # notified at each message and at the close

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, url: str, name: str) -> YPage:
        page = cls(url, name)
        await page.connect(session)
        return page

    async def connect(self, session: aiohttp.ClientSession) -> None:
        """Open a socket, as y-websocket does at first and after each close (the others'
        awareness is dropped at a close, and comes again)."""
        others = [c for c in self.awareness.states if c != self.doc.client_id]
        self.awareness.remove_awareness_states(others, "closed")
        self.closed = None
        self.ws = await session.ws_connect(self.url, max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())
        await self.ws.send_bytes(pycrdt.create_sync_message(self.doc))
        mine = self.awareness.encode_awareness_update([self.doc.client_id])
        await self.ws.send_bytes(pycrdt.create_awareness_message(mine))

    async def reconnect(self, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        """Connect again, as y-websocket does after a network drop, while the old socket is
        still open at the server (which learns of the drop only when TCP or a heartbeat gives
        up): no longer read here, and returned, for the test to end it."""
        old = self.ws
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.connect(session)
        return old

    async def renew(self) -> None:
        self.awareness.set_local_state(self.awareness.get_local_state())
        mine = self.awareness.encode_awareness_update([self.doc.client_id])
        await self.ws.send_bytes(pycrdt.create_awareness_message(mine))

    async def type(self, text: str) -> None:
        before = self.doc.get_state()
        self.text += text
        await self.ws.send_bytes(pycrdt.create_update_message(self.doc.get_update(before)))

    def sees(self, name: str) -> bool:
        """Whether another page named `name` is in this one's awareness."""
        users = [
            s.get("user", {}) for c, s in self.awareness.states.items() if c != self.doc.client_id
        ]
        return any(user.get("name") == name for user in users)

    async def until(self, ready: Callable[[YPage], bool], what: str) -> None:
        """Wait, at most WAIT seconds, for `ready(self)` to hold after a message."""

        async def holds() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: ready(self) or self.closed is not None)

        try:
            await asyncio.wait_for(holds(), WAIT)
        except asyncio.TimeoutError:
            raise AssertionError(f"{what}: not within {WAIT} s (text {str(self.text)!r})") from None
        assert not self.texts, f"text frames on a binary protocol: {self.texts}"
        assert ready(self), f"{what}: closed {self.closed} first"

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            reply = None
            async with self.changed:
                if message.type is aiohttp.WSMsgType.BINARY:
                    reply = self._apply(message.data)
                elif message.type is aiohttp.WSMsgType.TEXT:
                    self.texts.append(message.data)
                elif message.type is aiohttp.WSMsgType.CLOSE:
                    self.closed = (int(message.data), str(message.extra or ""))
                else:  # the socket ended without a close frame, or this side closed it
                    self.closed = (1006, "")
                self.changed.notify_all()
            if self.closed is not None:
                return
            if reply is not None:
                await self.ws.send_bytes(reply)

    def _apply(self, data: bytes) -> bytes | None:
        if data[0] == pycrdt.YMessageType.SYNC:
            return pycrdt.handle_sync_message(data[1:], self.doc)
        if data[0] == pycrdt.YMessageType.AWARENESS:
            self.awareness.apply_awareness_update(pycrdt.read_message(data[1:]), "server")
            if self._echo:
                echo = self.awareness.encode_awareness_update(self._echo)
                self._echo = []
                return pycrdt.create_awareness_message(echo)
        return None

    def _changed(self, topic: str, event: tuple[dict[str, list[int]], Any]) -> None:
        change, origin = event
        if topic == "update" and origin == "server":
            self._echo += change["added"] + change["updated"] + change["removed"]
            self.removed += change["removed"]
