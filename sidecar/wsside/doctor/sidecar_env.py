"""The environment in which the Vite plugin's sidecar imports the handler files, for `wsside
doctor` and `wsside types` to import them in the same one.

The plugin runs `python -m wsside serve --ipc` in vite.config's folder, which is therefore
first on the import path, with its `env` option over Vite's own environment: a relative
folder in its PYTHONPATH (`env: { PYTHONPATH: '../api' }`, a monorepo's Python app beside the
Vite app) is relative to vite.config's folder, where Python resolves it at start-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._runtime.missing_module import for_vite

__all__ = ["as_the_sidecar", "plugin_env", "python_path"]


def plugin_env(options: Mapping[str, Any]) -> dict[str, str]:
    """The plugin's `env` option (as far as it was read: its string values), from its options."""
    env = options.get("env")
    if not isinstance(env, dict):
        return {}
    return {k: v for k, v in env.items() if isinstance(k, str) and isinstance(v, str)}


def python_path(root: Path, env: Mapping[str, str]) -> list[str]:
    """The folders of `env`'s PYTHONPATH, a relative one taken from `root` (vite.config's
    folder, the sidecar's current one)."""
    entries = env.get("PYTHONPATH", "").split(os.pathsep)
    return [os.path.normpath(root / entry) for entry in entries if entry]


@contextmanager
def as_the_sidecar(root: Path, env: Mapping[str, str]) -> Iterator[None]:
    """Within it, imports go as in the sidecar of the Vite project in `root` whose plugin has
    the `env` option `env`: `env` is in `os.environ`, `root` and the folders of its PYTHONPATH
    come first on `sys.path`, and a module not found gets the hint of a sidecar under Vite
    (`for_vite`). All undone at the end; the modules imported stay imported."""
    root = root.resolve()
    added = [str(root), *python_path(root, env)]
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    sys.path[0:0] = added
    try:
        with for_vite(root):
            yield
    finally:
        for folder in added:
            if folder in sys.path:
                sys.path.remove(folder)
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
