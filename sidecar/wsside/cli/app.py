"""The `wsside` Typer application; each command module registers itself on it."""

from __future__ import annotations

import typer

from .. import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Python WebSocket back ends for Vite dev servers.",
)


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)
