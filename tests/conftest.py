"""Shared fixtures: an in-process sidecar on a real loopback port, fed real handler files.

Handler files talk back to the test through the `probe` module (a real module registered
under that name), so tests wait on what the server saw instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import textwrap
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cluster import RedisServer
from wsside._edge.server import Sidecar
from wsside._runtime import events
from wsside._runtime.settings import Settings


class Probe(types.ModuleType):
    """What handler code records (`probe.record(...)`) and tests await (`await probe.next(...)`)."""

    def __init__(self) -> None:
        super().__init__("probe")
        self.records: list[tuple[Any, ...]] = []
        self._changed: asyncio.Event | None = None

    def reset(self) -> None:
        self.records.clear()
        self._changed = asyncio.Event()

    def record(self, *item: Any) -> None:
        self.records.append(item)
        if self._changed is not None:
            self._changed.set()

    def all(self, kind: str) -> list[tuple[Any, ...]]:
        return [r for r in self.records if r[0] == kind]

    async def wait(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[tuple[Any, ...]]:
        async def until() -> list[tuple[Any, ...]]:
            while len(self.all(kind)) < count:
                assert self._changed is not None
                self._changed.clear()
                await self._changed.wait()
            return self.all(kind)

        return await asyncio.wait_for(until(), timeout)


PROBE = Probe()
sys.modules["probe"] = PROBE


@pytest.fixture(autouse=True, scope="session")
def _subprocess_temp_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Processes the tests start make their temporary folders under pytest's own (which keeps
    the last three runs): a sidecar a test kills cannot remove its socket folder itself."""
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp_path_factory.mktemp("tmp"))
    yield
    if before is None:
        del os.environ["TMPDIR"]
    else:
        os.environ["TMPDIR"] = before


class Served:
    def __init__(self, sidecar: Sidecar, port: int, events_seen: list[dict[str, Any]]) -> None:
        self.sidecar = sidecar
        self.port = port
        self.events = events_seen
        self.base = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession()
        # Kept until teardown: a socket the test ignores (`await s.connect(...)`) would
        # otherwise be garbage-collected, and its connection closed, mid-test.
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []

    def url(self, path: str) -> str:
        return self.base + path

    async def connect(self, path: str, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
        kwargs.setdefault("autoping", True)
        kwargs.setdefault("timeout", aiohttp.ClientWSTimeout(ws_close=5.0))
        ws = await self.session.ws_connect(self.url(path), **kwargs)
        self.sockets.append(ws)
        return ws

    async def close_sockets(self) -> None:
        """Close the sockets `connect` opened that are still open."""
        for ws in self.sockets:
            if not ws.closed:
                await ws.close()

    async def close(self) -> None:
        await self.close_sockets()
        await self.session.close()
        await self.sidecar.close()


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A `redis-server` shared by the tests of one module (each test its own room names)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def probe() -> Probe:
    PROBE.reset()
    return PROBE


@pytest.fixture
async def serve(tmp_path: Path, probe: Probe) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """`await serve(code, ...)`: each code string becomes a handler file, served on a free port;
    keyword arguments are `Settings` fields (`log_level="debug"`)."""
    sidecars: list[Sidecar] = []
    started: list[Served] = []
    collected: list[dict[str, Any]] = []
    events.subscribe(collected.append)

    async def start(
        *files: str,
        prefixes: tuple[str, ...] = ("/api",),
        names: list[str] | None = None,
        **settings: Any,
    ) -> Served:
        folder = tmp_path / f"ws{len(sidecars)}"
        folder.mkdir()
        for i, code in enumerate(files):
            name = names[i] if names else f"h{i}.py"
            (folder / name).write_text(textwrap.dedent(code))
        sidecar = Sidecar(
            Settings(handlers_dir=folder, prefixes=prefixes, reload=False, **settings)
        )
        # Closed at the end even if starting it fails half-way (a handler file that does not
        # load, a port it cannot take): Sidecar.close() takes what start() got to.
        sidecars.append(sidecar)
        await sidecar.start()
        site = await sidecar.serve_tcp("127.0.0.1", 0)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        served = Served(sidecar, port, collected)
        started.append(served)
        return served

    try:
        yield start
    finally:
        try:
            # The sockets `connect` opened, then the sessions, then the sidecars, newest first;
            # each whatever the others do.
            async with contextlib.AsyncExitStack() as closing:
                for sidecar in sidecars:
                    closing.push_async_callback(sidecar.close)
                for served in started:
                    closing.push_async_callback(served.session.close)
                for served in started:
                    closing.push_async_callback(served.close_sockets)
        finally:
            events.unsubscribe(collected.append)
