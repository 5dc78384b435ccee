"""The fast paths: whole small frames that skip the parser, the JSON codec with and without
orjson, and the event loop choice (uvloop when installed, WSSIDE_LOOP to choose).

The frame tests feed a real `WsStream` (the protocol every socket wsside owns ends up with)
byte strings split at every point, and compare what reaches the session with what was sent;
the parser's own checks are in test_reader.py and the Autobahn run.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import itertools
import json
import math
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsside._io.stream import WsStream
from wsside._io.upgrade import _reader_maker
from wsside._protocol import codec

TEXT, BINARY, CONT, CLOSE, PING = 0x1, 0x2, 0x0, 0x8, 0x9
MASK = b"\x37\xfa\x21\x3d"


def frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False, masked: bool = True
) -> bytes:
    n = len(payload)
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    bit = 0x80 if masked else 0
    if n < 126:
        head = bytes([first, bit | n])
    elif n < 65536:
        head = bytes([first, bit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([first, bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    return head + MASK + bytes(b ^ MASK[i & 3] for i, b in enumerate(payload))


class Sink:
    """Records what a stream delivers, in order."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    def on_message(self, data: str | bytes) -> None:
        self.got.append(("message", data))

    def on_frame(self, msg: Any) -> None:
        kind = msg.type.name.lower()
        if kind in ("text", "binary"):
            self.got.append(("message", msg.data))
        elif kind == "close":
            self.got.append(("close", (msg.data, msg.extra or "")))
        else:
            self.got.append((kind, bytes(msg.data)))

    def on_close(self, code: int, reason: str) -> None:
        self.got.append(("close", (code, reason)))

    def on_error(self, exc: BaseException) -> None:
        self.got.append(("error", getattr(exc, "code", None)))

    def on_lost(self) -> None:
        self.got.append(("lost", None))


async def feed(chunks: list[bytes], limit: int = 0) -> tuple[list[tuple[str, Any]], WsStream]:
    stream = WsStream(asyncio.get_running_loop(), None, _reader_maker(limit), limit)
    sink = Sink()
    stream.sink = sink  # as `attach` does, without a transport
    for chunk in chunks:
        stream.data_received(chunk)
    return sink.got, stream


def splits(data: bytes) -> list[list[bytes]]:
    """`data` whole, and cut in two at every point."""
    return [[data]] + [[data[:i], data[i:]] for i in range(1, len(data))]


async def test_whole_small_messages_skip_the_parser() -> None:
    data = frame(TEXT, b'{"a": 1}') + frame(BINARY, b"\x00\xff") + frame(TEXT, "é".encode() * 100)
    got, stream = await feed([data])
    assert got == [("message", '{"a": 1}'), ("message", b"\x00\xff"), ("message", "é" * 100)]
    assert stream.reader is None


async def test_a_close_frame_skips_the_parser() -> None:
    got, stream = await feed([frame(CLOSE, struct.pack("!H", 1000) + "bye ✓".encode())])
    assert got == [("close", (1000, "bye ✓"))]
    assert stream.reader is None
    got, _ = await feed([frame(CLOSE, b"")])
    assert got == [("close", (0, ""))]


async def test_every_split_of_a_mixed_stream_delivers_the_same_sequence() -> None:
    fragmented = frame(TEXT, b"frag", fin=False) + frame(CONT, b"mented")
    data = (
        frame(TEXT, b"one")
        + frame(PING, b"p")
        + fragmented
        + frame(BINARY, bytes(300))
        + frame(TEXT, b"two")
        + frame(CLOSE, struct.pack("!H", 1001))
    )
    expected = [
        ("message", "one"),
        ("ping", b"p"),
        ("message", "fragmented"),
        ("message", bytes(300)),
        ("message", "two"),
        ("close", (1001, "")),
    ]
    for chunks in splits(data):
        got, _ = await feed(chunks)
        assert got == expected, chunks


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(TEXT, b"ok \xff\xfe"), 1007),  # invalid UTF-8 in a whole small frame
        (frame(TEXT, b"x" * 20), 1009),  # over the limit of 10
        (frame(BINARY, b"x" * 200), 1009),  # over the limit, 16-bit length
        (frame(CLOSE, struct.pack("!H", 1005)), 1002),  # a code no close frame may carry
        (frame(CLOSE, struct.pack("!H", 1000) + b"\xc3"), 1007),  # a reason that is not UTF-8
        (frame(CLOSE, b"\x03"), 1002),  # a one-byte close payload
        (frame(TEXT, b"hi", masked=False), 1002),  # client frames must be masked
        (frame(CLOSE, b"", rsv1=True), 1002),
    ],
)
async def test_what_the_fast_path_does_not_take_gets_the_parsers_close_code(
    data: bytes, code: int
) -> None:
    for chunks in splits(frame(TEXT, b"before") + data):
        got, _ = await feed(chunks, limit=10)
        assert got[0] == ("message", "before")
        assert ("error", code) in got, (chunks, got)


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (frame(0x3, b""), 1002),  # a reserved opcode: refused by the C parser
        (frame(TEXT, b"ok \xff\xfe"), 1007),  # by the C parser's decode, or the follower's
        (frame(TEXT, b"hi", masked=False), 1002),  # by the follower
    ],
)
async def test_after_a_failure_what_still_arrives_is_dropped_unreported(
    bad: bytes, code: int
) -> None:
    """The connection may go on reading after its close frame (the client's unread bytes
    would otherwise turn the TCP close into a reset): nothing of it reaches the session."""
    after = frame(TEXT, b"after") + frame(TEXT, b"x", masked=False) + frame(CLOSE, b"")
    for chunks in splits(frame(TEXT, b"before") + bad):
        got, _ = await feed([*chunks, after, after])
        assert got == [("message", "before"), ("error", code)], chunks


