"""The `wsside doctor` command: run the checks, show them, repair what is safe to repair."""

from __future__ import annotations

from pathlib import Path

import typer

from .._runtime.config import OptionError, folder_problem
from .app import app

__all__ = ["doctor"]


@app.command()
def doctor(
    root: Path | None = typer.Option(
        None,
        "--root",
        metavar="FOLDER",
        help="The Vite project (with --serve: the folder wsside serve runs in).",
        show_default="the nearest vite.config.* upwards",
    ),
    url: str | None = typer.Option(
        None,
        "--url",
        metavar="URL",
        help="Dev server to probe, e.g. http://localhost:5173.",
        show_default="the one found running",
    ),
    json_output: bool = typer.Option(
        False, "--json", metavar="", help="Print JSON instead of a table."
    ),
    fix: bool = typer.Option(
        False, "--fix", metavar="", help="End stale sidecar processes, then re-check."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", metavar="", help="With --fix: do not ask."),
    serve: bool = typer.Option(
        False,
        "--serve",
        metavar="",
        help="Check a `wsside serve` deploy in this folder (or --root) instead of a Vite "
        "project: workers, backplane, origins, error frames.",
    ),
    live: bool = typer.Option(
        True,
        "--live/--no-live",
        help="Probe each endpoint through the running dev server: a real WebSocket "
        "connection, so the handler's on_connect and on_close run (User-Agent: wsside-doctor). "
        "--no-live skips the probes.",
    ),
    timeout: float = typer.Option(
        20.0, metavar="SECONDS", help="Bound for each subprocess and network probe (s)."
    ),
) -> None:
    """Check this project's wsside setup; exit 1 when anything fails.

    With a dev server running, each endpoint gets a real WebSocket connection, which runs
    its on_connect and on_close (User-Agent: wsside-doctor). Skip it with --no-live.
    """
    # A bad --root is one line and exit 2, as a bad flag of `wsside serve` is.
    problem = None if root is None else folder_problem(root)
    if problem is not None:
        error = OptionError("--root", root, f"{problem} (give the Vite project's folder)")
        typer.echo(f"wsside doctor: {error}", err=True)
        raise typer.Exit(2)
    # Loaded here, not at import: the checks pull in psutil and rich, which `serve` never needs.
    from ..doctor import Check, Project, checks_for, run_checks, worst
    from ..doctor.checks_process import SidecarProcess, end_stale
    from ..doctor.report import as_json, print_table
    from ..doctor.vite_config import project_folder

    # With --serve, where `wsside serve` would run: no vite.config to look for upwards.
    where = (root or Path.cwd()).resolve() if serve else project_folder(root or Path.cwd())

    def check() -> list[Check]:
        project = Project(
            where, url=None if serve else url, timeout=timeout, serve=serve, live=live
        )
        return run_checks(project, checks_for(project))

    results = check()
    if fix and not serve:

        def confirm(s: SidecarProcess) -> bool:
            return yes or typer.confirm(f"End stale sidecar pid {s.pid} (in {s.cwd})?", err=True)

        ended = end_stale(Project(where, url=url, timeout=timeout, live=live), confirm)
        if ended:
            typer.echo(f"ended stale sidecar(s): pid {', '.join(map(str, ended))}", err=True)
            results = check()
    if json_output:
        typer.echo(as_json(results, where))
    else:
        print_table(results, where)
    raise typer.Exit(1 if worst(results) == "fail" else 0)
