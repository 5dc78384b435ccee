"""`wsside init`: scaffold a working wsside setup in a Vite project.

The project is found as `doctor` finds it: the nearest folder with a `vite.config.*` at or
above the starting folder (else the nearest with a `package.json`). Each of `STEPS` does one
thing and records what it will do or what the user must do: write `wsside.toml`, write
`ws/echo.py` (never overwriting), add the plugin to `vite.config` (see `vite_edit`; an edited
config keeps its original as `.bak`) or create one. When a step cannot do its part it prints
the exact lines to add, and the command exits 1.

Steps only read and check; their writes wait until every step has checked the files it will
read and write, so a project with a file init cannot use (a folder where a file goes, a file
that is not UTF-8 or is read-only) is left as it was, and one line names that file.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer

from .._runtime.config import (
    VITE_CONFIG_NAMES,
    ConfigError,
    find_config,
    find_vite_config,
    not_utf8,
)
from .._runtime.events import shown
from .._runtime.tsconfig import include_types_file, inclusion
from .app import app
from .vite_edit import PLUGIN_CALL, SHIM, NotEditable, add_plugin, import_line, uses_plugin

__all__ = ["STEPS", "CannotInit", "Outcome", "find_project", "scaffold"]

WSSIDE_TOML = """\
# wsside: the Python WebSocket handlers of this Vite project.
# Browsers connect to ws://<dev server>/api/<pattern>, e.g. ws://localhost:5173/api/echo.
prefix = "/api"
handlers = "ws"
"""

ECHO_PY = '''\
"""Echo: ws://localhost:5173/api/echo sends every message back to its sender."""

from wsside import Handler

echo = Handler("/echo")


@echo.on_message
async def reply(conn, data):
    await conn.send(data)
