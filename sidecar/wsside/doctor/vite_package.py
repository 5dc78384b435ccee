"""Which Vite package runs the dev server: under Astro or Nuxt, the one the framework imports
(resolved from the framework's own folder, as Node does), which may differ from a top-level
`node_modules/vite` or exist without one; elsewhere the project's own."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .vite_config import find_framework_config, find_vite_config

__all__ = [
    "FRAMEWORK_PACKAGES",
    "RunningVite",
    "depends_on",
    "find_package",
    "read_manifest",
    "running_vite",
]

# The framework's npm package, and its dev command's words in a package.json script.
FRAMEWORK_PACKAGES = {"Astro": "astro", "Nuxt": "nuxt"}
_DEV_WORDS = {"Astro": ("astro",), "Nuxt": ("nuxt", "nuxi")}
# Nuxt imports its builder from the project's folder first, then from its own; the builder
# imports Vite (nuxt/src/core/builder.ts, loadBuilder).
_NUXT_BUILDER = "@nuxt/vite-builder"


def find_package(name: str, start: Path) -> dict[str, Any] | None:
    """`<name>/package.json` as Node's resolution finds it from the folder `start` (its real
    path, as Node takes a module's folder: pnpm's links lead into `.pnpm/`): in
    `node_modules/` of `start` and of each folder above it, not of a `node_modules` folder
    itself. Its file is under the key `__file__`."""
    start = Path(os.path.realpath(start))
    for folder in (start, *start.parents):
        if folder.name == "node_modules":
            continue
        candidate = folder / "node_modules" / name / "package.json"
        if candidate.is_file():
            data: dict[str, Any] = json.loads(candidate.read_text(encoding="utf-8"))
            data["__file__"] = str(candidate)
            return data
    return None


def plug_n_play(start: Path) -> Path | None:
    """Yarn's Plug'n'Play map (`.pnp.cjs`) of the project at `start` (or of a folder above
    it), or None: under it, packages live in Yarn's cache, not in a node_modules folder."""
    start = Path(os.path.realpath(start))
    for folder in (start, *start.parents):
        if (folder / ".pnp.cjs").is_file():
            return folder / ".pnp.cjs"
    return None


def read_manifest(folder: Path) -> dict[str, Any]:
    """`folder`'s package.json, or {} when there is none that holds an object."""
    try:
        data = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def depends_on(folder: Path, name: str) -> bool:
    """Whether `folder`'s package.json lists `name` among its dependencies or
    devDependencies."""
    package = read_manifest(folder)
    return any(
        isinstance(package.get(key), dict) and name in package[key]
        for key in ("dependencies", "devDependencies")
    )


def _folder(package: dict[str, Any]) -> Path:
    return Path(package["__file__"]).parent


@dataclass
class RunningVite:
    """`package`: the package.json of the Vite that runs (None: not installed). `framework`
    and its `framework_package` when the Vite is the framework's; `top_level`: the project's
    own `node_modules/vite` when it is another package than the one that runs."""

    package: dict[str, Any] | None
    framework: str | None = None
    framework_package: dict[str, Any] | None = None
    top_level: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """ "Vite 6.3.5", with whose it is when a framework runs it."""
        version = (self.package or {}).get("version", "?")
        if self.framework is None or self.framework_package is None:
            return f"Vite {version}"
        runner = f"{self.framework} {self.framework_package.get('version', '?')}"
        return f"Vite {version} (the one {runner} runs)"


def project_framework(root: Path) -> str | None:
    """Astro or Nuxt when the project is one: its config file, else its dev script, else
    (with no vite.config either, which plain Vite would run on) package.json's dependencies."""
    found = find_framework_config(root)
    if found is not None:
        return found[0]
    manifest = read_manifest(root)
    listed: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        if isinstance(manifest.get(key), dict):
            listed.update(manifest[key])
    scripts = manifest.get("scripts")
    dev = scripts.get("dev") if isinstance(scripts, dict) else None
    words = set(re.findall(r"[\w@/.-]+", dev)) if isinstance(dev, str) else set()
    for framework in FRAMEWORK_PACKAGES:
        if words & set(_DEV_WORDS[framework]):
            return framework
    if find_vite_config(root) is not None:
        return None
    return next((f for f, package in FRAMEWORK_PACKAGES.items() if package in listed), None)


def running_vite(root: Path) -> RunningVite:
    """The Vite that `root`'s dev server runs (see the module's docstring)."""
    own = find_package("vite", root)
    framework = project_framework(root)
    package = None if framework is None else find_package(FRAMEWORK_PACKAGES[framework], root)
    if framework is None or package is None:
        return RunningVite(own)
    importer = package
    if framework == "Nuxt":
        importer = (
            find_package(_NUXT_BUILDER, root)
            or find_package(_NUXT_BUILDER, _folder(package))
            or package
        )
    vite = find_package("vite", _folder(importer))
    if vite is None:
        return RunningVite(own)
    other = own is not None and not Path(own["__file__"]).samefile(vite["__file__"])
    return RunningVite(vite, framework, package, own if other else None)
