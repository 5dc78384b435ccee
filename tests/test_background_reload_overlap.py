"""A reload and the background tasks of the version it replaces: the new version's tasks
start once the old ones' `finally` has ended (at most `STOP_WAIT` seconds after the cancel,
then a warning names the one still running), while the new code answers the open
connections at once. And a push from such a `finally` still reaches them.

Real reloads: an in-process sidecar watching its handlers folder (saves are atomic renames,
as editors make them), or a real `wsside serve`. Handler code records to the `probe` module
(conftest.py) and wsside's events are recorded there too, in one order.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from wsside._edge.server import Sidecar
from wsside._runtime import background, events
from wsside._runtime.settings import Settings

if TYPE_CHECKING:
    from conftest import Probe

# The old version's `finally` waits for `probe.gate`, which the test sets, then awaits once
# more (a last write) before it records that it ended.
OVERLAP = """
import asyncio

import probe
from wsside import Handler

ov = Handler("/ws/overlap")
V = "{version}"


@ov.on_message
def answer(conn, data):
    conn.send({{"v": V}})


@ov.background
async def prod(handler):
    probe.record(V + " started")
    try:
        await asyncio.Event().wait()
    finally:
        probe.record(V + " finally")
        await probe.gate.wait()
        await asyncio.sleep(0)
        probe.record(V + " ended")
"""


def overlap(version: str) -> str:
    return textwrap.dedent(OVERLAP.format(version=version)).lstrip()


def save(path: Path, text: str) -> None:
    """Write a handler file as editors save it (through a rename)."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


class Live:
    """An in-process sidecar with reload on, serving `folder`; its events go to `probe`."""

    def __init__(self, folder: Path, probe: Probe) -> None:
        self.folder = folder
        self.probe = probe
        self.sidecar: Sidecar | None = None
        self.session = aiohttp.ClientSession()
        self.base = ""

    def __call__(self, event: dict[str, Any]) -> None:
        self.probe.record(event["type"], event)

    async def start(self) -> None:
        self.sidecar = Sidecar(Settings(handlers_dir=self.folder))
        await self.sidecar.start()
        site = await self.sidecar.serve_tcp("127.0.0.1", 0)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}/api"

    async def save(self, name: str, text: str, kind: str = "reloaded") -> None:
        """Save `name` and wait for the event of `kind` it makes."""
        count = len(self.probe.all(kind)) + 1
        save(self.folder / name, text)
        await self.probe.wait(kind, count)

    async def reloaded(self, name: str) -> None:
        """Wait for a `reloaded` event of the file `name` (a refused one that loads later,
        or one added)."""
        count = 0
        while True:
            count += 1
            _, event = (await self.probe.wait("reloaded", count))[count - 1]
            if Path(event["file"]).name == name:
                return

    async def ask(self, ws: aiohttp.ClientWebSocketResponse) -> Any:
        await ws.send_str("?")
        return await asyncio.wait_for(ws.receive_json(), 5)

    def at(self, marker: str) -> int:
        """Where `marker` is among the records (ValueError: not recorded)."""
        return self.probe.records.index((marker,))

    def markers(self) -> list[str]:
        return [r[0] for r in self.probe.records if len(r) == 1]

    def warnings(self) -> list[str]:
        return [e["message"] for _, e in self.probe.all("log") if e["level"] == "warning"]


@pytest.fixture
async def live(
    tmp_path: Path, probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Live]:
    gate = asyncio.Event()
    monkeypatch.setattr(probe, "gate", gate, raising=False)
    folder = tmp_path / "ws"
    folder.mkdir()
    served = Live(folder, probe)
    events.subscribe(served)
    try:
        yield served
    finally:
        gate.set()  # every old `finally` ends, so closing waits for none
        await served.session.close()
        if served.sidecar is not None:
            await served.sidecar.close()
        events.unsubscribe(served)


async def test_the_new_tasks_start_once_the_old_finally_has_ended(live: Live) -> None:
    save(live.folder / "overlap.py", overlap("a"))
    await live.start()
    await live.probe.wait("a started")
    ws = await live.session.ws_connect(live.base + "/ws/overlap")
    assert await live.ask(ws) == {"v": "a"}

    await live.save("overlap.py", overlap("b"))
    await live.probe.wait("a finally")
    # The connection is answered by the new code at once: only the tasks wait.
    assert await live.ask(ws) == {"v": "b"}
    assert live.markers() == ["a started", "a finally"]

    live.probe.gate.set()
    await live.probe.wait("b started")
    assert live.markers() == ["a started", "a finally", "a ended", "b started"]
    assert live.warnings() == []
    assert live.sidecar is not None
    assert len(live.sidecar.registry.background.running("/ws/overlap")) == 1