'''

NEW_VITE_CONFIG = f"""\
import {{ defineConfig }} from 'vite'
{import_line()}

export default defineConfig({{
  plugins: [{PLUGIN_CALL}],
}})
"""


class CannotInit(Exception):
    """A file `init` must read or write cannot be used: the message names it, says what is
    wrong and what to do, in one line."""


@dataclass
class Outcome:
    """What `init` did, and what is left for the user (each entry may span several lines).
    `writes` are the steps' writes, in order, made once every step has checked its files."""

    done: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    writes: list[Callable[[], None]] = field(default_factory=list)


Step = Callable[[Path, Outcome], None]


def find_project(start: Path) -> Path | None:
    """The Vite project `start` is in: the nearest folder at or above it with a vite.config.*,
    else with a package.json; None when there is neither (not a Node project)."""
    start = start.resolve()
    folders = (start, *start.parents)
    for has in (find_vite_config, lambda d: (d / "package.json").is_file()):
        found = next((d for d in folders if has(d)), None)
        if found is not None:
            return found
    return None


def write_config(root: Path, out: Outcome) -> None:
    try:
        found = find_config(root)
    except ConfigError as exc:
        raise CannotInit(f"{shown(exc.file)}: {exc.reason}") from None
    if found is None:
        _write(root / "wsside.toml", WSSIDE_TOML, out)
        out.done.append("wrote wsside.toml")
    else:
        out.done.append("kept the existing wsside config")


def write_echo(root: Path, out: Outcome) -> None:
    echo = root / "ws" / "echo.py"
    if echo.is_file():
        out.done.append("kept ws/echo.py")
        return
    _write(echo, ECHO_PY, out)
    out.done.append("wrote ws/echo.py")


def add_to_vite_config(root: Path, out: Outcome) -> None:
    # The first of the names that exists, as Vite picks it: a folder of that name is no config,
    # and a new config beside it would not be the one Vite loads.
    config = next((root / n for n in VITE_CONFIG_NAMES if os.path.lexists(root / n)), None)
    framework = _framework(root) if config is None else None
    if framework is not None:
        # Astro and Nuxt build Vite's config from their own file: a vite.config would be
        # ignored, and theirs is code of the framework's shape, which is not edited.
        name, file = framework[0], framework[1]
        if uses_plugin(_read(file)):
            out.done.append(f"{file.name} already uses the plugin")
        else:
            out.todo.append(_framework_instructions(name, file))
        return
    if config is None:
        name, why = _new_config_name(root)
        _write(root / name, NEW_VITE_CONFIG, out)
        out.done.append(f"wrote {name} with the plugin{why}")
        return
    if not config.is_file():
        raise CannotInit(_in_the_way(config, "file"))
    if config.suffix in (".cjs", ".cts"):
        out.todo.append(_esm_instructions(config))
        return
    text = _read(config)
    try:
        if uses_plugin(text):
            out.done.append(f"{config.name} already uses the plugin")
            return
        edited = add_plugin(text)
    except NotEditable as exc:
        if "CommonJS" in str(exc):
            out.todo.append(_esm_instructions(config))
        else:
            out.todo.append(_instructions(config, str(exc)))
        return
    backup = config.with_name(config.name + ".bak")
    _check_editable(config)
    if backup.is_file():
        _check_editable(backup)
    else:
        _check_new(backup)

    def edit() -> None:
        shutil.copy2(config, backup)
        config.write_text(edited, encoding="utf-8")

    out.writes.append(edit)
    out.done.append(f"added {PLUGIN_CALL} to {config.name} (original kept as {config.name}.bak)")


def include_types(root: Path, out: Outcome) -> None:
    """A TypeScript project's tsconfig lists wsside-env.d.ts (the handlers' message types)."""
    state = inclusion(root)
    if state.config is not None and state.included is False:
        _check_editable(state.config)

    # `include_types_file` reads, edits and reports in one: what it did is known only after it
    # ran, so its lines come after the other steps' (this step is the last).
    def edit() -> None:
        done, todo = include_types_file(root)
        out.done += done
        out.todo += todo

    out.writes.append(edit)


# In order; a step may be added for anything else a project needs.
STEPS: tuple[Step, ...] = (write_config, write_echo, add_to_vite_config, include_types)


def scaffold(root: Path) -> Outcome:
    """Run every step in `root` (the project folder), then make their writes. CannotInit
    when a file cannot be used, before anything is written."""
    out = Outcome()
    for step in STEPS:
        step(root, out)
    try:
        for write in out.writes:
            write()
    except OSError as exc:  # what the checks cannot see coming: a full disk, say
        raise CannotInit(
            f"writing stopped part way: {exc}; fix that, then run wsside init again "
            "(it keeps what is already written)"
        ) from None
    return out


def _write(path: Path, text: str, out: Outcome) -> None:
    """Write `text` to the new file `path` (and its folder) with the other steps' writes."""
    _check_new(path)

    def write() -> None:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")

    out.writes.append(write)


def _check_new(path: Path) -> None:
    """CannotInit unless `path` can be created: nothing is there, its folder is a folder (or
    is absent, to be created) and the nearest existing one may be written in."""
    if os.path.lexists(path):
        raise CannotInit(_in_the_way(path, "file"))
    folder = path.parent
    if os.path.lexists(folder) and not folder.is_dir():
        raise CannotInit(_in_the_way(folder, "folder"))
    while not folder.is_dir():
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        raise CannotInit(f"cannot create {shown(path)}: no permission to write in {folder}")


def _check_editable(path: Path) -> None:
    """CannotInit unless the existing file `path` may be written."""
    if not os.access(path, os.W_OK):
        raise CannotInit(
            f"cannot write {shown(path)}: permission denied; make it writable, then run "
            "wsside init again"
        )


def _in_the_way(path: Path, wanted: str) -> str:
    if path.is_symlink() and not path.exists():
        kind = "a broken link"
    else:
        kind = "a folder" if path.is_dir() else "a file" if path.is_file() else "a special file"
    return f"{shown(path)} is {kind}, not a {wanted}: move it away, then run wsside init again"


def _read(path: Path) -> str:
    """The text of `path`, or CannotInit naming it and what keeps it from being read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problem, _ = not_utf8(exc)
        raise CannotInit(
            f"cannot read {shown(path)}: {problem}, then run wsside init again"
        ) from None
    except OSError as exc:
        raise CannotInit(f"cannot read {shown(path)}: {exc.strerror}") from None


def _new_config_name(root: Path) -> tuple[str, str]:
    """The config file to create, and why that extension when it is not the usual one."""
    typescript = (root / "tsconfig.json").is_file()
    if _package_type(root) == "module":
        return ("vite.config.ts" if typescript else "vite.config.js"), ""
    # Node reads a .js (or .ts) as CommonJS outside a "type": "module" package, and Vite
    # warns about CommonJS configs: the m makes it an ES module whatever the package says.
    name = "vite.config.mts" if typescript else "vite.config.mjs"
    return name, ' (an ES module: package.json has no "type": "module")'


def _package_type(root: Path) -> str | None:
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = data.get("type") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def _shim_installed(root: Path) -> bool:
    """Whether Node would find the plugin from `root` (its node_modules or a parent's)."""
    folders = (root, *root.parents)
    return any((f / "node_modules" / SHIM / "package.json").is_file() for f in folders)


def _lines_to_add() -> str:
    return (
        f"      {import_line()}    (with the other imports)\n"
        f"      {PLUGIN_CALL},    (first in the plugins array of the config)"
    )


def _instructions(config: Path, why: str) -> str:
    return (
        f"{config.name} was not edited: {why}.\n"
        f"    Add these lines to it yourself:\n{_lines_to_add()}"
    )


def _framework(root: Path) -> tuple[str, Path] | None:
    """Astro or Nuxt and its config file in `root` (the doctor's table), if any."""
    # Imported here: the doctor's package stays out of the sidecar's start-up (`wsside serve`
    # loads every command module).
    from ..doctor.vite_config import find_framework_config

    return find_framework_config(root)


def _framework_instructions(framework: str, config: Path) -> str:
    return (
        f"{config.name} was not edited: {framework} builds Vite's config from it, so the plugin "
        f"goes under its `vite` key.\n    Add these lines to it yourself:\n"
        f"      {import_line()}    (with the other imports)\n"
        f"      vite: {{ plugins: [{PLUGIN_CALL}] }},    (in the object it exports; "
        "or add wsside() to the plugins of an existing `vite` key)"
    )


def _esm_instructions(config: Path) -> str:
    esm = config.with_suffix(".mts" if config.suffix in (".cts", ".ts") else ".mjs").name
    return (
        f"{config.name} was not edited: it is CommonJS, and {SHIM} is an ES "
        f"module.\n    Rename it to {esm}, turn its require() calls into imports and "
        f"module.exports into export default, then add:\n{_lines_to_add()}"
    )


@app.command()
def init(
    root: Path | None = typer.Option(
        None,
        "--root",
        metavar="FOLDER",
        help="A folder of the Vite project.",
        show_default="the current folder",
    ),
) -> None:
    """Scaffold wsside in a Vite project: wsside.toml, ws/echo.py and the plugin in vite.config.

    The project is the nearest folder with a vite.config (or a package.json) at or above the
    folder given. Exits 1 when something is left to do by hand, when there is no project, or
    (writing nothing) when a file it must read or write cannot be used.
    """
    start = root or Path.cwd()
    where = find_project(start)
    if where is None:
        # Scaffolding a vite.config into a folder that is no project (a home folder, say)
        # would only leave files to clean up.
        typer.echo(
            f"wsside init: no Vite project at or above {start.resolve()} (no vite.config, no "
            "package.json): create it first (npm create vite@latest), then run wsside init in it",
            err=True,
        )
        raise typer.Exit(1)
    try:
        out = scaffold(where)
    except CannotInit as exc:
        typer.echo(f"wsside init: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wsside init in {where}")
    for line in out.done:
        typer.echo(f"  ✓ {line}")
    for line in out.todo:
        typer.echo(f"  → {line}")
    install = "" if _shim_installed(where) else f"\n  npm install -D {SHIM}"
    framework = None if find_vite_config(where) else _framework(where)
    run = (
        f"npm run dev     # {framework[0]}'s dev server, with the handlers at /api/echo"
        if framework
        else "npx vite"
        "         # it prints the WebSocket URLs: ws://localhost:5173/api/echo on its default port"
    )
    typer.echo(f"\nNext:{install}\n  {run}\n  wsside doctor")
    if out.todo:
        raise typer.Exit(1)
