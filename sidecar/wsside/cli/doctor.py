"""The `wsside doctor` command: run the checks, show them, repair what is safe to repair."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from .._places import folder_problem
from .._runtime.backplane_url import BackplaneError, RedisMissing, check_backplane, from_folder
from .._runtime.config import ConfigError, OptionError, build_settings
from .app import app
from .command_end import ends_past_threads
from .serve import given_settings

if TYPE_CHECKING:
    from ..doctor import Check
    from ..doctor.checks_process import SidecarProcess

__all__ = ["doctor"]


def _left_running(threads: str) -> None:
    # After the table, on stderr: the checks imported the handler files, whose code started
    # them (as it would in the sidecar).
    typer.echo(
        f"wsside doctor: not waiting for {threads}, which importing the handler files started",
        err=True,
    )


@app.command()
@ends_past_threads(_left_running)
def doctor(
    ctx: typer.Context,
    root: Path | None = typer.Option(
        None,
        "--root",
        metavar="FOLDER",
        help="The Vite project (with --serve, or with handler files and no Vite project: the "
        "folder wsside serve runs in).",
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
        "connection, so the handler's on_connect and on_close run (User-Agent: wsside-doctor); "
        "with --serve, ask the backplane's Redis. --no-live skips the probes (a build step).",
    ),
    timeout: float = typer.Option(
        20.0, metavar="SECONDS", help="Bound for each subprocess and network probe (s)."
    ),
    serve_options: list[str] | None = typer.Argument(
        None,
        metavar="-- SERVE_OPTIONS",
        show_default=False,
        hidden=True,  # the usage line and the help above say it; typer would add "<list[str]>"
        help="With --serve: the options you give `wsside serve` (after --), checked as it "
        "would use them, over the config file.",
    ),
) -> None:
    """Check this project's wsside setup; exit 1 when anything fails.

    With a dev server running, each endpoint gets a real WebSocket connection, which runs
    its on_connect and on_close (User-Agent: wsside-doctor). Skip it with --no-live.

    With --serve, give `wsside serve`'s options after --, e.g.
    `wsside doctor --serve -- --workers 4 --backplane redis://localhost:6379/0`. In a folder
    of handler files with no Vite project here, above or below, it checks as with --serve.
    """
    # A bad --root is one line and exit 2, as a bad flag of `wsside serve` is.
    problem = None if root is None else folder_problem(root)
    if problem is not None:
        error = OptionError("--root", root, f"{problem} (give the Vite project's folder)")
        typer.echo(f"wsside doctor: {error}", err=True)
        raise typer.Exit(2)
    conflict = _conflict(serve, serve_options or [], url, fix, yes, timeout)
    if conflict is not None:
        typer.echo(f"wsside doctor: {conflict}", err=True)
        raise typer.Exit(2)
    # Loaded here, not at import: the checks pull in psutil and rich, which `serve` never needs.
    from ..doctor import Project, checks_for, run_checks, worst
    from ..doctor.checks_process import end_stale, fix_folder
    from ..doctor.progress import Progress
    from ..doctor.project import serves_without_vite
    from ..doctor.report import as_json, print_table
    from ..doctor.vite_config import project_folder

    # With --serve, where `wsside serve` would run: no vite.config to look for upwards.
    where = (root or Path.cwd()).resolve() if serve else project_folder(root or Path.cwd())
    # Handler files and no Vite project here, above or below: they run in `wsside serve`, so
    # its checks, as with --serve (--url and --fix are about a Vite project: they keep its).
    without_vite = not serve and url is None and not fix and serves_without_vite(where)
    serve = serve or without_vite
    given, config = (
        _serve_settings(serve_options or [], where, f"{ctx.find_root().info_name} serve")
        if serve
        else ({}, None)
    )
    progress = Progress()

    def check() -> tuple[Project, list[Check]]:
        project = Project(
            where,
            url=None if serve else url,
            timeout=timeout,
            serve=serve,
            live=live,
            given=given,
            config=config,
            step=progress.step,
            without_vite=without_vite,
        )
        try:
            return project, run_checks(project, checks_for(project), progress)
        finally:
            progress.done()

    project, results = check()
    if fix and not serve:
        folder = fix_folder(project)
        if isinstance(folder, str):  # several projects below: which one is not for us to say
            typer.echo(f"wsside doctor --fix: {folder}", err=True)
        else:
            ended = end_stale(Project(folder, timeout=timeout), _confirm(yes))
            pids = ", ".join(map(str, ended))
            typer.echo(
                f"wsside doctor --fix: in {folder}, "
                + (f"ended stale sidecar(s): pid {pids}" if ended else "no stale sidecar ended"),
                err=True,
            )
            if ended:
                _, results = check()
    if json_output:
        typer.echo(as_json(results, where))
    else:
        print_table(results, where)
    raise typer.Exit(1 if worst(results) == "fail" else 0)


def _conflict(
    serve: bool, serve_options: list[str], url: str | None, fix: bool, yes: bool, timeout: float
) -> str | None:
    """What in the command line cannot be used as given (one line), or None: an option that
    would be ignored is refused rather than passed over in silence."""
    if not (timeout > 0 and math.isfinite(timeout)):
        return str(OptionError("--timeout", timeout, "expected seconds > 0"))
    if serve_options and not serve:
        return f"{' '.join(serve_options)}: options of `wsside serve` go with --serve"
    if serve and url is not None:
        return f"--url {url} names a Vite dev server to probe: it does not go with --serve"
    if serve and fix:
        return "--fix ends stale sidecars of a Vite project: it does not go with --serve"
    if yes and not fix:
        return "--yes answers the questions of --fix: it goes with --fix"
    return None


def _confirm(yes: bool) -> Callable[[SidecarProcess], bool]:
    def confirm(s: SidecarProcess) -> bool:
        return yes or typer.confirm(f"End stale sidecar pid {s.pid} (in {s.cwd})?", err=True)

    return confirm


def _serve_settings(
    options: list[str], where: Path, name: str
) -> tuple[dict[str, Any], Path | None]:
    """The settings `wsside serve OPTIONS` (`name OPTIONS`) would take from its command line in
    `where`, and its --config, parsed by `wsside serve`'s own options (a bad option: one line,
    exit 2, as there)."""
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)  # `app` has several commands
    # An unknown option or a value of the wrong type raises click's UsageError, which
    # `cli.main` prints as one line naming `wsside serve --help`, as for `wsside serve` itself.
    params = command.commands["serve"].make_context(name, list(options)).params
    given = given_settings(params)
    # Relative paths are relative to the folder `wsside serve` runs in, which --root names.
    if given["handlers_dir"]:  # "" is left to `build_settings` to refuse
        given["handlers_dir"] = where / given["handlers_dir"]
    if given["backplane"]:  # a CA file it names (`?ssl_ca_certs=tls/ca.pem`), as for serve there
        given["backplane"] = from_folder(given["backplane"], where)
    config = None if params["config"] is None else where / params["config"]
    if params["ipc"]:
        typer.echo("wsside doctor: --ipc is the Vite shim's: leave out --serve", err=True)
        raise typer.Exit(2)
    try:
        build_settings(given, config, (where,), need_handlers=given["handlers_dir"] is not None)
        if given["backplane"] is not None:
            check_backplane(given["backplane"])
    except RedisMissing:
        pass  # not the flag's fault: the backplane check says it, with the fix
    except (OptionError, BackplaneError) as exc:
        typer.echo(f"wsside doctor: {exc}", err=True)
        raise typer.Exit(2) from None
    except ConfigError as exc:
        if config is not None and exc.file == config and not config.is_file():
            typer.echo(f"wsside doctor: --config {exc}", err=True)  # the option's, not the file's
            raise typer.Exit(2) from None
        # Anything else about the file is the config check's to show.
    return given, config