async def test_a_chain_of_saves_starts_only_the_newest_once_the_oldest_has_ended(
    live: Live,
) -> None:
    save(live.folder / "overlap.py", overlap("a"))
    await live.start()
    await live.probe.wait("a started")
    ws = await live.session.ws_connect(live.base + "/ws/overlap")

    await live.save("overlap.py", overlap("b"))
    await live.probe.wait("a finally")
    await live.save("overlap.py", overlap("c"))  # while b's tasks still wait for a's
    assert await live.ask(ws) == {"v": "c"}
    assert live.markers() == ["a started", "a finally"]

    live.probe.gate.set()
    await live.probe.wait("c started")
    assert live.markers() == ["a started", "a finally", "a ended", "c started"]  # b: never
    assert live.warnings() == []
    assert live.sidecar is not None
    assert len(live.sidecar.registry.background.running("/ws/overlap")) == 1


async def test_a_file_renamed_starts_its_tasks_once_the_old_name_s_have_ended(
    live: Live,
) -> None:
    # The same pattern under another name: the renamed file's tasks replace the old file's.
    save(live.folder / "overlap.py", overlap("a"))
    await live.start()
    await live.probe.wait("a started")
    save(live.folder / "renamed.py", overlap("b"))
    (live.folder / "overlap.py").unlink()
    await live.reloaded("renamed.py")
    await live.probe.wait("a finally")
    ws = await live.session.ws_connect(live.base + "/ws/overlap")
    assert await live.ask(ws) == {"v": "b"}
    assert live.markers() == ["a started", "a finally"]

    live.probe.gate.set()
    await live.probe.wait("b started")
    assert live.markers() == ["a started", "a finally", "a ended", "b started"]


async def test_a_finally_longer_than_the_wait_is_named_and_the_new_tasks_start(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "STOP_WAIT", 0.2)
    save(live.folder / "overlap.py", overlap("a"))
    await live.start()
    await live.probe.wait("a started")

    await live.save("overlap.py", overlap("b"))
    await live.probe.wait("b started")  # a's finally still waits for the gate
    assert live.markers() == ["a started", "a finally", "b started"]
    line = OVERLAP.splitlines().index("@ov.background")  # lines counted from the lstrip
    assert live.warnings() == [
        f"background task prod ({live.folder / 'overlap.py'}:{line}) of "
        "Handler('/ws/overlap') is still in its finally 0.2 s after its file's reload "
        "cancelled it: the new version's background tasks start now, so both run at once"
    ]
    warned = next(i for i, r in enumerate(live.probe.records) if r[0] == "log")
    assert warned < live.at("b started")


# The newcomer's example: a producer whose `finally` still broadcasts.
PRODUCER = """
import asyncio
from wsside import Handler
ov = Handler("/ws/overlap")
V = "{version}"
@ov.background
async def prod(handler):
    try:
        while True:
            handler.broadcast({{"v": V}})
            await asyncio.sleep(0.02)
    finally:
        await asyncio.sleep(0)
        handler.broadcast({{"v": V, "finally": 0}})
"""


async def test_a_broadcast_from_a_cancelled_task_s_finally_reaches_the_connections(
    tmp_path: Path,
) -> None:
    """The old version serves its pushes until its cancelled tasks have ended: what its
    `finally` sends reaches the open connections, before the new version's first push, and no
    warning says otherwise. Before, the old version stopped being served at the save, its
    `finally`'s broadcast reached no one, and a warning said so."""
    (tmp_path / "ws").mkdir()
    save(tmp_path / "ws" / "overlap.py", PRODUCER.format(version="a").lstrip())
    port = free_port()
    server = await ServeProcess.start("--port", str(port), cwd=tmp_path)
    try:
        await server.expect("serving on")
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/overlap")
            assert await ws.receive_json(timeout=5) == {"v": "a"}
            save(tmp_path / "ws" / "overlap.py", PRODUCER.format(version="b").lstrip())
            got = [await ws.receive_json(timeout=5)]
            while got[-1] != {"v": "b"}:
                got.append(await ws.receive_json(timeout=5))
            await ws.close()
            await server.expect('"WebSocket /api/ws/overlap" closed')
    finally:
        await server.stop()
    assert {"v": "a", "finally": 0} in got, got
    assert got.index({"v": "a", "finally": 0}) == len(got) - 2, got  # last of a, then b
    assert not [line for line in server.lines if "was broadcast to" in line], server.lines
