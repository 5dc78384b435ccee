"""What package.json's dev script runs, when that is a server file of the project's own
(`node server.js`, `tsx watch server/index.ts`): such a server creates Vite itself, often in
middleware mode (`createServer({ server: { middlewareMode: true } })`), which vite.config does
not show. Read as text: running it would be starting the dev server."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .vite_package import read_manifest

__all__ = ["DevScript", "ServerFile", "dev_script"]

_SCRIPT_FILE = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")
# Comments out of the way of the searches: /* ... */, and // to the end of a line where the
# slashes start a word (not the ones inside 'http://...').
_COMMENTS = re.compile(r"/\*.*?\*/|(?:^|(?<=\s))//[^\n]*", re.S)
_MIDDLEWARE = re.compile(r"\bmiddlewareMode\s*:\s*(?!false\b)\S")
_HMR_SERVER = re.compile(r"\bhmr\s*:\s*\{[^}]*\bserver\b")


@dataclass
class ServerFile:
    """A server file the dev script runs: its path, relative to the project, and what its
    text shows."""

    shown: str
    middleware_mode: bool
    hmr_server: bool
    attaches: bool  # it calls attachWsside() from vite-plugin-wsside


@dataclass
class DevScript:
    """package.json's `scripts.dev` (None: there is none) and the server file it runs."""

    command: str | None
    server: ServerFile | None = None


def _file_in(root: Path, word: str) -> Path | None:
    """`word` of a command line as a script file in the project (`server`: server.js too, as
    node finds it)."""
    if word.startswith("-") or "=" in word:
        return None
    for candidate in (word, *(word + ext for ext in _SCRIPT_FILE)):
        path = root / candidate
        if path.suffix in _SCRIPT_FILE and path.is_file():
            return path
    return None


def dev_script(root: Path) -> DevScript:
    """`root`'s dev script and the first word of it that is a script file of the project."""
    scripts = read_manifest(root).get("scripts")
    command = scripts.get("dev") if isinstance(scripts, dict) else None
    if not isinstance(command, str):
        return DevScript(None)
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    file = next((f for f in (_file_in(root, w) for w in words) if f is not None), None)
    if file is None:
        return DevScript(command)
    text = _COMMENTS.sub("", file.read_text(encoding="utf-8", errors="replace"))
    shown = file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file)
    return DevScript(
        command,
        ServerFile(
            shown,
            _MIDDLEWARE.search(text) is not None,
            _HMR_SERVER.search(text) is not None,
            re.search(r"\battachWsside\s*\(", text) is not None,
        ),
    )
