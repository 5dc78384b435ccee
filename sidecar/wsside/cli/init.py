"""`wsside init`: scaffold a working wsside setup in a Vite project.

The project is found as `doctor` finds it: the nearest folder with a `vite.config.*` at or
above the starting folder (else the nearest with a `package.json`). Each of `STEPS` does one
thing and records what it will do or what the user must do: write `wsside.toml`, write
`ws/echo.py` (never overwriting), add the plugin to `vite.config` (`init_vite`; an edited
config keeps its original as `.bak`) or create one, and keep the project's virtualenv and that
`.bak` out of git (`init_gitignore`), and the generated types file out of Prettier's reach
(`init_prettier`). When a step cannot do its part it prints
the exact lines to add, and the command exits 1. A dev script that runs a server of the
project's own creating Vite in middleware mode (read as `doctor` reads it) is such a part:
vite.config still gets the plugin (that server's Vite reads it: the client's prefix, Python
files kept out of Vite's watcher), and that server must call attachWsside, which init leaves
to the user (`init_server`).

Steps only read and check; their writes wait until every step has checked the files it will
read and write (`init_files`), so a project with a file init cannot use is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import typer

from .._places import folder_problem
from .._project.tsconfig import include_types_file, inclusion
from .._project.vite_files import find_vite_config
from .._runtime.config import (
    ConfigError,
    file_problem,
    find_config,
    load_config,
)
from .._runtime.events import shown
from .._runtime.module_names import handler_files
from .._runtime.typescript import FILE_NAME
from .app import app
from .init_files import CannotInit, Outcome, check_editable, in_the_way, write_new
from .init_gitignore import git_ignores, git_tracks, ignore_in_git, in_work_tree
from .init_prettier import keep_from_prettier
from .init_server import attach_in_server, middleware_server
from .init_vite import add_to_vite_config, framework_config
from .vite_edit import SHIM
from .vite_options import plugin_strings

__all__ = ["STEPS", "find_project", "scaffold"]

WSSIDE_TOML = """\
# wsside: the Python WebSocket handlers of this Vite project.
# Browsers connect to ws://<dev server>{prefix}/<pattern>: Handler("/chat") answers at
# ws://localhost:{port}{prefix}/chat (the port is the dev server's). `wsside serve` reads this
# file too (its port and host are its own: 8765 by default).
prefix = {prefix_toml}
handlers = {handlers_toml}
"""

ECHO_PY = '''\
"""Echo: ws://localhost:{port}{prefix}/echo sends every message back to its sender."""

from wsside import Connection, Handler, Sendable

echo = Handler("/echo")


@echo.on_message
async def reply(conn: Connection, data: Sendable) -> None:
    # data: a text message's parsed JSON (its str when not JSON), or a binary one's bytes
    await conn.send(data)
