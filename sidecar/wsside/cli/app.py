"""The `wsside` Typer application; each command module registers itself on it."""

from __future__ import annotations

import typer

from .. import __version__

app: typer.Typer = typer.Typer(
    add_completion=False,
    # click's plain help: rich's option table cut option names and URLs at 80 columns
    # (`--no-loopback-origi…`); click's wraps the text and keeps every name whole.
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Python WebSocket back ends for Vite dev servers.",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def options(
    version: bool = typer.Option(
        False,
        "--version",
        metavar="",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Options of the `wsside` command itself (before any subcommand)."""


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)
