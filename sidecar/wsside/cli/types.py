"""`wsside types`: the handlers' message types as TypeScript, the `wsside-env.d.ts` that the
Vite plugin writes, for projects and CI runs without Vite.

In a Vite project (the nearest vite.config at or above the current folder), the handlers are
those of the plugin's sidecar: the literal `handlers` and `config` options of wsside() in
vite.config, where no flag gives them, and its `env` option (a PYTHONPATH there), read as text
(no Vite runs)."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
from pathlib import Path
from typing import Any

import typer

from .._places import folder_problem
from .._runtime.config import ConfigError, OptionError, build_settings
from .._runtime.events import error_place, subscribe, unsubscribe
from .._runtime.registry import Registry
from .._runtime.typescript import FILE_NAME, render
from .app import app
from .command_end import ends_past_threads

__all__ = ["types"]


def _left_running(threads: str) -> None:
    # Said on stderr (stdout holds the types): importing the handler files runs their code,
    # here as in every process that serves them; a training loop started there is worth
    # knowing of, and its work is cut here.
    typer.echo(
        f"wsside types: not waiting for {threads}, which importing the handler files started",
        err=True,
    )


@app.command()
@ends_past_threads(_left_running)
def types(
    out: Path | None = typer.Option(
        None, "--out", metavar="FILE", help=f"File to write, e.g. {FILE_NAME} (default: print it)."
    ),
    handlers: Path | None = typer.Option(
        None,
        metavar="FOLDER",
        help="Folder of handler files (default: the `handlers` option of wsside() in "
        "vite.config, else ws).",
    ),
    config: Path | None = typer.Option(
        None,
        metavar="FILE",
        help="Config file, wsside.toml or pyproject.toml (default: the `config` option of "
        "wsside() in vite.config, else found in the current folder, beside vite.config, or "
        "beside the handlers folder).",
    ),
    root_option: Path | None = typer.Option(
        None,
        "--root",
        metavar="FOLDER",
        help="Run as in this folder (a monorepo's Vite app), as `cd FOLDER` would; --out, "
        "--handlers and --config stay relative to the current folder.",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Write nothing: exit 1, printing the difference, when the --out file is missing "
        "or is not what the handlers give now (for CI, where the file is committed).",
    ),
) -> None:
    """Write the TypeScript types of the handlers' receives= and sends= for
    vite-plugin-wsside/client. Exits 1 when a handler file does not load.

    In a Vite project, the handlers are imported as the plugin's sidecar imports them: with
    the `handlers`, `config` and `env` options of wsside() in vite.config (their literal
    values), where no option here gives them."""
    if check and out is None:
        typer.echo(
            f"wsside types: --check compares a file with what the handlers give: "
            f"wsside types --out {FILE_NAME} --check",
            err=True,
        )
        raise typer.Exit(2)
    # Here, not at the top: the sidecar (`wsside serve --ipc`) loads this module, never these.
    from .._runtime.in_a_loop import in_a_running_loop
    from ..doctor.other_folders import vite_projects_below
    from ..doctor.sidecar_env import as_the_sidecar, plugin_env
    from ..doctor.vite_config import project_folder, read_vite_config

    target = None if out is None else out.resolve()  # where it goes, whatever --root says
    started = Path.cwd()  # what the paths said to the user are relative to
    if root_option is not None:  # the paths given are the current folder's
        handlers, config = (None if p is None else p.resolve() for p in (handlers, config))
        _run_in(root_option)
    root = project_folder(Path.cwd())
    facts = read_vite_config(root, None)  # as text: no node runs
    options = facts.wsside_options or {}
    named = options.get("handlers") if handlers is None else None
    if isinstance(named, str):  # as the plugin resolves it: `..` taken out, lexically
        handlers = Path(os.path.normpath(root / named))
    if config is None and isinstance(options.get("config"), str):
        config = root / options["config"]
    # The config file: here, beside vite.config (as the sidecar looks), or beside the handlers.
    search = (Path.cwd(), root, *((handlers.resolve().parent,) if handlers else ()))
    try:
        settings = build_settings(
            {"handlers_dir": handlers}, config, search, need_handlers=not isinstance(named, str)
        )
    except (ConfigError, OptionError) as exc:
        below = [] if facts.file is not None else vite_projects_below(root)
        hint = ""
        if below:  # a monorepo's root: its Vite app is below
            app = below[0].relative_to(root).as_posix()
            hint = f" (the Vite project {app}/ is below: wsside types --root {app})"
        typer.echo(f"wsside types: {exc}{hint}", err=True)
        raise typer.Exit(2) from None
    problem = folder_problem(settings.handlers_dir)
    if isinstance(named, str) and problem is not None and facts.file is not None:
        typer.echo(
            f"wsside types: the `handlers` option of wsside() in {facts.file.name} "
            f"('{named}'): {problem}: {settings.handlers_dir}",
            err=True,
        )
        raise typer.Exit(2)
    registry = Registry(settings.handlers_dir, settings.handler_defaults)
    subscribe(_warn)  # what loading warns of (names that collide, durations in ms)
    sidecar = (
        contextlib.nullcontext()
        if facts.wsside_options is None
        else as_the_sidecar(root, plugin_env(options))
    )
    try:
        with sidecar:
            in_a_running_loop(registry.load_all)  # as served: `_runtime/in_a_loop.py`
    finally:
        unsubscribe(_warn)
    if registry.errors:
        for error in registry.errors.values():
            typer.echo(f"wsside types: {error_place(error)}: {error['message']}", err=True)
        raise typer.Exit(1)
    # Comments name files relative to the folder the file goes to, as the plugin does
    # (it writes beside vite.config).
    project = target.parent if target is not None else Path.cwd()
    text = render(registry.endpoints(), settings.handlers_dir, project)
    if out is None or target is None:
        typer.echo(text, nl=False)
        return
    plugin_copy = root / FILE_NAME
    second = facts.wsside_options is not None and target != plugin_copy.resolve()
    try:
        # Bytes that are not UTF-8 differ from the text like any others.
        found = target.read_text(encoding="utf-8", errors="replace") if target.is_file() else None
    except OSError as exc:
        typer.echo(f"wsside types: cannot read {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    if found == text:
        if second:
            _second_copy(out, plugin_copy, started)
        typer.echo(f"wsside types: {out} is up to date", err=True)
        return
    if check:
        _differs(out, found, text)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        why = exc.strerror or str(exc)
        if not target.parent.is_dir():
            why = f"no folder {_relative(target.parent, started)}"
            if root_option is not None and (started / root_option / out).parent.is_dir():
                why += f" (--out is taken from the current folder: --out {root_option / out})"
        typer.echo(f"wsside types: cannot write {out}: {why}", err=True)
        raise typer.Exit(1) from None
    if second:
        _second_copy(out, plugin_copy, started)
    typer.echo(f"wsside types: wrote {out}", err=True)


def _second_copy(out: Path, plugin_copy: Path, started: Path) -> None:
    """Say that `out` is not the plugin's copy: the plugin never updates it, and where tsc
    sees both, their `interface Endpoints` clash as soon as one is stale."""
    theirs = _relative(plugin_copy, started)
    typer.echo(
        f"wsside types: the Vite plugin keeps its own copy, {theirs}, up to date, not {out}: "
        f"where tsc sees both, they clash once a handler changes (--out {theirs} is that one)",
        err=True,
    )


def _relative(path: Path, folder: Path) -> str:
    """`path` as the user would type it in `folder`."""
    return os.path.relpath(path.resolve(), folder.resolve())


def _run_in(folder: Path) -> None:
    """`--root`: the rest runs as in `folder`, on whose import path the handlers are, as
    `cd FOLDER && wsside types` would run them."""
    problem = folder_problem(folder)
    if problem is not None:
        typer.echo(
            f"wsside types: --root {folder}: {problem} (give the Vite project's folder)", err=True
        )
        raise typer.Exit(2)
    here = os.getcwd()
    os.chdir(folder)
    if sys.path and sys.path[0] == here:  # where `wsside` put the folder it started in
        del sys.path[0]
    sys.path.insert(0, os.getcwd())


def _differs(out: Path, found: str | None, text: str) -> None:
    """`--check`'s answer for a file that is not `text`: the difference on stdout, a line
    saying how to mend it on stderr, exit status 1."""
    if found is None:
        typer.echo(
            f"wsside types: {out} does not exist: wsside types --out {out} writes it", err=True
        )
        raise typer.Exit(1)
    diff = difflib.unified_diff(
        found.splitlines(keepends=True),
        text.splitlines(keepends=True),
        f"{out} (as it is)",
        f"{out} (what the handlers give)",
    )
    typer.echo("".join(diff), nl=False)
    if _shape(found) == _shape(text):
        typer.echo(
            f"wsside types: {out} differs only in quotes, semicolons, commas and spacing: a "
            f"formatter (Prettier?) rewrote it; list {out.name} in its ignore file "
            f"(.prettierignore), then wsside types --out {out} writes it anew",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(
        f"wsside types: {out} is not what the handlers give now (the difference above): "
        f"wsside types --out {out} writes it anew, then commit it",
        err=True,
    )
    raise typer.Exit(1)


def _shape(text: str) -> str:
    """`text` as a formatter leaves it: the quotes, semicolons, commas and spacing that
    Prettier rewrites taken out."""
    return re.sub(r"[\s;,]+", "", text.replace('"', "'"))


def _warn(event: dict[str, Any]) -> None:
    if event.get("type") == "log" and event.get("level") in ("warning", "error"):
        typer.echo(f"wsside types: {event.get('message')}", err=True)
