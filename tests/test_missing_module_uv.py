"""A package missing in a virtualenv made by `uv venv`: it has no pip (`python -m pip` says
`No module named pip`), so the hint is uv's own pip aimed at that Python. Through a real
`wsside serve` run by that virtualenv's Python, and a real `wsside doctor`."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import venv
from pathlib import Path

from doctor_projects import VENV_PYTHON, env_for, one, run_doctor, write
from serve_process import ServeProcess, free_port
from test_doctor import python_with_this_wsside

MISSING = "wsside_no_such_package"
NEEDS = f"import {MISSING}\nfrom wsside import Handler\nh = Handler('/needs')\n"


def uv_venv(folder: Path) -> Path:
    """A real virtualenv without pip whose pyvenv.cfg says uv made it (as `uv venv` writes
    it), and whose Python sees this one's packages (wsside too): its python."""
    python = python_with_this_wsside(folder)
    with (folder / "pyvenv.cfg").open("a", encoding="utf-8") as cfg:
        cfg.write("uv = 0.13.9\n")
    return python


def uv_command(python: Path) -> str:
    return f"uv pip install --python {shlex.quote(str(python))} {MISSING}"


async def test_the_load_error_of_a_uv_virtualenv_says_uv_pip(tmp_path: Path) -> None:
    python = uv_venv(tmp_path / "My App" / ".venv")  # a space: the command still pastes
    project = write(tmp_path / "My App", {"ws/needs.py": NEEDS})
    proc = await asyncio.create_subprocess_exec(
        python,
        "-m",
        "wsside",
        "serve",
        "--port",
        str(free_port()),
        cwd=project,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = ServeProcess(proc)
    try:
        await server.expect("cannot load ws/needs.py:")
        last = (await server.expect("ModuleNotFoundError")).rstrip("\n")
    finally:
        await server.stop()
    assert last == (
        f"ModuleNotFoundError: No module named '{MISSING}': `{MISSING}` is not installed for "
        f"the Python that runs the handlers ({python}): `{uv_command(python)}` (the "
        "package's name on PyPI may differ from the module's)"
    )
    command = last.split("`")[3]
    assert shlex.split(command) == ["uv", "pip", "install", "--python", str(python), MISSING]


def test_doctor_gives_uv_pip_for_the_uv_virtualenv_the_sidecar_will_run(tmp_path: Path) -> None:
    """doctor runs on this venv's Python; the plugin would pick the project's .venv, uv's."""
    python = uv_venv(tmp_path / ".venv")
    write(
        tmp_path,
        {
            "vite.config.js": (
                "import { defineConfig } from 'vite'\nimport wsside from 'vite-plugin-wsside'\n\n"
                "export default defineConfig({ plugins: [wsside()] })\n"
            ),
            "wsside.toml": 'prefix = "/api"\n',
            "ws/needs.py": NEEDS,
        },
    )
    env = env_for()
    del env["WSSIDE_PYTHON"]
    assert VENV_PYTHON == sys.executable != str(python)
    _, report = run_doctor(tmp_path, "--no-live", env=env)
    needs = one(report, "handler ws/needs.py")
    assert needs["fix"] == (
        f"`{uv_command(python)}` (its name on PyPI may differ), or correct the import at "
        "ws/needs.py:1"
    ), needs


def test_a_virtualenv_that_venv_made_keeps_its_own_pip(tmp_path: Path) -> None:
    """Without the `uv = ...` line the command is the Python's pip, as before."""
    from wsside._runtime.missing_module import install_command

    folder = tmp_path / ".venv"
    venv.create(folder, with_pip=False, symlinks=True)
    python = str(folder / "bin" / "python")
    assert install_command(python, "yaml") == f"{python} -m pip install PyYAML"
    with (folder / "pyvenv.cfg").open("a", encoding="utf-8") as cfg:
        cfg.write("uv = 0.13.9\n")
    assert install_command(python, "yaml") == f"uv pip install --python {python} PyYAML"


def test_doctor_gives_uv_pip_for_a_uv_virtualenv_without_wsside(tmp_path: Path) -> None:
    """The project's .venv, made by uv, lacks wsside itself: the interpreter row's fix
    installs it with uv's pip, which that virtualenv has instead of its own."""
    folder = tmp_path / ".venv"
    venv.create(folder, with_pip=False, symlinks=True)  # sees nothing of this venv: no wsside
    with (folder / "pyvenv.cfg").open("a", encoding="utf-8") as cfg:
        cfg.write("uv = 0.13.9\n")
    python = folder / "bin" / "python"
    write(
        tmp_path,
        {
            "vite.config.js": (
                "import { defineConfig } from 'vite'\nimport wsside from 'vite-plugin-wsside'\n\n"
                "export default defineConfig({ plugins: [wsside()] })\n"
            ),
            "ws/chat.py": "from wsside import Handler\nchat = Handler('/ws/chat')\n",
        },
    )
    env = env_for()
    del env["WSSIDE_PYTHON"]
    _, report = run_doctor(tmp_path, "--no-live", env=env)
    fix = one(report, "interpreter")["fix"]
    assert fix.startswith(f"`uv pip install --python {shlex.quote(str(python))} "), fix
