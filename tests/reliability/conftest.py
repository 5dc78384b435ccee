"""Reliability suite: a real sidecar process (`python -m wsside serve`) on a loopback port,
attacked and loaded by raw-socket clients from the test process.

Long cases are marked `soak` and run only with `--soak` (when this folder is given on the
command line) or `WSSIDE_SOAK=1`. Measured figures are printed at the end of the run.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from .harness import APP, SidecarProcess, serving
from .rawws import Stream

SOAK = os.environ.get("WSSIDE_SOAK") == "1"
FIGURES: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the long reliability cases")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long reliability case (--soak or WSSIDE_SOAK=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        wanted = SOAK or config.getoption("--soak")
    except ValueError:  # this conftest was loaded after option parsing
        wanted = SOAK
    if wanted:
        return
    skip = pytest.mark.skip(reason="soak case: run with --soak or WSSIDE_SOAK=1 (make soak)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("wsside reliability figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {json.dumps(value)}")


@pytest.fixture
def figures() -> dict[str, Any]:
    """Record measured figures here; they are printed in the run's summary."""
    return FIGURES


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SidecarProcess]:
    yield from serving(tmp_path_factory.mktemp("ws"), APP)


@pytest.fixture
async def raw(sidecar: SidecarProcess) -> AsyncIterator[Callable[..., Awaitable[Stream]]]:
    """`await raw(path, extra=...)`: a raw connection to the sidecar, dropped after the test
    whatever happened to it."""
    opened: list[Stream] = []

    async def open_stream(path: str, **kw: Any) -> Stream:
        stream = await Stream.open(sidecar.port, path, **kw)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.abort()
