"""The TypeScript generator (`wsside-env.d.ts`): golden files for every construct and pattern
kind, and `wsside types` as a user runs it.

Each folder `tests/golden/<case>/` is a project whose `ws/` holds handler files; its expected
output is `tests/golden/<case>.d.ts`. After an intended change of the output, rewrite them
with `WSSIDE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_typescript.py` and review
the diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from wsside._runtime.events import subscribe, unsubscribe
from wsside._runtime.registry import Registry
from wsside._runtime.typescript import render
from wsside.pattern import Pattern

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
WSSIDE = Path(sys.executable).with_name("wsside")


def generate(project: Path) -> str:
    registry = Registry(project / "ws")
    registry.load_all()
    assert not registry.errors, registry.errors
    return render(registry.endpoints(), project / "ws", project)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    text = generate(GOLDEN / case)
    golden = GOLDEN / f"{case}.d.ts"
    if os.environ.get("WSSIDE_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_the_example_of_docs_types_md_is_what_the_generator_writes(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[1] / "docs" / "types.md").read_text(encoding="utf-8")
    python = doc.split("```python\n", 1)[1].split("```", 1)[0]
    typescript = doc.split("```ts\n", 1)[1].split("```", 1)[0]
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "chat.py").write_text(python, encoding="utf-8")
    assert generate(tmp_path) == typescript


def test_the_command_in_the_header_names_a_handlers_folder_other_than_ws(tmp_path: Path) -> None:
    """Run beside the file, the header's command writes it again: with `--handlers` when the
    folder is not `ws` (the plugin's `handlers` option, which no config file may say)."""
    web, realtime = tmp_path / "apps" / "web", tmp_path / "services" / "real time"
    web.mkdir(parents=True)
    realtime.mkdir(parents=True)
    header = render([], realtime, web).splitlines()[2]
    command = "wsside types --out wsside-env.d.ts --handlers '../../services/real time'"
    assert header == f"// when a handler file changes; without Vite: {command}"
    assert render([], web / "ws", web).splitlines()[2].endswith("--out wsside-env.d.ts")


def test_the_same_handlers_give_the_same_text() -> None:
    project = GOLDEN / "constructs"
    assert generate(project) == generate(project)


CHAT = """\
from typing import Literal, TypedDict
from wsside import Handler

class ChatMessage(TypedDict):
    type: Literal["chat-message"]
    text: str

chat = Handler({pattern!r}, sends=ChatMessage)
"""


def namespaces(text: str) -> dict[str, str]:
    """Each namespace's name, by the pattern its comment names."""
    found = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("export declare namespace "):
            title = next(ln for ln in reversed(lines[:i]) if ln.startswith(("/** /", " * /")))
            pattern = title.removeprefix("/** ").removeprefix(" * ").split(" (")[0]
            found[pattern] = line.split()[3]
    return found


@pytest.mark.parametrize("new_file", ["a_typed.py", "z_typed.py"])
def test_another_file_never_takes_an_endpoints_namespace_name(
    tmp_path: Path, new_file: str
) -> None:
    """/ws/typed-chat is WsTypedChat alone; a file that declares /ws/typed/chat, sorted
    before it or after it, takes the name from neither: both are named from their own
    pattern, and nothing is named WsTypedChat any more (a page importing it gets an error,
    not the other endpoint's ChatMessage)."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "m_chat.py").write_text(CHAT.format(pattern="/ws/typed-chat"))
    assert namespaces(generate(tmp_path)) == {"/ws/typed-chat": "WsTypedChat"}
    (tmp_path / "ws" / new_file).write_text(CHAT.format(pattern="/ws/typed/chat"))
    text = generate(tmp_path)
    assert namespaces(text) == {
        "/ws/typed-chat": "Ws_Typed_dash_Chat",
        "/ws/typed/chat": "Ws_Typed_Chat",
    }
    assert "WsTypedChat" not in text.replace("Not WsTypedChat:", "")
    assert "Not WsTypedChat: /ws/typed/chat would have that name too" in text


def test_loading_a_file_that_makes_names_collide_warns_with_both_patterns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "a.py").write_text(CHAT.format(pattern="/ws/typed-chat"))
    (tmp_path / "ws" / "b.py").write_text(
        CHAT.format(pattern="/ws/typed/chat") + "plain = Handler('/ws/plain', sends=str)\n"
    )
    (tmp_path / "ws" / "c.py").write_text("from wsside import Handler\nx = Handler('/ws/x')\n")
    warnings: list[str] = []

    def heard(event: dict[str, Any]) -> None:
        if event["type"] == "log" and event["level"] == "warning":
            warnings.append(event["message"])

    subscribe(heard)
    try:
        registry = Registry(tmp_path / "ws")
        registry.load_all()
        assert warnings == [
            "wsside-env.d.ts: /ws/typed-chat (ws/a.py:8) and /ws/typed/chat (ws/b.py:8) would "
            "both be named WsTypedChat, so neither is (a page importing WsTypedChat gets a type "
            "error): they are named Ws_Typed_dash_Chat and Ws_Typed_Chat"
        ]
        registry.load_file(tmp_path / "ws" / "c.py")  # no part in it: no warning again
        assert len(warnings) == 1
        registry.load_file(tmp_path / "ws" / "a.py")  # one of the two: again
        assert len(warnings) == 2
    finally:
        unsubscribe(heard)


def test_wsside_types_prints_the_warning_and_writes_what_render_writes(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "collisions", tmp_path / "app")
    done = run_types(cwd=tmp_path / "app")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (GOLDEN / "collisions.d.ts").read_text(encoding="utf-8")
    warned = done.stderr.splitlines()
    assert warned[0] == (
        "wsside types: wsside-env.d.ts: /ws/typed-chat (ws/a_chat.py:13), /ws/typed/chat "
        "(ws/b_chat.py:15) and /ws/typed_chat (ws/b_chat.py:16) would all be named "
        "WsTypedChat, so none is (a page importing WsTypedChat gets a type error): they are "
        "named Ws_Typed_dash_Chat, Ws_Typed_Chat and Ws_Typed_underscore_Chat"
    )
    # One per name shared, and the routing warning the golden project earns on the way.
    assert len([w for w in warned if "wsside-env.d.ts:" in w]) == 7, done.stderr
    assert [w for w in warned if "wsside-env.d.ts:" not in w] == [
        "wsside types: '/ws/rooms' (ws/b_chat.py:21) is shadowed by '/ws/rooms/**' "
        "(ws/b_chat.py:20), which is declared first and matches all its paths, so it never "
        "gets a connection: declare '/ws/rooms' before '/ws/rooms/**' (files load in sorted "
        "order), or narrow the earlier pattern"
    ]


@pytest.mark.parametrize(
    ("pattern", "pieces"),
    [
        ("/ws/chat", ("/ws/chat",)),
        ("/ws/rooms/{room}", ("/ws/rooms/", None)),
        ("/ws/rooms/{id:\\d+}/log", ("/ws/rooms/", None, "/log")),
        ("/ws/*/x?y", ("/ws/", None, "/x", None, "y")),
        ("/ws/**", ("/ws/", None)),
        ("/**/{a}{b}", ("/", None, "/", None)),
        ("/", ("/",)),
    ],
)
def test_pattern_pieces(pattern: str, pieces: tuple[str | None, ...]) -> None:
    assert Pattern(pattern).pieces() == pieces


def run_types(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WSSIDE), "types", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_wsside_types_writes_the_file_and_leaves_an_unchanged_one_alone(tmp_path: Path) -> None:
    project = tmp_path / "app"
    shutil.copytree(GOLDEN / "constructs", project)
    done = run_types("--out", "wsside-env.d.ts", cwd=project)
    assert done.returncode == 0, done.stderr
    out = project / "wsside-env.d.ts"
    assert out.read_text(encoding="utf-8") == (GOLDEN / "constructs.d.ts").read_text(
        encoding="utf-8"
    )
    # The golden project has two classes named User on purpose: said, with the names each got.
    assert done.stderr == (
        "wsside types: wsside-env.d.ts: /ws/chat (ws/chat.py:65) uses two classes named User, "
        "chat.User (ws/chat.py:13) and _shared.User (ws/_shared.py:6): they are named "
        "WsChat.User and WsChat.User2, in the order it first uses them (reordering receives= "
        "or sends= swaps the names under the page's code); rename one of them\n"
        "wsside types: wrote wsside-env.d.ts\n"
    )
    before = out.stat().st_mtime_ns
    again = run_types("--out", "wsside-env.d.ts", cwd=project)
    assert again.returncode == 0
    assert again.stderr.endswith("\nwsside types: wsside-env.d.ts is up to date\n")
    assert out.stat().st_mtime_ns == before
    printed = run_types(cwd=project)
    assert printed.stdout == out.read_text(encoding="utf-8")


def test_wsside_types_reads_handlers_and_config_options(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "untyped" / "ws", tmp_path / "py" / "handlers")
    (tmp_path / "wsside.toml").write_text('handlers = "py/handlers"\n')
    by_config = run_types(cwd=tmp_path)
    assert by_config.returncode == 0, by_config.stderr
    assert "handlers in py/handlers/" in by_config.stdout
    by_option = run_types("--handlers", str(GOLDEN / "patterns" / "ws"), cwd=tmp_path)
    assert "'/ws/chat': { receives: WsChat.Receives; sends: WsChat.Sends }" in by_option.stdout


def test_wsside_types_without_a_handlers_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    given = run_types("--handlers", "nope", cwd=tmp_path)
    assert (given.returncode, given.stdout) == (2, "")
    assert given.stderr == (
        "wsside types: --handlers nope: no such folder (give the folder of handler files)\n"
    )
    default = run_types(cwd=tmp_path)
    assert (default.returncode, default.stdout) == (2, "")
    assert default.stderr.startswith(f"wsside types: handlers folder {tmp_path / 'ws'}: no such")


def test_wsside_types_reports_a_load_error_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """The file is named as Vite and `wsside serve` name it: from the current folder."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "chat.py").write_text(
        textwrap.dedent("""\
        from typing import Callable, TypedDict
        from wsside import Handler

        class ChatIn(TypedDict):
            author: Callable[[], str]

        chat = Handler("/ws/chat", receives=ChatIn)
    """)
    )
    done = run_types("--out", "wsside-env.d.ts", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(
        "wsside types: ws/chat.py:7: TypeError: receives: ChatIn.author: "
        "Callable[[], str] is not a message type; "
    )
    assert not (tmp_path / "wsside-env.d.ts").exists()


def test_wsside_types_reports_an_unwritable_file_in_one_line(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "untyped" / "ws", tmp_path / "ws")
    done = run_types("--out", "missing/wsside-env.d.ts", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == "wsside types: cannot write missing/wsside-env.d.ts: no folder missing\n"
    # Where the folder is there but the file cannot be written: the system's words.
    (tmp_path / "here" / "wsside-env.d.ts").mkdir(parents=True)  # a folder in its place
    done = run_types("--out", "here/wsside-env.d.ts", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == "wsside types: cannot write here/wsside-env.d.ts: Is a directory\n"


def test_wsside_types_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "wsside.toml").write_text("handlers = 3\n")
    done = run_types(cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "handlers" in done.stderr


ERROR_FRAME_RULE = """\
from typing import Literal, TypedDict
from wsside import Handler

class Reply(TypedDict):
    type: Literal["reply"]

doc = Handler(r"/ws/doc/{room:[\\w-]+}", receives=bytes, sends=bytes)
log = Handler("/ws/log", sends=str)
both = Handler("/ws/both", sends=str | bytes)
maybe = Handler("/ws/maybe", sends=str | None)
reply = Handler("/ws/reply", sends=Reply)
counts = Handler("/ws/counts", sends=dict[str, int])
"""


def test_wsside_types_adds_the_error_frame_where_the_runtime_sends_it(tmp_path: Path) -> None:
    """No `ErrorFrame` in a binary or plain-text `Sends` (all bytes, str and string
    literals), which the runtime never sends it on (tests/test_binary_error_frame.py); any
    JSON in it keeps it."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "protocols.py").write_text(ERROR_FRAME_RULE)
    done = run_types(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    sends, pattern = {}, ""
    for line in done.stdout.splitlines():
        if line.startswith("/** /ws/"):
            pattern = line.removeprefix("/** ").split(" (")[0]
        elif line.startswith("  type Sends = "):
            sends[pattern] = line.strip()
    assert sends == {
        "/ws/doc/{room:[\\w-]+}": "type Sends = ArrayBuffer",
        "/ws/log": "type Sends = string",
        "/ws/both": "type Sends = string | ArrayBuffer",
        "/ws/maybe": "type Sends = string | null | ErrorFrame",
        "/ws/reply": "type Sends = Reply | ErrorFrame",
        "/ws/counts": "type Sends = Record<string, number> | ErrorFrame",
    }
