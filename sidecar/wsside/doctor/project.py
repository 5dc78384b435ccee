"""`Project`: the facts about one Vite project that several checks need, each computed once.

Everything is lazy (`cached_property`), so a check only pays for what it reads, and a fact that
cannot be computed raises inside the check that needed it (the runner turns that into a
warning) instead of stopping the whole doctor.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .._project.interpreter import resolve_interpreter
from .._runtime.config import ConfigError, config_search, find_config, load_config
from .._runtime.helper_path import use_helpers_of
from .._runtime.loader import LoadResult
from .._runtime.module_names import handler_files, in_folder
from .._runtime.settings import Settings
from ..pattern import normalize_prefix
from .imports import import_within, imported
from .other_folders import is_vite_project, vite_projects_below
from .probe import DevServer, find_dev_server, is_vite
from .sidecar_env import as_the_sidecar, plugin_env
from .sidecar_imports import HandlerImports, imports_in, same_python
from .vite_config import ViteFacts, others_may_write, read_vite_config
from .vite_package import RunningVite, find_package, running_vite

__all__ = ["ConfigState", "Project", "serves_without_vite"]


@dataclass
class ConfigState:
    """The config file in use (None: defaults only) and the error that makes it unusable."""

    file: Path | None
    values: dict[str, Any]
    error: ConfigError | None = None


class Project:
    """A Vite project rooted at `root` (the folder of `vite.config.*`), or with `serve`, a
    folder that `wsside serve` runs in (no Vite: the handlers run in this Python).

    `url` is the dev server to probe (None: find one); `env` stands for `os.environ` (the
    interpreter rules read it); `timeout` bounds every subprocess and network probe; `live`
    False (`--no-live`): no WebSocket connection is opened to the endpoints. With `serve`,
    `given` holds the `Settings` values of `wsside serve`'s options (None: not given; its
    paths absolute) and `config` its `--config`, which win over the config file found.
    `without_vite` (with `serve`): plain `wsside doctor` chose `serve` itself, the folder being
    no Vite project (`serves_without_vite`). `step` hears of each slow step as it starts
    (`Progress.step`).
    """

    def __init__(
        self,
        root: Path,
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 20.0,
        serve: bool = False,
        live: bool = True,
        given: Mapping[str, Any] | None = None,
        config: Path | None = None,
        step: Callable[[str], None] | None = None,
        without_vite: bool = False,
    ) -> None:
        self.root: Path = root.resolve()
        self.url = url
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.timeout = timeout
        self.serve = serve
        self.live = live
        self.given: dict[str, Any] = {k: v for k, v in (given or {}).items() if v is not None}
        self.config_option = config
        self.step: Callable[[str], None] = step or (lambda _: None)
        self.without_vite = without_vite

    # ---- Vite side ----------------------------------------------------------------------

    @cached_property
    def node(self) -> str | None:
        return shutil.which("node", path=self.env.get("PATH"))

    @cached_property
    def vite(self) -> ViteFacts:
        self.step("asking Vite for the resolved vite.config")
        return read_vite_config(self.root, self.node, self.timeout)

    @cached_property
    def running_vite(self) -> RunningVite:
        """The Vite package the dev server runs: under Astro or Nuxt, the framework's own."""
        return running_vite(self.root)

    @cached_property
    def projects_below(self) -> list[str]:
        """When this folder has no Vite config: the Vite projects below it (a monorepo's root
        holds its app in `packages/web/`), relative to it; else none."""
        if self.serve or self.vite.file is not None:
            return []
        return [
            folder.relative_to(self.root).as_posix() for folder in vite_projects_below(self.root)
        ]

    @property
    def plugin_options(self) -> dict[str, Any]:
        """The options given to `wsside()` in vite.config, as far as they could be read."""
        return {} if self.serve else self.vite.wsside_options or {}

    @property
    def plugin_env(self) -> dict[str, str]:
        """The plugin's `env` option: what the sidecar's environment has over Vite's."""
        return plugin_env(self.plugin_options)

    @property
    def plugin_prefixes(self) -> tuple[str, ...] | None:
        """The plugin's `prefix` option, normalised as the shim does; None when not given (or
        not read), so that the config file decides for the server."""
        options = self.plugin_options
        # `prefix` as the user writes it; `prefixes` as the shim normalises it.
        prefix = options.get("prefix", options.get("prefixes"))
        if not isinstance(prefix, (str, list)):
            return None
        return tuple(normalize_prefix(p) for p in ([prefix] if isinstance(prefix, str) else prefix))

    def package_json(self, name: str) -> dict[str, Any] | None:
        """`node_modules/<name>/package.json` as Node would find it from the project root."""
        return find_package(name, self.root)

    # ---- Python side --------------------------------------------------------------------

    @cached_property
    def config(self) -> ConfigState:
        """The config file the sidecar reads: the plugin's `config` (`wsside serve`'s
        `--config`), else the first found where `wsside serve` looks (the project, then beside
        a `handlers` folder the plugin or `--handlers` names)."""
        options = self.plugin_options
        handlers = self.given.get("handlers_dir", options.get("handlers"))
        try:
            if self.config_option is not None:
                values, file = load_config(self.config_option)
            elif isinstance(options.get("config"), str):
                values, file = load_config(self.root / options["config"])
            else:
                named = handlers if isinstance(handlers, (str, Path)) else None
                found = find_config(*config_search(self.root, named))
                values, file = load_config(found) if found is not None else ({}, None)
        except ConfigError as exc:
            return ConfigState(exc.file, {}, exc)
        return ConfigState(file, values)

    @cached_property
    def settings(self) -> Settings:
        """Plugin options (`wsside serve`'s) > config file > defaults, as the shim (and
        `wsside serve`) applies them. A broken config
        counts as absent here (its own check reports it), so the other checks still run."""
        values = dict(self.config.values)
        options = self.plugin_options
        if self.plugin_prefixes is not None:
            values["prefixes"] = self.plugin_prefixes
        if isinstance(options.get("handlers"), str):
            # As the plugin resolves it (Node's path.resolve): `..` taken out, lexically.
            values["handlers_dir"] = Path(os.path.normpath(self.root / options["handlers"]))
        values.setdefault("handlers_dir", self.root / "ws")
        values.update(self.given)
        return Settings(**values, config_file=self.config.file, given=frozenset(self.given))

    @property
    def handlers_dir(self) -> Path:
        return Path(self.settings.handlers_dir)

    @property
    def handlers_from(self) -> str:
        """Where the handlers folder is set: `given` (`wsside serve --handlers`), `plugin` (the
        `handlers` option of wsside() in vite.config), `config` (the config file) or
        `default` (ws/)."""
        if "handlers_dir" in self.given:
            return "given"
        if isinstance(self.plugin_options.get("handlers"), str):
            return "plugin"
        return "config" if "handlers_dir" in self.config.values else "default"

    @cached_property
    def handler_files(self) -> list[Path]:
        return handler_files(self.handlers_dir)

    @cached_property
    def loaded(self) -> list[LoadResult]:
        """Each handler file imported once, in the sidecar's load order, able to import its
        helpers as in the sidecar, and in its environment under Vite (`sidecar_env.py`)."""
        use_helpers_of(self.handlers_dir)
        with nullcontext() if self.serve else as_the_sidecar(self.root, self.plugin_env):
            return [
                import_within(path, self.handlers_dir, self.timeout) for path in self.handler_files
            ]

    @cached_property
    def sidecar_python(self) -> tuple[str, str]:
        """(interpreter, rule) the shim would spawn the sidecar with (`_project/interpreter.py`);
        with `serve`, this Python, which `wsside serve` runs in."""
        if self.serve:
            return sys.executable, "wsside serve"
        option = self.plugin_options.get("python")
        return resolve_interpreter(self.root, option if isinstance(option, str) else None, self.env)

    @cached_property
    def handler_imports(self) -> HandlerImports:
        """How each handler file imports in the Python the sidecar will run: here when that
        is this one, else in a subprocess of it (`sidecar_imports.py`); when it cannot be asked,
        here, saying so."""
        python = self.sidecar_python[0]
        if same_python(python, sys.executable):
            return HandlerImports(sys.executable, [imported(r) for r in self.loaded])
        self.step(f"importing the handler files with {python}")
        answer = imports_in(
            python,
            self.handlers_dir,
            files=len(self.handler_files),
            timeout=self.timeout,
            root=self.root,
            vite=not self.serve,
            env=self.plugin_env,
        )
        if isinstance(answer, list):
            return HandlerImports(
                python, answer, f"imported with {python}, the Python the sidecar will run"
            )
        return HandlerImports(
            sys.executable,
            [imported(r) for r in self.loaded],
            f"imported with this doctor's Python, {sys.executable}",
            f"the sidecar will run {python}, which could not be asked: {answer}",
        )

    def relative(self, path: str | Path) -> str:
        """`path` relative to the project root, for short messages (a symlink by its own
        place, not its target's): outside it too (`../../services/realtime/ws/chat.py`, as
        Vite's terminal names it) unless its full path is shorter."""
        placed = in_folder(Path(path))
        try:
            return placed.relative_to(self.root).as_posix()
        except ValueError:
            pass
        try:
            up = Path(os.path.relpath(placed, self.root)).as_posix()
        except ValueError:  # another drive (Windows)
            return str(path)
        return up if len(up) < len(str(placed)) else str(path)

    @cached_property
    def dev_server(self) -> DevServer | None:
        """The running dev server to probe: `url` if Vite answers there, else one found."""
        self.step("looking for the running dev server")
        if self.url:
            url = self.url.rstrip("/")
            return DevServer(url, "--url") if is_vite(url, self.timeout, self.vite.base) else None
        facts = self.vite
        return find_dev_server(
            self.root, facts.port, facts.https, min(self.timeout, 3.0), facts.base
        )


def serves_without_vite(root: Path) -> bool:
    """`root` holds handler files and is no Vite project, nor inside or above one: no vite.config
    (nor Astro or Nuxt config) and no package.json, in it or a folder above (up to one another
    user may write, as `project_folder` looks), nor a Vite project below it (a monorepo's root).
    Its handlers then run in `wsside serve`, in development too. Any package.json counts: a
    Nuxt project needs neither a nuxt.config nor vite among its dependencies."""
    root = root.resolve()
    if _node_project(root):
        return False
    for folder in root.parents:
        if others_may_write(folder):
            break
        if _node_project(folder):
            return False
    return bool(Project(root, serve=True).handler_files) and not vite_projects_below(root)


def _node_project(folder: Path) -> bool:
    return is_vite_project(folder) or (folder / "package.json").is_file()