MESSAGES = st.lists(
    st.one_of(
        st.tuples(st.just(TEXT), st.text(max_size=300)),
        st.tuples(st.just(BINARY), st.binary(max_size=300)),
        st.tuples(st.just(PING), st.binary(max_size=20)),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(messages=MESSAGES, cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6))
def test_any_split_of_any_valid_stream_is_delivered_in_order(
    messages: list[tuple[int, Any]], cuts: list[int]
) -> None:
    data = b"".join(
        frame(op, value.encode() if isinstance(value, str) else value) for op, value in messages
    )
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points) if b > a]
    got, _ = asyncio.run(feed(chunks))
    expected = [("message", v) if op != PING else ("ping", v) for op, v in messages]
    assert got == expected


# ---- the JSON codec, with and without orjson ------------------------------------------------

HAS_ORJSON = importlib.util.find_spec("orjson") is not None
ENGINES = [
    "json",
    pytest.param("orjson", marks=pytest.mark.skipif(not HAS_ORJSON, reason="orjson not installed")),
]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Any:
    before = codec.JSON_ENGINE
    assert codec.set_json_engine(request.param) == request.param
    yield request.param
    codec.set_json_engine(before)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.integers(-5, 5), inner, max_size=4)
    ),
    max_leaves=12,
)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES)
def test_both_encoders_send_the_same_values_and_refuse_the_same_ones(value: Any) -> None:
    outcomes = []
    for name in ("json", "orjson") if HAS_ORJSON else ("json",):
        codec.set_json_engine(name)
        try:
            opcode, payload = codec.encode(value)
        except TypeError:
            outcomes.append("refused")
        else:
            assert opcode == TEXT
            # A str goes as it is; everything else as JSON.
            outcomes.append(payload.decode() if isinstance(value, str) else json.loads(payload))
    codec.set_json_engine("orjson")  # the default (the standard library without orjson)
    if _has_non_finite(value):
        assert outcomes == ["refused"] * len(outcomes)  # NaN and Infinity have no JSON spelling
    else:
        assert all(o == outcomes[0] for o in outcomes)
        # What the standard library makes of it.
        assert outcomes[0] == (value if isinstance(value, str) else json.loads(json.dumps(value)))


def test_the_encoders_refuse_what_is_not_json(engine: str) -> None:
    import dataclasses
    import datetime

    @dataclasses.dataclass
    class Point:
        x: int

    # A dataclass instance is sent (tests/test_send_dataclass.py); its class is not.
    for value in (Point, {"at": datetime.date(2026, 1, 1)}, [object()], {"n": float("nan")}):
        with pytest.raises(TypeError):
            codec.encode(value)
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="Circular"):
        codec.encode(loop)
    assert codec.encode({"s": "é\n", 1: None}) == (TEXT, '{"s":"é\\n","1":null}'.encode())


