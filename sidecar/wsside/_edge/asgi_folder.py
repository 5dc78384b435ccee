"""The handlers folder of `ASGIApp("ws")`: imported once, when the app is made, each load
error raised at once, so that a broken deploy fails at start. A folder that is not there is
named with where a relative one was looked for; a folder that holds the module making the app
(`ASGIApp(".")` beside app.py) is refused, since it would import that module again, forever.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .._runtime import events
from .._runtime.events import logger

if TYPE_CHECKING:
    from .._runtime.registry import Registry

__all__ = ["load_folder"]


def load_folder(registry: Registry, folder: Path) -> None:
    """Import every handler file of `folder`; the first load error is raised as ImportError."""
    if folder.is_file():
        raise NotADirectoryError(
            f"ASGIApp: {folder.resolve()} is a file; expected the folder of handler files "
            f"({str(folder.parent)!r}) or a list of Handler objects"
        )
    if not folder.is_dir():
        hint = ""
        if not folder.is_absolute():  # relative to the folder the server (or pytest) runs in
            hint = (
                f" ({str(folder)!r} is taken from the current folder, {Path.cwd()}: run the "
                "server there, or give the folder from the app's own file, "
                f"ASGIApp(Path(__file__).parent / {folder.as_posix()!r}))"
            )
        raise FileNotFoundError(f"ASGIApp: no handlers folder at {folder.resolve()}{hint}")
    maker = _module_making_the_app(folder)
    if maker is not None:  # `ASGIApp(".")` beside app.py: it would make itself again, forever
        name, path = maker
        raise ImportError(
            f"ASGIApp: the handlers folder {folder.resolve()} holds {path.name}, the module "
            f"that makes this ASGIApp ({name}), and would import it again: put the handler "
            "files in a folder of their own, e.g. ws/"
        )
    registry.load_all()
    for error in registry.errors.values():
        raise ImportError(f"ASGIApp: {events.error_place(error, str)}: {error['message']}")
    if not registry.hubs:  # a deploy that left the handler files behind, say
        logger.warning(
            "wsside: ASGIApp: no handler file in %s declares a Handler: every WebSocket gets 404",
            folder.resolve(),
        )


def _module_making_the_app(folder: Path) -> tuple[str, Path] | None:
    """A handler file of `folder` that is a module still running its top level (the one
    calling `ASGIApp(...)`, or the script `__main__`), and its name."""
    from .._runtime.module_names import handler_files

    files = {path.resolve() for path in handler_files(folder)}
    for name, module in tuple(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        running = name == "__main__" or getattr(spec, "_initializing", False)
        file = getattr(module, "__file__", None)
        if running and isinstance(file, str) and (path := Path(file).resolve()) in files:
            return name, path
    return None
