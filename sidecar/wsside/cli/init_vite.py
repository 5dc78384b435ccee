"""`wsside init`'s vite.config step: the plugin added to the project's config (`vite_edit`
edits it; the original is kept as `.bak`), a config written where there is none, or the
lines to add by hand when the config is CommonJS, cannot be edited safely, or is Astro's or
Nuxt's own file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .._project.interpreter import venv_option_above
from .._project.vite_files import VITE_CONFIG_NAMES
from .._runtime.events import shown
from .init_files import (
    CannotInit,
    Outcome,
    check_editable,
    check_new,
    in_the_way,
    read_text,
    write_new,
)
from .js_tokens import CLOSE, OPEN, NotEditable, js_tokens
from .vite_edit import PLUGIN_CALL, SHIM, add_plugin, import_line, uses_plugin

__all__ = ["add_to_vite_config", "framework_config"]


def new_vite_config(call: str) -> str:
    """The vite.config init writes where there is none, with the plugin as `call`."""
    return (
        "import { defineConfig } from 'vite'\n"
        f"{import_line()}\n\n"
        "export default defineConfig({\n"
        f"  plugins: [{call}],\n"
        "})\n"
    )


def plugin_call(root: Path) -> str:
    """`wsside()`, or `wsside({ python: '../../.venv/bin/python' })` when init runs in a
    virtualenv of a folder above the project (a monorepo's root), which the plugin does not
    look for (it looks beside vite.config, and in the active one, which a teammate's shell
    may not have)."""
    python = venv_option_above(root)
    return PLUGIN_CALL if python is None else f"wsside({{ python: '{python}' }})"


def add_to_vite_config(root: Path, out: Outcome) -> None:
    call = plugin_call(root)
    # The first of the names that exists, as Vite picks it: a folder of that name is no config,
    # and a new config beside it would not be the one Vite loads.
    config = next((root / n for n in VITE_CONFIG_NAMES if os.path.lexists(root / n)), None)
    framework = framework_config(root)
    if framework is not None:
        # Astro and Nuxt build Vite's config from their own file and never read a vite.config
        # (not even one beside theirs, which is left as it is); theirs is code of the
        # framework's shape, which is not edited.
        name, file = framework
        if uses_plugin(read_text(file)):
            unread = "" if config is None else f" ({config.name} is not read by {name})"
            out.done.append(f"{file.name} already uses the plugin{unread}")
        else:
            out.todo.append(_framework_instructions(name, file, call, config))
        return
    if config is None:
        name, why = _new_config_name(root)
        write_new(root / name, new_vite_config(call), out)
        out.done.append(f"wrote {name} with the plugin{why}")
        return
    if not config.is_file():
        raise CannotInit(in_the_way(config, "file"))
    if config.suffix in (".cjs", ".cts"):
        out.todo.append(_esm_instructions(config, call))
        return
    text = read_text(config)
    mismatch = _brackets_problem(text)
    if mismatch is not None:  # an edit would leave it as broken, and claim success
        raise CannotInit(
            f"{shown(config)}:{mismatch}: fix it (Vite cannot load it either), then run wsside "
            "init again"
        )
    try:
        if uses_plugin(text):
            out.done.append(f"{config.name} already uses the plugin")
            return
        edited = add_plugin(text, call)
    except NotEditable as exc:
        if "CommonJS" in str(exc):
            out.todo.append(_esm_instructions(config, call))
        else:
            out.todo.append(_instructions(config, str(exc), call))
        return
    backup = config.with_name(config.name + ".bak")
    check_editable(config)
    if backup.is_file():
        check_editable(backup)
    else:
        check_new(backup)

    def edit() -> None:
        shutil.copy2(config, backup)
        config.write_text(edited, encoding="utf-8")

    out.writes.append(edit)
    out.backups.append(backup)
    out.done.append(f"added {call} to {config.name} (original kept as {config.name}.bak)")


def _brackets_problem(src: str) -> str | None:
    """`LINE: what` where the brackets of the JavaScript `src` do not match, or None when they
    do (or when the scan stops earlier, at a string never closed: `add_plugin` says that)."""
    try:
        tokens = js_tokens(src)
    except NotEditable:
        return None

    def line(at: int) -> int:
        return src.count("\n", 0, at) + 1

    opened: list[tuple[str, int]] = []  # each open bracket, and where it is
    for t in tokens:
        if t.kind != "punct":
            continue
        if t.text in OPEN:
            opened.append((t.text, t.start))
        elif t.text in CLOSE:
            if not opened:
                return f"{line(t.start)}: `{t.text}` closes nothing"
            bracket, at = opened.pop()
            if OPEN.index(bracket) != CLOSE.index(t.text):
                where = f"the `{bracket}` of line {line(at)}"
                return f"{line(t.start)}: `{t.text}` where {where} is still open"
    if opened:
        bracket, at = opened[-1]
        return f"{line(at)}: `{bracket}` is never closed"
    return None


def framework_config(root: Path) -> tuple[str, Path] | None:
    """Astro or Nuxt and its config file in `root` (the doctor's table), if any."""
    # Imported here: the doctor's package stays out of the sidecar's start-up (`wsside serve`
    # loads every command module).
    from ..doctor.vite_config import find_framework_config

    return find_framework_config(root)


def _new_config_name(root: Path) -> tuple[str, str]:
    """The config file to create, and why that extension when it is not the usual one."""
    typescript = (root / "tsconfig.json").is_file()
    if _package_type(root) == "module":
        return ("vite.config.ts" if typescript else "vite.config.js"), ""
    # Node reads a .js (or .ts) as CommonJS outside a "type": "module" package, and Vite
    # warns about CommonJS configs: the m makes it an ES module whatever the package says.
    name = "vite.config.mts" if typescript else "vite.config.mjs"
    return name, ' (an ES module: package.json has no "type": "module")'


def _package_type(root: Path) -> str | None:
    """package.json's "type", or None without one (or without package.json). A package.json
    that cannot be read is CannotInit: its "type" decides the new config's extension."""
    package = root / "package.json"
    if not os.path.lexists(package):
        return None
    if not package.is_file():
        raise CannotInit(in_the_way(package, "file"))
    try:
        data = json.loads(read_text(package))
    except json.JSONDecodeError as exc:
        raise CannotInit(
            f"{shown(package)}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno}): fix "
            "it, then run wsside init again"
        ) from None
    kind = data.get("type") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def _lines_to_add(call: str) -> str:
    return (
        f"      {import_line()}    (with the other imports)\n"
        f"      {call},    (first in the plugins array of the config)"
    )


def _instructions(config: Path, why: str, call: str) -> str:
    return (
        f"{config.name} was not edited: {why}.\n"
        f"    Add these lines to it yourself:\n{_lines_to_add(call)}"
    )


def _framework_instructions(framework: str, config: Path, call: str, unread: Path | None) -> str:
    """`unread`: a vite.config beside `config`, which the framework never reads."""
    elsewhere = "" if unread is None else f", not in {unread.name}, which {framework} never reads"
    return (
        f"{config.name} was not edited: {framework} builds Vite's config from it, so the plugin "
        f"goes under its `vite` key{elsewhere}.\n    Add these lines to it yourself:\n"
        f"      {import_line()}    (with the other imports)\n"
        f"      vite: {{ plugins: [{call}] }},    (in the object it exports; "
        "or add wsside() to the plugins of an existing `vite` key)"
    )


def _esm_instructions(config: Path, call: str) -> str:
    esm = config.with_suffix(".mts" if config.suffix in (".cts", ".ts") else ".mjs").name
    return (
        f"{config.name} was not edited: it is CommonJS, and {SHIM} is an ES "
        f"module.\n    Rename it to {esm}, turn its require() calls into imports and "
        f"module.exports into export default, then add:\n{_lines_to_add(call)}"
    )
