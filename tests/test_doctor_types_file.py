"""`wsside doctor`'s "generated types" check: a TypeScript project whose `wsside-env.d.ts` is
missing (a fresh checkout, Vite never started) or older than the handlers (a `sends` class
changed while Vite was stopped) is warned, with the command that writes it; the text compared
is what `wsside types` writes now, in the Python the sidecar runs. Real project folders, the
real `wsside doctor --json`, `wsside types` and tsc (`tsc -b`, as Vite's templates build).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import venv
from pathlib import Path

from doctor_projects import REPO, VENV_PYTHON, env_for, one, run_doctor, write
from test_tsconfig import ENTRY, vite_ts_project

TSC = REPO / "tests" / "client" / "types" / "node_modules" / "typescript" / "bin" / "tsc"
FIX = f"run `wsside types --out {ENTRY}`, or start Vite, which writes it"

# A sends= class, with one more field once `extra` is set, and a page that imports it.
HANDLER = """\
from typing import Literal, TypedDict
from wsside import Handler

class Said(TypedDict):
    type: Literal["said"]
    text: str{extra}

chat = Handler("/ws/chat", sends=Said)
"""
PAGE = (
    "import type { WsChat } from '../wsside-env'\n"
    "export const said: WsChat.Said = { type: 'said', text: 'hi' }\n"
)


def project(root: Path, extra: str = "") -> Path:
    vite_ts_project(root, HANDLER.format(extra=extra))
    app = root / "tsconfig.app.json"
    app.write_text(app.read_text().replace('"include": ["src"]', f'"include": ["src", "{ENTRY}"]'))
    return write(root, {"vite.config.ts": "export default {};\n", "src/main.ts": PAGE})


def types_check(root: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    _, report = run_doctor(root, "--no-live", env=env)
    check = one(report, "generated types")
    return {k: check[k] for k in ("status", "message", "fix")}


def wsside_types(root: Path, python: str = VENV_PYTHON) -> None:
    done = subprocess.run(
        [python, "-m", "wsside", "types", "--out", ENTRY],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def tsc_build(root: Path) -> subprocess.CompletedProcess[str]:
    (root / "node_modules").mkdir(exist_ok=True)
    link = root / "node_modules" / "vite-plugin-wsside"
    if not link.exists():
        link.symlink_to(REPO / "node_shim")
    return subprocess.run(
        ["node", str(TSC), "-b", "tsconfig.app.json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_file_is_warned_and_the_fix_writes_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    built = tsc_build(root)
    assert "error TS2307: Cannot find module '../wsside-env'" in built.stdout, built.stdout
    assert types_check(root) == {
        "status": "warn",
        "message": f"{ENTRY} is missing: tsc (`tsc -b` in npm run build) cannot find the module "
        "of a page's import from wsside-env, and sees the endpoints of ws/ untyped",
        "fix": FIX,
    }
    command = shlex.split(FIX.split("`")[1])  # the fix's command, as a user runs it
    assert command[0] == "wsside"
    subprocess.run([Path(VENV_PYTHON).with_name("wsside"), *command[1:]], cwd=root, check=True)
    built = tsc_build(root)
    assert built.returncode == 0, built.stdout
    assert types_check(root) == {
        "status": "pass",
        "message": f"{ENTRY} is what wsside types writes for ws/ now",
        "fix": "",
    }


def test_a_field_added_while_vite_was_stopped_is_warned(tmp_path: Path) -> None:
    root = project(tmp_path)
    wsside_types(root)
    assert types_check(root)["status"] == "pass"
    project(root, extra="\n    author: str")  # the page now lacks `author`, which tsc misses
    assert tsc_build(root).returncode == 0
    assert types_check(root) == {
        "status": "warn",
        "message": f"{ENTRY} is out of date with the handlers in ws/ (from its line 25): tsc "
        "checks the pages against old types",
        "fix": FIX,
    }
    wsside_types(root)
    built = tsc_build(root)
    assert "Property 'author' is missing" in built.stdout, built.stdout


def test_untyped_handlers_need_no_file(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "ws" / "chat.py").write_text("from wsside import Handler\nchat = Handler('/ws/chat')\n")
    (root / "src" / "main.ts").write_text("export const x = 1\n")
    assert types_check(root) == {
        "status": "pass",
        "message": "no handler in ws/ declares receives= or sends=",
        "fix": "",
    }


def test_the_text_is_the_one_the_sidecars_python_writes(tmp_path: Path) -> None:
    """The sidecar runs another Python (WSSIDE_PYTHON) in which the handler declares one more
    field: the file it writes is up to date, though this doctor's Python would write another;
    and the one this doctor's Python writes is not."""
    other = tmp_path / "sidecar-venv"
    venv.create(other, with_pip=False, symlinks=True)
    python = other / "bin" / "python"
    paths = json.loads(
        subprocess.run(
            [VENV_PYTHON, "-c", "import json, sys; print(json.dumps(sys.path))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    (site,) = other.glob("lib/python*/site-packages")
    # This venv's packages, and a mark that only the sidecar's Python has.
    (site / "wsside_test.pth").write_text(
        "\n".join([*(p for p in paths if p), "import os; os.environ['SIDECAR_PYTHON'] = '1'"])
        + "\n"
    )
    root = project(tmp_path / "app")
    handler = root / "ws" / "chat.py"
    extra = "\n    if __import__('os').environ.get('SIDECAR_PYTHON'):\n        author: str"
    handler.write_text(handler.read_text().replace("    text: str", "    text: str" + extra))
    env = env_for(WSSIDE_PYTHON=str(python))
    wsside_types(root, str(python))
    assert "author: string" in (root / ENTRY).read_text()
    assert types_check(root, env)["status"] == "pass"
    wsside_types(root)
    assert types_check(root, env)["status"] == "warn"
