"""The Python project: config file, handlers folder, each handler file, and its patterns."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

from ..handler import Handler
from .model import Check, failed, passed, warned
from .project import Project
from .samples import always_matches

__all__ = ["check_config", "check_handler_files", "check_handlers_folder", "check_patterns"]

# A top-level module that this interpreter (the one importing the handler files) lacks.
_MISSING_PACKAGE = re.compile(r"ModuleNotFoundError: No module named '([A-Za-z][A-Za-z0-9_]*)'$")


def check_config(project: Project) -> Check:
    state = project.config
    if state.error is not None:
        where = project.relative(state.error.file)
        line = f":{state.error.line}" if state.error.line else ""
        key = f' key "{state.error.key}"' if state.error.key else ""
        what = str(state.error).removeprefix(f"{state.error.file}: ")
        return failed(
            "config",
            f"{where}{line}: {what}",
            f"edit{key} in {where}{line}; the message says what is expected",
        )
    if state.file is None:
        return passed("config", "no wsside.toml or [tool.wsside]; using the defaults")
    return passed("config", f"{project.relative(state.file)} is valid")


def check_handlers_folder(project: Project) -> Check:
    folder = project.handlers_dir
    shown = project.relative(folder)
    if not folder.is_dir():
        return failed(
            "handlers folder",
            f"{shown}/ does not exist",
            f"create {shown}/ with a handler file (`wsside init` writes one), "
            "or set `handlers` in wsside.toml",
        )
    if not project.handler_files:
        return warned(
            "handlers folder",
            f"{shown}/ has no handler files",
            f"add a .py file declaring Handler(...) to {shown}/",
        )
    return passed("handlers folder", f"{shown}/: {len(project.handler_files)} handler file(s)")


def check_handler_files(project: Project) -> Iterator[Check]:
    """One record per file: it imports, or the error with its file and line."""
    for result in project.loaded:
        name = f"handler {project.relative(result.path)}"
        error = result.error
        if error is None:
            patterns = ", ".join(h.pattern.source for h in result.handlers) or "no Handler"
            yield passed(name, f"imports: {patterns}")
            continue
        where = f"{project.relative(error['file'])}:{error['line']}"
        what = error["message"]
        if what.startswith("PatternError"):
            fix = f"fix the pattern at {where}"
        elif what.startswith("StillImporting"):
            fix = f"move what blocks at {where} into a @background task, a callback or a thread"
        elif missing := _MISSING_PACKAGE.match(what):
            fix = (
                f"`{sys.executable} -m pip install {missing[1]}` (its name on PyPI may differ), "
                f"or correct the import at {where}"
            )
        else:
            fix = f"fix {where}, then save: the sidecar reloads it"
        yield failed(name, f"{where}: {what}", fix)


def _endpoints(project: Project) -> list[Handler]:
    return [h for r in project.loaded if r.error is None for h in r.handlers]


def check_patterns(project: Project) -> Iterator[Check]:
    """Duplicates (a load error in the sidecar) and shadowed patterns (a pattern that an
    earlier one always matches first, so it never serves)."""
    handlers = _endpoints(project)
    clean = True
    first: dict[str, Handler] = {}
    for h in handlers:
        earlier = first.setdefault(h.pattern.source, h)
        if earlier is not h:
            clean = False
            yield failed(
                "patterns",
                f"duplicate pattern {h.pattern.source!r}: "
                f"{_at(project, earlier)} and {_at(project, h)}",
                f"rename or remove one of them ({_at(project, h)} is refused at load)",
            )
    live = [h for h in handlers if not h.disabled]
    for i, later in enumerate(live):
        for earlier in live[:i]:
            if earlier.pattern.source != later.pattern.source and always_matches(
                earlier.pattern, later.pattern
            ):
                clean = False
                yield warned(
                    "patterns",
                    f"{later.pattern.source!r} ({_at(project, later)}) is "
                    f"shadowed by {earlier.pattern.source!r} ({_at(project, earlier)}), "
                    "which is declared first and matches all its paths",
                    f"declare {later.pattern.source!r} before "
                    f"{earlier.pattern.source!r} (files load in sorted order), "
                    "or narrow the earlier pattern",
                )
                break
    if clean:
        yield passed("patterns", f"{len(handlers)} pattern(s), no duplicates or shadowing")


def _at(project: Project, h: Handler) -> str:
    return f"{project.relative(h.file)}:{h.line}"
