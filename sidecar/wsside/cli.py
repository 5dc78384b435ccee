"""The `wsside` command: `serve` (standalone or, with `--ipc`, under the Vite shim)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__
from .console import ConsoleReporter
from .events import subscribe
from .server import Sidecar, configure_logging
from .settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Python WebSocket back ends for Vite dev servers.")


@app.command()
def serve(
    handlers: Path = typer.Option(Path("ws"), help="Folder of handler files."),
    prefix: List[str] = typer.Option(["/api"], help="URL prefix (repeat for several)."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8765, help="TCP port to listen on."),
    reload: bool = typer.Option(True, "--reload/--no-reload", help="Reload handler files on save."),
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
    ipc: bool = typer.Option(False, "--ipc", hidden=True,
                             help="Run under the Vite shim (control channel on NODE_CHANNEL_FD)."),
) -> None:
    """Serve the handler files at ws://HOST:PORT/PREFIX/..."""
    settings = Settings(handlers_dir=handlers, prefixes=tuple(prefix), host=host, port=port,
                        reload=reload, log_level=log_level)
    configure_logging(log_level)
    if ipc:
        from .supervise import run_ipc

        run_ipc(settings)
        return
    asyncio.run(_serve_standalone(settings))


async def _serve_standalone(settings: Settings) -> None:
    subscribe(ConsoleReporter())
    sidecar = Sidecar(settings)
    await sidecar.start()
    await sidecar.serve_tcp(settings.host, settings.port)
    base = f"ws://{settings.host}:{settings.port}"
    for info in sidecar.describe():
        typer.echo(f"  WS  {base}{info['path']}  ({Path(info['file']).name}:{info['line']})",
                   err=True)
    typer.echo(f"wsside {__version__} serving on {base}{settings.url_prefix}/", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sidecar.close()


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)


def main() -> None:
    app()
