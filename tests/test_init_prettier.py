"""`wsside init` keeps the generated `wsside-env.d.ts` from Prettier, in a project that uses it
(`cli/init_prettier.py`): the real command on real project folders."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from doctor_projects import VENV_PYTHON, write

CONFIG = (
    "import { defineConfig } from 'vite'\n\nexport default defineConfig({\n  plugins: [],\n})\n"
)
ADDED = (
    "# wsside init: written by wsside from the handlers, formatted as wsside writes it\n"
    "wsside-env.d.ts\n"
)


def project(tmp_path: Path, dev: dict[str, str] | None = None, **files: str) -> Path:
    package = {"name": "app", "private": True, "type": "module", "devDependencies": dev or {}}
    return write(
        tmp_path / "app",
        {"package.json": json.dumps(package), "vite.config.ts": CONFIG, **files},
    )


def init(root: Path) -> str:
    done = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "init", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_project_with_prettier_gets_a_prettierignore_once(tmp_path: Path) -> None:
    root = project(tmp_path, {"prettier": "^3.3.0", "vite": "^7.0.0"})
    said = init(root)
    assert "wrote .prettierignore listing wsside-env.d.ts (Prettier would rewrite it)" in said
    assert (root / ".prettierignore").read_text() == ADDED
    again = init(root)
    assert ".prettierignore already lists wsside-env.d.ts" in again
    assert (root / ".prettierignore").read_text() == ADDED


def test_a_prettierignore_of_its_own_is_added_to_in_its_line_ends(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".prettierignore").write_bytes(b"dist\r\ncoverage")
    assert "added wsside-env.d.ts to .prettierignore" in init(root)
    assert (root / ".prettierignore").read_bytes() == (
        b"dist\r\ncoverage\r\n" + ADDED.replace("\n", "\r\n").encode()
    )


def test_a_prettierignore_that_covers_it_is_left_as_it_is(tmp_path: Path) -> None:
    root = project(tmp_path, {"prettier": "3.3.0"})
    (root / ".prettierignore").write_text("# types are generated\n*.d.ts\n")
    assert ".prettierignore already lists wsside-env.d.ts" in init(root)
    assert (root / ".prettierignore").read_text() == "# types are generated\n*.d.ts\n"


def test_a_project_without_prettier_gets_no_prettierignore(tmp_path: Path) -> None:
    root = project(tmp_path, {"vite": "^7.0.0"})
    said = init(root)
    assert "prettier" not in said.lower()
    assert not (root / ".prettierignore").exists()
