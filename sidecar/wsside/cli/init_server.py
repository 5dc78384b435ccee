"""`wsside init`'s step for a dev server of the project's own: when package.json's dev script
runs a server file that creates Vite in middleware mode (read as `doctor` reads it), that
server must call attachWsside on its http.Server. Its code is the user's, so the step only
says which lines to add, or that it has them. `init.py` runs the step and uses
`middleware_server` for the command to run next.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .init_files import Outcome
from .vite_edit import SHIM

if TYPE_CHECKING:
    from ..doctor.dev_script import ServerFile

__all__ = ["attach_in_server", "middleware_server"]


def middleware_server(root: Path) -> ServerFile | None:
    """The server file package.json's dev script runs when it creates Vite in middleware mode
    (`doctor`'s reading of it): Vite has no HTTP server there, and the dev server is that
    one, started by the dev script."""
    from ..doctor.dev_script import dev_script  # only for init

    server = dev_script(root).server
    return server if server is not None and server.middleware_mode else None


def attach_in_server(root: Path, out: Outcome) -> None:
    """Such a server calls attachWsside on its http.Server, unless it does, or gives Vite that
    server for HMR (`hmr: { server }`, which the plugin serves by itself). Its code is the
    user's: init says what to add."""
    server = middleware_server(root)
    if server is None:
        return
    where = f"{server.shown}, which the dev script runs, creates Vite in middleware mode"
    if server.attaches:
        out.done.append(f"kept {server.shown}: it calls attachWsside() on its server")
        return
    if server.hmr_server:
        out.done.append(f"{where}, with hmr.server: the plugin serves that server's upgrades")
        return
    out.todo.append(
        f"{where}: the plugin cannot see WebSocket upgrades there, so that server hands them "
        f"to wsside.\n    Add these lines to {server.shown} yourself:\n"
        f"      {_attach_import(root, server.shown)}    (with the other imports)\n"
        "      attachWsside(server)    (`server`: your http.Server, the one Vite's middlewares "
        "serve; under Express, what app.listen() returns)"
    )


def _attach_import(root: Path, shown_file: str) -> str:
    """The line that brings attachWsside into the server file: an import in an ES module (or
    a TypeScript file), else require() (Node loads the ES module plugin so too)."""
    from ..doctor.vite_package import read_manifest  # only for init

    file = root / shown_file
    if file.suffix in (".mjs", ".mts", ".ts"):
        esm = True
    elif file.suffix in (".cjs", ".cts"):
        esm = False
    else:
        text = ""
        with contextlib.suppress(OSError):
            text = file.read_text(encoding="utf-8", errors="replace")
        esm = read_manifest(root).get("type") == "module" or (
            re.search(r"^\s*import\s", text, re.M) is not None
            and re.search(r"\brequire\s*\(", text) is None
        )
    if esm:
        return f"import {{ attachWsside }} from '{SHIM}'"
    return f"const {{ attachWsside }} = require('{SHIM}')"
