"""`wsside types --out FILE --check`: CI's question for a project that commits
`wsside-env.d.ts`, whether the file is what its handlers give now. Asked of the real command,
in a project whose handler changes under it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WSSIDE = Path(sys.executable).with_name("wsside")

HANDLER = """\
from typing import Literal, TypedDict

from wsside import Handler


class Move(TypedDict):
    type: Literal["move"]
    x: int
{extra}

game = Handler("/ws/game", receives=Move)
"""


def project(folder: Path, extra: str = "") -> Path:
    (folder / "ws").mkdir(parents=True, exist_ok=True)
    (folder / "ws" / "game.py").write_text(HANDLER.format(extra=extra), encoding="utf-8")
    return folder


def types(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WSSIDE), "types", *args], cwd=folder, capture_output=True, text=True, timeout=60
    )


def test_a_file_that_is_what_the_handlers_give_passes(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert types(root, "--out", "wsside-env.d.ts").returncode == 0
    done = types(root, "--out", "wsside-env.d.ts", "--check")
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == "wsside types: wsside-env.d.ts is up to date\n"


def test_a_handler_changed_since_fails_with_the_difference_and_writes_nothing(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    assert types(root, "--out", "wsside-env.d.ts").returncode == 0
    committed = (root / "wsside-env.d.ts").read_text(encoding="utf-8")
    project(root, extra="    y: int\n")
    done = types(root, "--out", "wsside-env.d.ts", "--check")
    assert done.returncode == 1
    assert done.stderr == (
        "wsside types: wsside-env.d.ts is not what the handlers give now (the difference "
        "above): wsside types --out wsside-env.d.ts writes it anew, then commit it\n"
    )
    added = [line for line in done.stdout.splitlines() if line.startswith("+")]
    assert added == [
        "+++ wsside-env.d.ts (what the handlers give)",
        "+    /** int: a whole number (1.5 is refused) */",
        "+    y: number",
    ]
    removed = [line for line in done.stdout.splitlines() if line.startswith("-")]
    assert removed == ["--- wsside-env.d.ts (as it is)"]
    assert (root / "wsside-env.d.ts").read_text(encoding="utf-8") == committed
    # Written anew as the line says, it passes.
    assert types(root, "--out", "wsside-env.d.ts").returncode == 0
    assert types(root, "--out", "wsside-env.d.ts", "--check").returncode == 0


def test_a_missing_file_fails_and_is_not_written(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = types(root, "--out", "types/wsside-env.d.ts", "--check")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "wsside types: types/wsside-env.d.ts does not exist: "
        "wsside types --out types/wsside-env.d.ts writes it\n"
    )
    assert not (root / "types").exists()


def test_a_file_that_is_not_utf8_is_a_difference_not_a_traceback(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "wsside-env.d.ts").write_bytes(b"\xff\xfe old types\n")
    done = types(root, "--out", "wsside-env.d.ts", "--check")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.endswith("writes it anew, then commit it\n")
    written = types(root, "--out", "wsside-env.d.ts")
    assert (written.returncode, written.stderr) == (0, "wsside types: wrote wsside-env.d.ts\n")


def test_check_without_a_file_to_compare_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = types(project(tmp_path), "--check")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "wsside types: --check compares a file with what the handlers give: "
        "wsside types --out wsside-env.d.ts --check\n"
    )


def test_a_file_a_formatter_rewrote_is_named_as_such(tmp_path: Path) -> None:
    """Prettier's double quotes and semicolons: the line says what did it and the way out."""
    root = project(tmp_path)
    assert types(root, "--out", "wsside-env.d.ts").returncode == 0
    out = root / "wsside-env.d.ts"
    lines = out.read_text(encoding="utf-8").replace("'", '"').splitlines()
    out.write_text(
        "\n".join(
            line + ";" if line.strip() and line[-1] not in "{}" and "//" not in line else line
            for line in lines
        )
        + "\n",
        encoding="utf-8",
    )
    done = types(root, "--out", "wsside-env.d.ts", "--check")
    assert done.returncode == 1
    assert "+    type: 'move'" in done.stdout
    assert done.stderr == (
        "wsside types: wsside-env.d.ts differs only in quotes, semicolons, commas and spacing: "
        "a formatter (Prettier?) rewrote it; list wsside-env.d.ts in its ignore file "
        "(.prettierignore), then wsside types --out wsside-env.d.ts writes it anew\n"
    )


def test_root_runs_as_in_a_monorepo_s_vite_app(tmp_path: Path) -> None:
    app = project(tmp_path / "apps" / "web")
    (app / "vite.config.js").write_text(
        "import wsside from 'vite-plugin-wsside'\nexport default { plugins: [wsside()] }\n",
        encoding="utf-8",
    )
    at_the_top = types(tmp_path, "--out", "apps/web/wsside-env.d.ts")
    assert at_the_top.returncode == 2
    assert at_the_top.stderr.endswith(
        "(the Vite project apps/web/ is below: wsside types --root apps/web)\n"
    ), at_the_top.stderr
    done = types(tmp_path, "--root", "apps/web", "--out", "apps/web/wsside-env.d.ts")
    assert (done.returncode, done.stderr) == (0, "wsside types: wrote apps/web/wsside-env.d.ts\n")
    # The paths given stay the current folder's.
    given = types(tmp_path, "--root", "apps/web", "--handlers", "apps/web/ws", "--out", "x.d.ts")
    assert (given.returncode, given.stderr) == (
        0,
        "wsside types: the Vite plugin keeps its own copy, apps/web/wsside-env.d.ts, up to "
        "date, not x.d.ts: where tsc sees both, they clash once a handler changes (--out "
        "apps/web/wsside-env.d.ts is that one)\nwsside types: wrote x.d.ts\n",
    )
    assert "    '/ws/game': true\n" in (tmp_path / "x.d.ts").read_text()
    in_the_app = types(app, "--out", "wsside-env.d.ts", "--check")
    assert (in_the_app.returncode, in_the_app.stderr) == (
        0,
        "wsside types: wsside-env.d.ts is up to date\n",
    )
    # --out from the current folder, not --root's: the folder it names is not here.
    (app / "src").mkdir()
    astray = types(tmp_path, "--root", "apps/web", "--out", "src/wsside-env.d.ts")
    assert astray.returncode == 1
    assert astray.stderr.endswith(
        "wsside types: cannot write src/wsside-env.d.ts: no folder src (--out is taken from "
        "the current folder: --out apps/web/src/wsside-env.d.ts)\n"
    ), astray.stderr
    nowhere = types(tmp_path, "--root", "apps/api", "--check", "--out", "x.d.ts")
    assert (nowhere.returncode, nowhere.stderr) == (
        2,
        "wsside types: --root apps/api: no such folder (give the Vite project's folder)\n",
    )
