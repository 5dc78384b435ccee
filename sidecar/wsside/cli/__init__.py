"""The `wsside` command line: `serve`, `doctor`, `init`, `types`, `version`.

Each command lives in its own module, and loads what it runs only when it runs: a sidecar
started by the shim (`wsside serve --ipc`) never imports doctor's checks, and `doctor`, `init`
and `types` never import the server.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import sys
from importlib import metadata
from typing import TYPE_CHECKING

from .. import __version__
from .._install import pip_install
from .._io import EngineVersionError, check_version

if TYPE_CHECKING:
    import typer

__all__ = ["TYPER_SUPPORTED", "TYPER_SUPPORTED_TEXT", "main"]

# The typer releases wsside is tested with (its floor and newest): pyproject.toml says the
# same. Older ones fail every command under the click that pip picks for them.
TYPER_SUPPORTED = ((0, 16, 0), (0, 30, 0))
TYPER_SUPPORTED_TEXT = ">=0.16.0,<0.30"


def main() -> None:
    """Run the `wsside` command named in `sys.argv`. An unsupported typer or aiohttp ends it
    with one line naming the supported range (exit status 1), before any traceback could;
    `wsside --version` and `wsside version` need neither, and answer all the same. A Ctrl-C
    before the command handles it (while its modules load, 0.5 s and more) ends it as
    Python's own handling does, killed by SIGINT (so that a shell loop stops too), without
    the traceback."""
    try:
        _main()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        raise SystemExit(130) from None  # where a signal to oneself does not end it


def _main() -> None:
    if sys.platform != "win32" and sys.argv[1:2] == ["serve"] and "--ipc" not in sys.argv:
        # A reload right after a start (systemd's `ExecReload=kill -HUP $MAINPID`) would kill
        # the service until `serve`'s event loop handles SIGHUP, once typer and aiohttp have
        # loaded (0.5 s and more). Until then it is ignored, as the start reads the files
        # anyway. Under Vite (`--ipc`) the sidecar keeps the default: it ends with the
        # terminal, as Vite does.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    problem = typer_problem() or engine_problem()
    if problem is None:
        from . import doctor, init, serve, types  # noqa: F401 - each registers its command on `app`
    if problem is not None:
        if sys.argv[1:] in (["--version"], ["version"]):  # which wsside this is needs neither
            print(__version__)
            return
        print(problem, file=sys.stderr)
        raise SystemExit(1)
    from .app import app

    # The folder the command runs in is on the import path, as under `python -m wsside` (how
    # Vite's plugin starts the sidecar) and uvicorn: a handler file imports the app's own
    # modules (`from auth import user_for_token`) alike under each.
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)
    if len(sys.argv) <= 1:
        app(prog_name=_prog_name())  # no command: typer prints the help
        return
    try:
        status = _run(app)
    except EngineVersionError as exc:  # an aiohttp whose metadata says otherwise
        print(exc, file=sys.stderr)
        status = 1
    raise SystemExit(status)


def _run(app: typer.Typer) -> int:
    """Run `app` and return its exit status. A command line it cannot parse (an unknown
    option, `--port abc`) ends in one line on stderr and status 2, as wsside's own checks do,
    instead of typer's boxed usage message."""
    import typer

    # click's UsageError, the base of every parse error, wherever this typer keeps click
    # (typer 0.29 vendors it): BadParameter has derived from it since click 7.
    usage_error: type[Exception] = typer.BadParameter.__mro__[1]
    try:
        status = app(standalone_mode=False, prog_name=_prog_name())
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        return 1
    except usage_error as exc:
        print(f"wsside: {_usage_line(exc)}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    return status if isinstance(status, int) else 0


def _prog_name() -> str | None:
    """What usage lines call the command: `npx wsside` when the plugin's bin started it (it
    runs `python -m wsside`, which click would show), else click's own guess."""
    return "npx wsside" if os.environ.get("WSSIDE_VIA_NPX") else None


def _usage_line(exc: Exception) -> str:
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    option, value = _given(exc)
    context = getattr(exc, "ctx", None)
    if option is not None:  # a value of the wrong type: say it as wsside's own checks do
        message = f"{option} {value}: {getattr(exc, 'message', message)}"
    elif type(exc).__name__ == "NoSuchOption":
        message = _no_such_option(exc, context)
    elif str(getattr(exc, "message", "")).startswith("Got unexpected extra argument"):
        message = _extra_arguments(str(getattr(exc, "message", "")), context)
    line = " ".join(str(message).split())
    path = getattr(context, "command_path", None)
    return f"{line} ({path} --help)" if path else line


def _visible_options(context: object) -> list[str]:
    """The options `--help` shows for the command being parsed (not the hidden ones, such as
    `serve --ipc`, which only the Vite plugin gives)."""
    params = getattr(getattr(context, "command", None), "params", ())
    return [
        name
        for param in params
        if not getattr(param, "hidden", False)
        for name in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ()))
        if name.startswith("-")
    ]


def _no_such_option(exc: Exception, context: object) -> str:
    """click's message, suggesting only options `--help` lists."""
    typed = getattr(exc, "option_name", "")
    visible = _visible_options(context)
    close = [name for name in getattr(exc, "possibilities", None) or () if name in visible]
    return f"No such option: {typed}" + (f" (did you mean {' or '.join(close)}?)" if close else "")


def _extra_arguments(message: str, context: object) -> str:
    """click's message, or, for a command that takes its folder as an option (`wsside serve
    ws`), that option spelt out with what was typed."""
    given = re.search(r"\(([^()]*)\)\s*$", message)
    if given is None or "--handlers" not in _visible_options(context):
        return message
    words = given.group(1).split()
    return f"unexpected argument {' '.join(words)}: give the folder as --handlers {words[0]}"


def _given(exc: Exception) -> tuple[str | None, str]:
    """The option and the value typed for it, when `exc` is about the value of an option
    given on the command line (`--port abc`, `--port=abc`); else (None, "")."""
    options = getattr(getattr(exc, "param", None), "opts", None) or ()
    args = sys.argv[1:]
    given: tuple[str | None, str] = (None, "")
    for i, arg in enumerate(args):  # the last one given is the one used
        for option in options:
            if arg == option and i + 1 < len(args):
                given = option, args[i + 1]
            elif arg.startswith(option + "="):
                given = option, arg[len(option) + 1 :]
    return given


def engine_problem() -> str | None:
    """What is wrong with the installed aiohttp, or None; read from its metadata, so that
    commands that never serve (`doctor`, `init`, `types`) need not import it to know."""
    try:
        found = metadata.version("aiohttp")
    except metadata.PackageNotFoundError:
        if importlib.util.find_spec("aiohttp") is not None:  # importable without metadata:
            return None  # the engine checks its __version__ as it imports it
        found = "none"
    try:
        check_version(found)
    except EngineVersionError as exc:
        return str(exc)
    return None


def typer_problem() -> str | None:
    """What is wrong with the installed typer, or None; read from its metadata, so an
    unsupported release is never imported."""
    try:
        found = metadata.version("typer")
    except metadata.PackageNotFoundError:
        found = "none"
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", found)
    version = tuple(int(part) for part in m.groups()) if m else None
    low, high = TYPER_SUPPORTED
    if version is not None and low <= version < high:
        return None
    return f"wsside needs typer {TYPER_SUPPORTED_TEXT}, found {found}: " + pip_install(
        sys.executable, f"'typer{TYPER_SUPPORTED_TEXT}'"
    )
