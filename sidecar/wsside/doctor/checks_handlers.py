"""The Python project: config file, handlers folder, each handler file, and its patterns."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._runtime.events import error_place, listed
from .._runtime.missing_module import Missing, install_command
from .._runtime.shadowed import shadowings
from .._runtime.stray_handlers import handler_files_outside
from ..handler import Handler
from .checks_process import running_sidecars
from .imports import Imported
from .model import Check, failed, passed, warned
from .other_folders import folders_with_handlers
from .project import Project
from .sidecar_imports import same_python

__all__ = ["check_config", "check_handler_files", "check_handlers_folder", "check_patterns"]

# What `missing_module` says of a module of the app's own that is off the import path.
_OFF_THE_PATH = "which is not on the import path here"


def check_config(project: Project) -> Check:
    state = project.config
    if state.error is not None:
        where = project.relative(state.error.file)
        line = f":{state.error.line}" if state.error.line else ""
        key = f' key "{state.error.key}"' if state.error.key else ""
        return failed(
            "config",
            f"{where}{line}: {state.error.reason}",
            f"edit{key} in {where}{line}; the message says what is expected",
        )
    if state.file is None:
        return passed("config", "no wsside.toml or [tool.wsside]; using the defaults")
    return passed("config", f"{project.relative(state.file)} is valid")


def check_handlers_folder(project: Project) -> Check:
    folder = project.handlers_dir
    shown = project.relative(folder)
    if not folder.is_dir() and project.projects_below:
        # A monorepo's root: its handlers go with its Vite app, not here.
        return failed(
            "handlers folder",
            f"{shown}/ does not exist, and this folder is no Vite project",
            f"see the vite.config check: wsside runs in {project.projects_below[0]}/",
        )
    if not folder.is_dir():
        problem = f"{shown}/ does not exist"
        fix = _create_or_correct(project, shown)
    elif not project.handler_files:
        problem = f"{shown}/ has no handler files"
        fix = f"add a .py file declaring Handler(...) to {shown}/"
    else:
        return _strays(project, f"{shown}/: {len(project.handler_files)} handler file(s)")
    elsewhere = folders_with_handlers(project.root, folder) + _near(project, folder)
    if elsewhere:
        other, names = elsewhere[0]
        named = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        problem += f", but {project.relative(other)}/ has files declaring a Handler ({named})"
        fix = f"{_point_at(project, other)} (or move those files into {shown}/)"
    else:
        # Beside vite.config itself (`./chat.py`), or deeper than the folders looked at above.
        strays = [project.relative(f) for f in handler_files_outside(project.root, folder)]
        if strays:
            named = ", ".join(strays[:3]) + (", ..." if len(strays) > 3 else "")
            problem += f", but {named} declare{'s' if len(strays) == 1 else ''} a Handler"
            them = "it" if len(strays) == 1 else "them"
            fix = f"move {them} into {shown}/" + ("" if folder.is_dir() else " (create it)")
    if folder.is_dir():
        return warned("handlers folder", problem, fix)
    return failed("handlers folder", problem, fix)


def _create_or_correct(project: Project, shown: str) -> str:
    """The fix for a handlers folder that does not exist: create it, or correct the setting
    that named it, which is the one that counts (vite.config's option wins over wsside.toml)."""
    create = f"create {shown}/ with a handler file (`wsside init` writes one)"
    where = project.handlers_from
    if where == "plugin":
        value = project.plugin_options["handlers"]
        return (
            f"correct the `handlers` option of wsside() in {_plugin_file(project)} ('{value}'; "
            f"it wins over wsside.toml), or {create}"
        )
    if where == "config" and project.config.file is not None:
        return f"{create}, or correct `handlers` in {project.relative(project.config.file)}"
    if where == "given":
        return f"{create}, or correct --handlers"
    return f"{create}, or set `handlers` in wsside.toml"


def _plugin_file(project: Project) -> str:
    """Where wsside()'s options are written: vite.config, or the framework's config (Astro's
    astro.config.mjs, Nuxt's nuxt.config.ts) that holds Vite's."""
    facts = project.vite
    if facts.framework is None or facts.file is None:
        return "vite.config"
    return project.relative(facts.file)


def _near(project: Project, folder: Path) -> list[tuple[Path, list[str]]]:
    """For a handlers folder outside the project (a monorepo's `../api/ws`): the folders with
    handler files near it, two levels below the nearest folder above it that exists (`apps/`
    for a misspelt `../apii/ws`), when that is within the project's grandparent (the bound
    keeps the search small)."""
    root = project.root
    if folder.is_relative_to(root) or len(root.parents) < 2:
        return []
    above = next((p for p in folder.parents if p.is_dir()), None)
    if above is None or above == Path(above.anchor) or not above.is_relative_to(root.parents[1]):
        return []
    found = folders_with_handlers(above, folder)
    return [(other, names) for other, names in found if not other.is_relative_to(root)]


def _strays(project: Project, found: str) -> Check:
    """A handlers folder with files: a pass, unless files elsewhere in the project declare a
    Handler too (`src/ws/chat.py` beside `ws/`), which the sidecar (or `wsside serve`) never
    loads."""
    strays = handler_files_outside(project.root, project.handlers_dir)
    if not strays:
        return passed("handlers folder", found)
    shown = project.relative(project.handlers_dir)
    names = [project.relative(f) for f in strays]
    named = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    them = "it" if len(names) == 1 else "them"
    fix = f"move {them} into {shown}/"
    parents = {f.parent for f in strays}
    if len(parents) == 1 and project.root not in parents:
        fix += f", or {_point_at(project, parents.pop())}"
    return warned(
        "handlers folder",
        f"{found}; but {named} declare{'s' if len(names) == 1 else ''} a Handler outside "
        f"{shown}/, where {'wsside serve' if project.serve else 'the sidecar'} never loads {them}",
        fix,
    )


def _point_at(project: Project, folder: Path) -> str:
    """How to make `folder` the handlers folder: where it is set now, else the plugin."""
    here = project.relative(folder)
    config = project.config.file
    if "handlers" in project.plugin_options:
        # Relative to vite.config's folder, as the plugin takes it (`../api/ws`).
        option = Path(os.path.relpath(folder, project.root)).as_posix()
        return f"set the `handlers` option of wsside() in {_plugin_file(project)} to '{option}'"
    if config is not None:
        beside = Path(os.path.relpath(folder, config.parent)).as_posix()
        return f'set `handlers = "{beside}"` in {project.relative(config)}'
    return (
        f"pass `handlers: '{here}'` to wsside() in vite.config (or set "
        f'`handlers = "{here}"` in a wsside.toml beside it)'
    )


def check_handler_files(project: Project) -> Iterator[Check]:
    """One record per file: it imports, or the error with its file and line; imported by the
    Python the sidecar will run when it can be asked (`Project.handler_imports`)."""
    imports = project.handler_imports
    said = f" ({imports.said})" if imports.said else ""
    other = _other_running_python(project, imports.python)
    if other is not None:
        said = f" (imported with {imports.python}; {other}: see the interpreter check)"
    if imports.unasked and imports.results:
        yield warned(
            "handler imports",
            f"{imports.said[0].upper()}{imports.said[1:]}: {imports.unasked}",
            "see the interpreter check: the sidecar's Python needs wsside",
        )
    alike = _failing_alike(imports.results)
    for result in imports.results:
        name = f"handler {project.relative(result.path)}"
        error = result.error
        if error is None:
            yield passed(name, f"imports: {', '.join(result.patterns) or 'no Handler'}{said}")
            continue
        group = alike.get(result.path, [result.path])
        if group[0] != result.path:
            continue  # said on the row of the first file that fails for the same error
        where = error_place(error, project.relative)
        what = error["message"]
        each = said
        if len(group) > 1:
            names = [project.relative(path) for path in group]
            shown = names if len(names) <= 4 else [*names[:3], f"{len(names) - 3} more"]
            name = f"{name} and {len(group) - 1} more"  # short: the table's first column
            each = f" ({listed(shown)} import it){said}"
        missing = result.missing
        if what.startswith("PatternError"):
            fix = f"fix the pattern at {where}"
        elif what.startswith("StillImporting"):
            fix = f"move what blocks at {where} into a @background task, a callback or a thread"
        elif missing is not None:
            what = what.removesuffix(f": {missing.hint}")  # said by the fix instead
            if missing.installable:
                fix = (
                    f"`{install_command(imports.python, missing.module)}` (its name on PyPI "
                    f"may differ), or correct the import at {where}"
                )
            elif _OFF_THE_PATH in missing.hint:  # the import is right: the path is not
                fix = missing.hint
            else:
                fix = f"correct the import at {where}: {missing.hint}"
        else:
            fix = f"fix {where}, then {_reloads(project)}"
        yield failed(name, f"{where}: {what}{each}", fix)


def _failing_alike(results: Sequence[Imported]) -> dict[Path, list[Path]]:
    """The handler files that fail for one error raised in another file (a helper, a module
    they share), each with all of them: one row says it, not one per file that imports it."""
    by_error: dict[tuple[str, object, str], list[Path]] = {}
    for result in results:
        error = result.error
        if error is None or not error.get("file"):
            continue
        if os.path.realpath(error["file"]) == os.path.realpath(result.path):
            continue
        key = (os.path.realpath(error["file"]), error.get("line"), error["message"])
        by_error.setdefault(key, []).append(result.path)
    return {path: group for group in by_error.values() if len(group) > 1 for path in group}


def _reloads(project: Project) -> str:
    """What picks a fixed handler file up: Vite's sidecar on save; `wsside serve` on save too,
    unless it runs with --no-reload or `reload = false`, where a file that does not load stops
    its start."""
    if not project.serve:
        return "save: the sidecar reloads it"
    if project.settings.reload:
        return "save: wsside serve reloads it (with --no-reload or reload = false, start it again)"
    config = project.config.file
    how = (
        "--no-reload"
        if "reload" in project.given or config is None
        else f"reload = false in {project.relative(config)}"
    )
    return (
        f"start wsside serve again: with {how}, a handler file that does not load stops its start"
    )


def _other_running_python(project: Project, python: str) -> str | None:
    """What the running Vite of this project runs its sidecar with, when that is not
    `python`: then the imports said here are not the ones that Vite's sidecar sees."""
    if project.serve:
        return None
    for sidecar in running_sidecars(project):
        if sidecar.python and not same_python(sidecar.python, python):
            vite = sidecar.parent
            return f"the Vite running now (pid {vite}) runs its sidecar with {sidecar.python}"
    return None


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
    for shadowing in shadowings(handlers):
        clean = False
        yield warned("patterns", shadowing.message(lambda h: _at(project, h)), shadowing.fix())
    unread = _imported_there_only(project)
    if unread:
        python = project.handler_imports.python
        names = [name for name, _ in unread]
        named = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        yield warned(
            "patterns",
            f"{named} import{'s' if len(names) == 1 else ''} with {python}, the Python the "
            f"sidecar will run, but not in this doctor's Python, {sys.executable} "
            f"({unread[0][1]}): {'its' if len(names) == 1 else 'their'} patterns were not "
            "checked for duplicates or shadowing, and the live probes skipped "
            f"{'its' if len(names) == 1 else 'their'} endpoints"
            + (f"; {len(handlers)} other pattern(s) checked" if handlers else ""),
            f"run the doctor of the sidecar's Python: `{shlex.quote(python)} -m wsside doctor`",
        )
    elif clean:
        yield passed("patterns", f"{len(handlers)} pattern(s), no duplicates or shadowing")


def _imported_there_only(project: Project) -> list[tuple[str, str]]:
    """The handler files that import in the sidecar's Python but not in this doctor's (a
    wsside installed with pipx, say, without the project's packages), with the error here:
    the patterns and the live probes need the file imported in this process."""
    imports = project.handler_imports
    if same_python(imports.python, sys.executable):
        return []
    there = {r.path for r in imports.results if r.error is None}
    return [
        # Without the hint to install the module here: this Python is not the sidecar's.
        (project.relative(r.path), _without_hint(r.error["message"], r.missing))
        for r in project.loaded
        if r.error is not None and r.path in there
    ]


def _without_hint(message: str, missing: Missing | None) -> str:
    return message if missing is None else message.removesuffix(f": {missing.hint}")


def _at(project: Project, h: Handler) -> str:
    return f"{project.relative(h.file)}:{h.line}"
