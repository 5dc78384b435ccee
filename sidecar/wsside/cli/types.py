"""`wsside types`: the handlers' message types as TypeScript, the `wsside-env.d.ts` that the
Vite plugin writes, for projects and CI runs without Vite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .._runtime.config import ConfigError, OptionError, build_settings
from .._runtime.events import error_place, subscribe, unsubscribe
from .._runtime.registry import Registry
from .._runtime.typescript import FILE_NAME, render
from .app import app

__all__ = ["types"]


@app.command()
def types(
    out: Path | None = typer.Option(
        None, "--out", metavar="FILE", help=f"File to write, e.g. {FILE_NAME} (default: print it)."
    ),
    handlers: Path | None = typer.Option(
        None, metavar="FOLDER", help="Folder of handler files (default: ws)."
    ),
    config: Path | None = typer.Option(
        None,
        metavar="FILE",
        help="Config file, wsside.toml or pyproject.toml (default: found in the current "
        "folder, else beside the handlers folder).",
    ),
) -> None:
    """Write the TypeScript types of the handlers' receives= and sends= for
    vite-plugin-wsside/client. Exits 1 when a handler file does not load."""
    search = (Path.cwd(), *((handlers.resolve().parent,) if handlers else ()))
    try:
        settings = build_settings({"handlers_dir": handlers}, config, search, need_handlers=True)
    except (ConfigError, OptionError) as exc:
        typer.echo(f"wsside types: {exc}", err=True)
        raise typer.Exit(2) from None
    registry = Registry(settings.handlers_dir, settings.handler_defaults)
    subscribe(_warn)  # what loading warns of (names that collide, durations in ms)
    try:
        registry.load_all()
    finally:
        unsubscribe(_warn)
    if registry.errors:
        for error in registry.errors.values():
            typer.echo(f"wsside types: {error_place(error)}: {error['message']}", err=True)
        raise typer.Exit(1)
    # Comments name files relative to the folder the file goes to, as the plugin does
    # (it writes beside vite.config).
    project = out.resolve().parent if out is not None else Path.cwd()
    text = render(registry.endpoints(), settings.handlers_dir, project)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        if out.is_file() and out.read_text(encoding="utf-8") == text:
            typer.echo(f"wsside types: {out} is up to date", err=True)
            return
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"wsside types: cannot write {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wsside types: wrote {out}", err=True)


def _warn(event: dict[str, Any]) -> None:
    if event.get("type") == "log" and event.get("level") in ("warning", "error"):
        typer.echo(f"wsside types: {event.get('message')}", err=True)
