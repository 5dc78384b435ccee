"""The generated `wsside-env.d.ts` under the real TypeScript compiler: `tests/types/app.ts`
uses the client against the types of `tests/types/ws/`, right uses and wrong ones (marked
`@ts-expect-error`, which tsc itself reports when the line is not an error); and every golden
file compiles as it is.

TypeScript is a dev dependency of the tests (`make node-deps`), never of the shim's users.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TYPES = REPO / "tests" / "types"
GOLDEN = REPO / "tests" / "golden"
WSSIDE = Path(sys.executable).with_name("wsside")
CLIENT_TYPES = TYPES / "standin" / "client.d.ts"
# The options of Vite's TypeScript templates (tsconfig.app.json), strictest first.
COMPILER_OPTIONS = {
    "target": "ES2022",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "module": "ESNext",
    "moduleResolution": "bundler",
    "verbatimModuleSyntax": True,
    "moduleDetection": "force",
    "noEmit": True,
    "strict": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "erasableSyntaxOnly": True,
    "noUncheckedSideEffectImports": True,
    "skipLibCheck": False,
}


def tsc() -> Path:
    for folder in (REPO / "node_shim", REPO / "tests" / "shim"):
        candidate = folder / "node_modules" / ".bin" / "tsc"
        if candidate.exists():
            return candidate
    pytest.fail("TypeScript is not installed: run `make node-deps`")


def compile_project(folder: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    options = {**COMPILER_OPTIONS, "paths": {"vite-plugin-wsside/client": [str(CLIENT_TYPES)]}}
    config = {"compilerOptions": options, "files": files}
    (folder / "tsconfig.json").write_text(json.dumps(config, indent=2))
    return subprocess.run(
        [str(tsc()), "-p", str(folder)], cwd=folder, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A project with app.ts and the wsside-env.d.ts that `wsside types` writes for it."""
    shutil.copy(TYPES / "app.ts", tmp_path / "app.ts")
    done = subprocess.run(
        [str(WSSIDE), "types", "--handlers", str(TYPES / "ws"), "--out", "wsside-env.d.ts"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_right_uses_compile_and_wrong_ones_do_not(app: Path) -> None:
    done = compile_project(app, ["app.ts", "wsside-env.d.ts"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_unmarked_wrong_use_fails_the_compile(app: Path) -> None:
    with (app / "app.ts").open("a") as f:
        f.write("chat.send({ type: 'chat', text: 42 })\n")
    lines = (app / "app.ts").read_text().count("\n")
    done = compile_project(app, ["app.ts", "wsside-env.d.ts"])
    assert done.returncode != 0
    assert f"app.ts({lines}," in done.stdout and "error TS2322" in done.stdout, done.stdout


def test_without_the_generated_file_the_marked_lines_are_not_errors(app: Path) -> None:
    """The other side of the first test: untyped, tsc reports each unused expect-error, so
    the marks above do stand for errors the generated types cause."""
    done = compile_project(app, ["app.ts"])
    assert done.returncode != 0
    assert "Unused '@ts-expect-error' directive" in done.stdout


@pytest.mark.parametrize("case", sorted(p.stem.removesuffix(".d") for p in GOLDEN.glob("*.d.ts")))
def test_each_golden_file_compiles(tmp_path: Path, case: str) -> None:
    shutil.copy(GOLDEN / f"{case}.d.ts", tmp_path / "wsside-env.d.ts")
    done = compile_project(tmp_path, ["wsside-env.d.ts"])
    assert done.returncode == 0, done.stdout + done.stderr
