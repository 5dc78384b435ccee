"""Message types: a TypeScript project whose tsconfig does not include `wsside-env.d.ts`
type-checks the page without the handlers' `receives`/`sends`; one whose `wsside-env.d.ts` is
missing or older than the handlers fails to build, or builds against old types."""

from __future__ import annotations

import os
import subprocess

from .._project.tsconfig import inclusion
from .._runtime.typescript import FILE_NAME, UNTYPED
from .model import Check, passed, warned
from .project import Project

__all__ = ["check_generated_types", "check_types_file"]


def check_types_file(project: Project) -> Check:
    name = "message types"
    state = inclusion(project.root)
    if state.config is None:
        return passed(name, "not a TypeScript project (no tsconfig.json)")
    where = project.relative(state.config)
    typed = [
        h.pattern.source
        for result in project.loaded
        for h in result.handlers
        if h.receives is not None or h.sends is not None
    ]
    broken = [project.relative(r.path) for r in project.loaded if r.error is not None]
    if not typed and broken:  # what they declare is unknown: their own checks say why
        which = "does not load (see its check)" if len(broken) == 1 else "do not load"
        return passed(name, f"not known for {', '.join(broken)}, which {which}")
    if not typed:
        return passed(name, "no handler declares receives= or sends=")
    if state.included is None:
        return warned(
            name, f"{state.problem}, so whether it includes {state.entry} is unknown", state.advice
        )
    # The `include` in effect may be inherited through `extends` (SvelteKit's, say).
    through = "" if state.base is None else f" (through {project.relative(state.base)})"
    if not state.included:
        return warned(
            name,
            f"{where}{through} does not include {state.entry}: the editor and tsc do not see "
            f"the types of {', '.join(typed)}",
            state.advice + ("   (or run wsside init)" if state.editable else ""),
        )
    return passed(name, f"{where}{through} includes {state.entry} ({len(typed)} typed endpoint(s))")


def check_generated_types(project: Project) -> Check:
    """`wsside-env.d.ts` is what `wsside types` writes now: a missing one fails `tsc -b` (the
    build script of Vite's TypeScript templates) on a page's `import ... from '../wsside-env'`,
    and a stale one (a `sends` class changed while Vite was stopped) type-checks the pages
    against the old types. The text is `wsside types`' own, run in the Python the sidecar
    runs (whose wsside writes the file under Vite), compared byte for byte."""
    name = "generated types"
    if inclusion(project.root).config is None:
        return passed(name, "not a TypeScript project (no tsconfig.json)")
    if project.config.error is not None:
        return passed(name, "not compared: the config file does not load (see the config check)")
    if not project.handlers_dir.is_dir():
        return passed(name, "no handlers folder (see the handlers folder check)")
    imports = project.handler_imports
    if any(r.error is not None for r in imports.results):
        return passed(name, "not compared: a handler file does not load (see its check)")
    fix = f"run `{_command(project)}`, or start Vite, which writes it"
    expected = _types_now(project, imports.python)
    if isinstance(expected, str):
        return warned(name, f"cannot tell whether {FILE_NAME} is up to date: {expected}", fix)
    file = project.root / FILE_NAME
    folder = f"{project.relative(project.handlers_dir)}/"
    try:
        actual = file.read_bytes()
    except FileNotFoundError:
        # Nothing imports it yet, and tsc needs nothing from it (its list of paths only
        # narrows what connect() takes).
        if f"\n{UNTYPED}\n".encode() in expected:
            return passed(name, f"no handler in {folder} declares receives= or sends=")
        return warned(
            name,
            f"{FILE_NAME} is missing: tsc (`tsc -b` in npm run build) cannot find the module "
            f"of a page's import from wsside-env, and sees the endpoints of {folder} untyped",
            fix,
        )
    except OSError as exc:
        return warned(name, f"cannot read {FILE_NAME}: {exc.strerror or exc}", fix)
    if actual == expected:
        return passed(name, f"{FILE_NAME} is what wsside types writes for {folder} now")
    line = _first_difference(actual, expected)
    return warned(
        name,
        f"{FILE_NAME} is out of date with the handlers in {folder} (from its line {line}): tsc "
        "checks the pages against old types",
        fix,
    )


def _command(project: Project) -> str:
    """The `wsside types` line that writes the file, run in the project's folder."""
    words = ["wsside", "types", "--out", FILE_NAME]
    options = project.plugin_options
    for option in ("handlers", "config"):  # the plugin's, which no config file says
        if isinstance(options.get(option), str):
            words += [f"--{option}", options[option]]
    return " ".join(words)


def _types_now(project: Project, python: str) -> bytes | str:
    """What `wsside types` prints for the project, run by `python` in its folder (so the
    files it names are relative to it, as the plugin's are), or why it could not be had."""
    command = [python, "-m", "wsside", "types", "--handlers", str(project.handlers_dir)]
    if project.config.file is not None:
        command += ["--config", str(project.config.file)]
    project.step(f"asking wsside types for the text of {FILE_NAME}")
    limit = project.timeout * (len(project.handler_files) + 1)
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=limit,
            cwd=project.root,
            # The plugin's `env` too: a PYTHONPATH there is what the handlers import from.
            env={**os.environ, **project.plugin_env, "PYTHONIOENCODING": "utf-8"},
        )
    except OSError as exc:
        return f"cannot run {python}: {exc.strerror or exc}"
    except subprocess.TimeoutExpired:
        return f"wsside types did not finish within {limit:g} s"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"]
        return f"wsside types exited {done.returncode}: {said[-1]}"
    # Printed, its lines end in \r\n on Windows, where the written file's end in \n (the text
    # holds no \r of its own: strings are escaped, comments split into lines).
    return done.stdout.replace(b"\r\n", b"\n")


def _first_difference(actual: bytes, expected: bytes) -> int:
    """The number of the first line where the two texts differ."""
    old, new = actual.splitlines(), expected.splitlines()
    same = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), None)
    return (min(len(old), len(new)) if same is None else same) + 1
