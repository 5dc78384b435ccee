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

import pytest

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


def test_the_same_handlers_give_the_same_text() -> None:
    project = GOLDEN / "constructs"
    assert generate(project) == generate(project)


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
    assert done.stderr == "wsside types: wrote wsside-env.d.ts\n"
    before = out.stat().st_mtime_ns
    again = run_types("--out", "wsside-env.d.ts", cwd=project)
    assert again.returncode == 0
    assert again.stderr == "wsside types: wsside-env.d.ts is up to date\n"
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
        f"wsside types: {tmp_path / 'ws' / 'chat.py'}:7: TypeError: receives: ChatIn.author: "
        "Callable[[], str] is not a message type; "
    )
    assert not (tmp_path / "wsside-env.d.ts").exists()


def test_wsside_types_reports_an_unwritable_file_in_one_line(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "untyped" / "ws", tmp_path / "ws")
    done = run_types("--out", "missing/wsside-env.d.ts", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "wsside types: cannot write missing/wsside-env.d.ts: No such file or directory\n"
    )


def test_wsside_types_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "wsside.toml").write_text("handlers = 3\n")
    done = run_types(cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "handlers" in done.stderr