'''


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


def _vite_projects_below(root: Path) -> list[str]:
    """When `root` (the folder `find_project` found) is no Vite project itself, the Vite
    projects in folders below it (a monorepo's `packages/web`), relative to it."""
    from ..doctor.other_folders import is_vite_project, vite_projects_below  # only for init

    if is_vite_project(root):
        return []
    return [folder.relative_to(root).as_posix() for folder in vite_projects_below(root)]


def plugin_settings(root: Path) -> tuple[str, str]:
    """(prefix, handlers folder) as the plugin in the project's vite.config sets them with
    string literals (`wsside({ handlers: '../../services/realtime' })`), else "/api" and "ws":
    what wsside.toml says, and where the sample goes, must be what the plugin serves."""
    options = _plugin_options(root)
    return options.get("prefix", "/api"), options.get("handlers", "ws")


def _plugin_options(root: Path) -> dict[str, str]:
    """The plugin's string-literal options in the config the dev server runs on ({} without
    one): Astro's or Nuxt's own in their projects (they never read a vite.config beside it),
    else vite.config."""
    framework = framework_config(root)
    config = find_vite_config(root) if framework is None else framework[1]
    if config is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return plugin_strings(config.read_text(encoding="utf-8"))
    return {}


def write_config(root: Path, out: Outcome) -> None:
    """A new wsside.toml, or the existing config kept once it is read as `serve` reads it."""
    try:
        found = find_config(root)
        if found is not None:
            load_config(found)
    except ConfigError as exc:
        if file_problem(exc.file) is not None:  # a folder or a broken link by that name
            raise CannotInit(in_the_way(exc.file, "file")) from None
        where = shown(exc.file) + ("" if exc.line is None else f":{exc.line}")
        raise CannotInit(f"{where}: {exc.reason}: fix it, then run wsside init again") from None
    if found is None:
        prefix, handlers = plugin_settings(root)
        text = WSSIDE_TOML.format(
            prefix=prefix,
            port=dev_port(root),
            prefix_toml=json.dumps(prefix),
            handlers_toml=json.dumps(handlers),
        )
        write_new(root / "wsside.toml", text, out)
        out.done.append("wrote wsside.toml" + _overriding(root, handlers))
    else:
        out.done.append("kept the existing wsside config")


def _overriding(root: Path, handlers: str) -> str:
    """What a new wsside.toml in `root` says of the config beside the handlers folder that
    the sidecar reads until then (`serve` looks in its folder, then beside the handlers
    folder the plugin gives), "" when there is none: it is no longer read."""
    beside = (root / handlers).resolve().parent
    if beside == root.resolve() or "config" in _plugin_options(root):
        return ""  # the plugin's `config` is read whatever else there is
    try:
        found = find_config(beside)
    except ConfigError:  # the sidecar could not read it either
        return ""
    if found is None:
        return ""
    shown_file = os.path.relpath(found, root).replace(os.sep, "/")
    what = f"[tool.wsside] in {shown_file}" if found.name == "pyproject.toml" else shown_file
    return (
        f", which overrides {what}: that one is no longer read (move any other settings it "
        "has into wsside.toml)"
    )


# The dev server's default port: Vite's, or that of the framework whose config the project has.
_DEV_PORTS = {"Astro": 4321, "Nuxt": 3000}


def dev_port(root: Path) -> int:
    """The port the project's dev server listens on by default, for the sample URLs."""
    framework = framework_config(root)
    return _DEV_PORTS.get(framework[0], 5173) if framework is not None else 5173


def write_echo(root: Path, out: Outcome) -> None:
    """The sample handler, in the folder the plugin serves, unless that folder has handler
    files already (the project's own: a sample there would be served beside them)."""
    prefix, handlers = plugin_settings(root)
    folder = root / handlers
    echo = folder / "echo.py"
    shown_folder = os.path.relpath(folder, root).replace(os.sep, "/")
    if echo.is_file():
        out.done.append(f"kept {shown_folder}/echo.py")
        return
    if not os.path.lexists(echo) and folder.is_dir() and handler_files(folder):
        out.done.append(f"kept {shown_folder}/ as it is: it has handler files")
        return
    write_new(echo, ECHO_PY.replace("{port}", str(dev_port(root))).replace("{prefix}", prefix), out)
    out.done.append(f"wrote {shown_folder}/echo.py")


def include_types(root: Path, out: Outcome) -> None:
    """A TypeScript project's tsconfig lists wsside-env.d.ts (the handlers' message types)."""
    state = inclusion(root)
    if state.config is not None and state.included is False and state.editable:
        check_editable(state.config)

    # `include_types_file` reads, edits and reports in one: what it did is known only after it
    # ran, so its lines come after the other steps' (this step is the last).
    def edit() -> None:
        done, todo = include_types_file(root)
        out.done += done
        out.todo += todo

    out.writes.append(edit)


# In order; a step may be added for anything else a project needs.
# `ignore_in_git` after `add_to_vite_config`, whose backup it ignores.
STEPS: tuple[Step, ...] = (
    write_config,
    write_echo,
    add_to_vite_config,
    attach_in_server,
    ignore_in_git,
    keep_from_prettier,
    include_types,
)


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


def _shim_installed(root: Path) -> bool:
    """Whether Node would find the plugin from `root` (its node_modules or a parent's), or,
    under Yarn's Plug'n'Play (no node_modules), whether package.json lists it."""
    # Here, not at the top: the sidecar (`wsside serve --ipc`) loads this module, never doctor.
    from ..doctor.vite_package import plug_n_play, read_manifest

    folders = (root, *root.parents)
    if any((f / "node_modules" / SHIM / "package.json").is_file() for f in folders):
        return True
    manifest = read_manifest(root)
    listed = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    return plug_n_play(root) is not None and SHIM in listed


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
    folder given. Under git, its virtualenv and the config's .bak are added to .gitignore
    unless git ignores them already; where Prettier is used, wsside-env.d.ts is added to
    .prettierignore. When package.json's dev script runs a server of your own
    that creates Vite in middleware mode, it prints the lines that server needs
    (attachWsside) and the command to run (npm run dev). Exits 1 when something is left to do
    by hand, when there is no project, or (writing nothing) when a file it must read or write
    cannot be used.
    """
    problem = None if root is None else folder_problem(root)
    if problem is not None:  # as doctor says it, with init's status for what it cannot use
        typer.echo(
            f"wsside init: --root {root}: {problem} (give a folder of the Vite project)", err=True
        )
        raise typer.Exit(1)
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
    below = _vite_projects_below(where)
    if below:
        # A workspace's root (or a package beside the app): scaffolding here would add a
        # vite.config serving the wrong folder.
        typer.echo(
            f"wsside init: {where} is no Vite project (no vite.config, and its package.json does "
            f"not depend on vite); the Vite project below it is {', '.join(below)}: run wsside "
            "init there",
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
    framework = framework_config(where)  # its dev server, whatever vite.config is beside it
    prefix, handlers = plugin_settings(where)
    sample = (where / handlers / "echo.py").is_file()  # else the project's own handlers
    endpoint = f"{prefix}/" + ("echo" if sample else "...")
    server = middleware_server(where)
    if server is not None:  # the dev server is the project's own, which creates Vite
        run = f"npm run dev     # runs {server.shown}, with the handlers at {endpoint} on its port"
    elif framework:
        run = f"npm run dev     # {framework[0]}'s dev server, with the handlers at {endpoint}"
    else:
        run = "npx vite         # it prints the WebSocket URLs" + (
            f": ws://localhost:5173{prefix}/echo on its default port" if sample else ""
        )
    # Run through the plugin's `npx wsside`, whose Python may not be on PATH: the same way.
    doctor = "npx wsside doctor" if os.environ.get("WSSIDE_VIA_NPX") else "wsside doctor"
    typer.echo(f"\nNext:{install}\n  {run}\n  {doctor}{_commit_types(where)}")
    if out.todo:
        raise typer.Exit(1)


def _commit_types(root: Path) -> str:
    """The Next line for a TypeScript project in git: the types file Vite writes is to be
    committed, else tsc fails in a fresh checkout (README, "Types shared with TypeScript")."""
    if inclusion(root).config is None or not in_work_tree(root) or git_ignores(root, FILE_NAME):
        return ""
    if git_tracks(root, FILE_NAME):  # committed already (init run again)
        return ""
    return f"\n  git add {FILE_NAME}   # once Vite has written it: tsc in a fresh checkout needs it"
