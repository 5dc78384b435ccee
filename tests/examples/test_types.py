"""The typed examples: each `main.js` passes tsc, through the example's own jsconfig.json,
against the wsside-env.d.ts that `wsside types --out` writes from its handlers; with one
`send` made wrong, tsc fails at that line. Each runs with the newest TypeScript tested
(node_shim's) and the oldest the client supports (tests/client/types'), both installed by
`make node-deps`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from examples.conftest import ROOT, copy_example

WSSIDE = Path(sys.executable).with_name("wsside")
COMPILERS = {
    "newest": ROOT / "node_shim" / "node_modules" / "typescript" / "bin" / "tsc",
    "oldest": ROOT / "tests" / "client" / "types" / "node_modules" / "typescript" / "bin" / "tsc",
}
# One send per example, and the same send with a number where the handler declares a str.
WRONG_SENDS = {
    "chat": (
        "{ type: 'chat', room: current, text: textField.value }",
        "{ type: 'chat', room: current, text: 42 }",
    ),
    "game": ("{ type: 'join-game', gameId }", "{ type: 'join-game', gameId: 42 }"),
}


@pytest.fixture(params=sorted(WRONG_SENDS))
def example(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A copy of the example with the wsside-env.d.ts that `wsside types --out` writes."""
    folder = copy_example(request.param, tmp_path)
    # The example may hold one that Vite wrote during other tests: this test checks the CLI's.
    (folder / "wsside-env.d.ts").unlink(missing_ok=True)
    done = subprocess.run(
        [str(WSSIDE), "types", "--out", "wsside-env.d.ts"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(params=sorted(COMPILERS))
def tsc(request: pytest.FixtureRequest) -> Path:
    path = COMPILERS[request.param]
    if not path.is_file():
        pytest.fail(f"TypeScript is not installed ({path}): run `make node-deps`")
    return path


def check(folder: Path, tsc: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(tsc), "-p", "jsconfig.json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_main_js_type_checks_against_the_generated_file(example: Path, tsc: Path) -> None:
    done = check(example, tsc)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_send_fails_at_its_line(example: Path, tsc: Path) -> None:
    right, wrong = WRONG_SENDS[example.name]
    code = (example / "main.js").read_text()
    assert code.count(right) == 1, f"{example.name}/main.js no longer has {right}"
    line = code[: code.index(right)].count("\n") + 1
    (example / "main.js").write_text(code.replace(right, wrong))

    done = check(example, tsc)
    assert done.returncode != 0
    assert f"main.js({line}," in done.stdout and "error TS2322" in done.stdout, done.stdout