def test_a_lone_surrogate_goes_as_json_s_escape_with_either_encoder(engine: str) -> None:
    """Half an emoji a page cut arrives as "\\ud83d": UTF-8 cannot hold it, JSON's escape can."""
    value = codec.decode_text('{"text":"Olá \\ud83d","\\udc00":["\\ud83d\\ude00"]}')
    assert value == {"text": "Olá \ud83d", "\udc00": ["\U0001f600"]}
    assert codec.encode(value) == (TEXT, '{"text":"Olá \\ud83d","\\udc00":["😀"]}'.encode())
    with pytest.raises(TypeError, match=r"lone surrogate \(0xd83d at 4"):
        codec.encode(value["text"])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a":[1,2.5,"x"]}', {"a": [1, 2.5, "x"]}),
        (" [1, 2] \n", [1, 2]),
        ("12345678901234567890123", 12345678901234567890123),  # exact, not a float
        ("[NaN]", "[NaN]"),
        ("Infinity", "Infinity"),
        ('{"a":1} trailing', '{"a":1} trailing'),
        ("[1,2", "[1,2"),
        ("hello", "hello"),
        ("", ""),
        ('"\\ud800"', "\ud800"),
        ("[" * 500 + "]" * 500, functools.reduce(lambda inner, _: [inner], range(499), [])),
        ("[" * 100_000 + "]" * 100_000, "[" * 100_000 + "]" * 100_000),  # deeper than it parses
    ],
)
def test_text_is_read_as_json_only_when_it_is_json(text: str, value: Any) -> None:
    assert codec.decode_text(text) == value


# ---- the event loop -------------------------------------------------------------------------

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


def _serve_banner(env: dict[str, str], tmp_path: Any) -> subprocess.CompletedProcess[str]:
    """`wsside serve` until its start-up line, then SIGINT: its stderr."""
    handlers = tmp_path / "ws"
    handlers.mkdir(exist_ok=True)
    code = (
        "import os, signal, sys, threading\n"
        "from wsside.cli import main\n"
        "def stop_when_serving():\n"
        "    import time\n"
        "    while 'serving on' not in open(os.environ['LOG']).read():\n"
        "        time.sleep(0.05)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "threading.Thread(target=stop_when_serving, daemon=True).start()\n"
        "sys.stderr = open(os.environ['LOG'], 'a', buffering=1)\n"
        "sys.argv = ['wsside', 'serve', '--handlers', sys.argv[1], '--port', '0', '--no-reload']\n"
        "main()\n"
    )
    log = tmp_path / "stderr.log"
    log.write_text("")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(handlers)],
        env={**os.environ, **env, "LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout, log.read_text() + proc.stderr
    )


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop not installed")
def test_serve_runs_on_uvloop_when_installed_and_on_asyncio_when_asked(tmp_path: Any) -> None:
    default = _serve_banner({}, tmp_path)
    assert "serving on" in default.stderr and "(uvloop, " in default.stderr, default.stderr
    chosen = _serve_banner({"WSSIDE_LOOP": "asyncio", "WSSIDE_JSON": "json"}, tmp_path)
    assert "(asyncio, json)" in chosen.stderr, chosen.stderr


@pytest.mark.parametrize(
    "variable, line",
    [
        ("WSSIDE_LOOP=trio", "wsside: WSSIDE_LOOP='trio' is not one of auto, asyncio, uvloop"),
        ("WSSIDE_JSON=ujson", "wsside: WSSIDE_JSON='ujson' is not one of auto, json, orjson"),
    ],
)
def test_an_unknown_engine_choice_is_one_line_and_exit_2(
    tmp_path: Any, variable: str, line: str
) -> None:
    handlers = tmp_path / "ws"
    handlers.mkdir()
    name, _, value = variable.partition("=")
    proc = subprocess.run(
        [sys.executable, "-m", "wsside", "serve", "--handlers", str(handlers), "--port", "0"],
        env={**os.environ, name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [line]


def test_an_engine_asked_for_but_missing_names_the_install_for_the_python_that_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command installs the extra into the Python that serves, from where this wsside
    came (the tests': this repository, editable): `pip install 'wsside[speed]'` would have
    replaced it with a release."""
    from wsside._edge.loop import LoopChoiceError, loop_factory

    monkeypatch.setitem(sys.modules, "uvloop", None)
    monkeypatch.setenv("WSSIDE_LOOP", "uvloop")
    with pytest.raises(LoopChoiceError) as missing:
        loop_factory()
    repo = Path(__file__).resolve().parent.parent
    assert str(missing.value) == (
        "WSSIDE_LOOP=uvloop but uvloop is not installed: "
        f"{sys.executable} -m pip install -e '{repo}[speed]'"
    )


def test_an_unknown_engine_choice_under_vite_is_one_line_too(tmp_path: Any) -> None:
    (tmp_path / "ws").mkdir()
    shim, sidecar = socket.socketpair()
    with shim, sidecar:
        proc = subprocess.run(
            [sys.executable, "-m", "wsside", "serve", "--ipc", "--no-reload"],
            env={
                **os.environ,
                "NODE_CHANNEL_FD": str(sidecar.fileno()),
                "WSSIDE_SECRET": "s" * 43,
                "WSSIDE_JSON": "ujson",
            },
            pass_fds=(sidecar.fileno(),),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "wsside: WSSIDE_JSON='ujson' is not one of auto, json, orjson"
    ]
