"""The `include`, `files` and `exclude` a tsconfig compiles with, through its `extends`.

TypeScript takes each of the three from the config itself when it has it, else from the
config it extends (the last of an `extends` array that has it, each base resolved the same
way), with the paths relative to the config that declares them, except those that start with
`${configDir}` (TypeScript 5.5), which stands for the folder of the config compiled, wherever
the pattern is declared (`anchored`). `extends` is a path (`./`,
`../` or absolute, `.json` optional) or a package specifier found in `node_modules` (the
file named, or the package's `tsconfig` field, or its `tsconfig.json`). SvelteKit's root
tsconfig only extends `.svelte-kit/tsconfig.json`, whose `include` is the one in effect.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jsonc import read_jsonc

__all__ = ["CONFIG_DIR", "KEYS", "ChainError", "Declared", "Effective", "anchored", "effective"]

KEYS = ("include", "files", "exclude")
CONFIG_DIR = "${configDir}"


class ChainError(Exception):
    """A config of the chain cannot be read or resolved: the message says which and why."""


@dataclass(frozen=True)
class Declared:
    """One of `KEYS` as a config declares it: the value, and that config."""

    value: Any
    config: Path


@dataclass
class Effective:
    """What TypeScript compiles `chain[0]` with: each of `KEYS` it has (own or inherited), and
    every config read, the first one first."""

    lists: dict[str, Declared] = field(default_factory=dict)
    chain: list[Path] = field(default_factory=list)


def effective(config: Path, name: Callable[[Path], str] = str) -> Effective:
    """The lists in effect for `config`; ChainError naming the config that cannot be used.
    `name(path)` is how a path is shown."""
    return _effective(config, (), name)


def anchored(pattern: str, declared: Path, compiled: Path) -> tuple[Path, str]:
    """The folder `pattern` of the config `declared` is relative to, when TypeScript compiles
    the config `compiled`, and the pattern relative to it (`.` for the folder itself)."""
    if not pattern.startswith(CONFIG_DIR):
        return declared.parent, pattern
    return compiled.parent, pattern[len(CONFIG_DIR) :].lstrip("/") or "."


def _effective(config: Path, seen: tuple[Path, ...], name: Callable[[Path], str]) -> Effective:
    if config in seen:
        raise ChainError(f"{name(seen[-1])} extends {name(config)}, which extends it back")
    try:
        # tsc reads a file that starts with a BOM, as editors on Windows may write it.
        data = read_jsonc(config.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        by = f" (extended by {name(seen[-1])})" if seen else ""
        raise ChainError(f"cannot read {name(config)}{by}: {why}") from None
    bases = data.get("extends")
    specs = [] if bases is None else [bases] if isinstance(bases, str) else bases
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        raise ChainError(f'"extends" in {name(config)} is not a string or a list of strings')
    out = Effective(chain=[config])
    for spec in specs:
        base = _resolve(spec, config, name)
        inherited = _effective(base, (*seen, config), name)
        out.lists.update(inherited.lists)  # a later base wins
        out.chain += inherited.chain
    out.lists.update({k: Declared(data[k], config) for k in KEYS if data.get(k) is not None})
    return out


def _resolve(spec: str, config: Path, name: Callable[[Path], str]) -> Path:
    """The file `extends: spec` in `config` names."""
    if spec.startswith(("./", "../", "/")) or os.path.isabs(spec):
        path = config.parent / spec
        if not path.is_file() and not spec.endswith(".json"):
            path = path.with_name(path.name + ".json")
        return path  # when absent, reading it says so
    for folder in (config.parent, *config.parent.parents):
        found = _in_package(folder / "node_modules" / spec)
        if found is not None:
            return found
    raise ChainError(
        f'cannot read "{spec}" (extended by {name(config)}): not found in node_modules '
        "(run npm install)"
    )


def _in_package(path: Path) -> Path | None:
    if path.is_file():
        return path
    if path.with_name(path.name + ".json").is_file():
        return path.with_name(path.name + ".json")
    if not path.is_dir():
        return None
    try:
        wanted = json.loads((path / "package.json").read_text(encoding="utf-8")).get("tsconfig")
    except (OSError, ValueError, AttributeError):
        wanted = None
    target = path / (wanted if isinstance(wanted, str) else "tsconfig.json")
    return target if target.is_file() else None
