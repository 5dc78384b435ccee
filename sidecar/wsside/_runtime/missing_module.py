"""What to say when a handler file imports a module that cannot be found.

The usual cause is a package installed for another Python than the one running the handlers
(under Vite, the interpreter the plugin chose); the other is a misspelt helper of the handlers
folder, which pip cannot fix. The loader adds `Missing.hint` to the load error, and `wsside
doctor` builds its fix from the same record.

Under Vite (the sidecar the plugin runs, `wsside serve --ipc` in vite.config's folder, or
`wsside doctor` and `wsside types` importing a Vite project's handler files, `for_vite`), a
module of the app off the import path is put there by the plugin's `env` option, not by the
folder the command runs in.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .._install import pip_install
from .events import shown

__all__ = [
    "PACKAGES",
    "Missing",
    "for_vite",
    "install_command",
    "missing_module",
    "removed_error",
    "removed_hint",
    "stdlib_shadow_hint",
    "typing_name_hint",
    "under_vite",
    "with_hint",
]

# The folder of vite.config while `for_vite` imports a Vite project's handler files here.
_vite_root: Path | None = None


@contextmanager
def for_vite(root: Path) -> Iterator[None]:
    """Within it, the hints are those of the sidecar that the Vite plugin runs for the project
    whose vite.config is in `root` (`wsside doctor` and `wsside types` importing its files)."""
    global _vite_root
    before, _vite_root = _vite_root, root.resolve()
    try:
        yield
    finally:
        _vite_root = before


def under_vite(root: Path) -> None:
    """This process is the sidecar the Vite plugin runs, in vite.config's folder `root`: from
    now on the hints are for it."""
    global _vite_root
    _vite_root = root.resolve()


def _vite_folder() -> Path | None:
    """vite.config's folder when the handler files are imported for Vite, else None."""
    return _vite_root


@dataclass(frozen=True)
class Missing:
    """`module`: the top-level name not found; `installable`: nothing in the handlers folder
    looks like it, so it is taken for a package to install; `hint`: one line for the user."""

    module: str
    installable: bool
    hint: str


# Well-known modules whose package on PyPI has another name (`pip install yaml` finds
# nothing, or a stranger's package): the install command names the package.
PACKAGES = {
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "Crypto": "pycryptodome",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "docx": "python-docx",
    "dotenv": "python-dotenv",
    "fitz": "PyMuPDF",
    "git": "GitPython",
    "jose": "python-jose",
    "jwt": "PyJWT",
    "magic": "python-magic",
    "multipart": "python-multipart",
    "MySQLdb": "mysqlclient",
    "nacl": "PyNaCl",
    "OpenSSL": "pyOpenSSL",
    "PIL": "Pillow",
    "pptx": "python-pptx",
    "serial": "pyserial",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "socketio": "python-socketio",
    "telegram": "python-telegram-bot",
    "usb": "pyusb",
    "websocket": "websocket-client",
    "yaml": "PyYAML",
    "zmq": "pyzmq",
}


def install_command(python: str, module: str) -> str:
    """pip into `python`, naming the package of the module (its name, unless `PACKAGES` knows
    another), as a command to paste: a path with a space (`My App/.venv/bin/python`) is
    quoted. A virtualenv made by uv has no pip: uv's own pip installs into it."""
    return pip_install(python, PACKAGES.get(module, module))


def missing_module(
    exc: ModuleNotFoundError, file: Path, root: Path, python: str = sys.executable
) -> Missing | None:
    """What `exc`, raised while importing the handler file `file` of the handlers folder
    `root`, means; None when there is nothing useful to add (a package that is installed but
    lacks a submodule: its message says all)."""
    name = exc.name or ""
    top = name.partition(".")[0]
    if not top.isidentifier():
        return None
    root = root.resolve()
    local = _local_modules(root)
    if top in local and name != top:
        return Missing(
            top,
            False,
            f"`{top}` is in the handlers folder ({shown(root)}), `{name}` is not: "
            "check the import's spelling",
        )
    beside = file.resolve().parent
    if beside != root and top in _local_modules(beside):
        dotted = ".".join([*beside.relative_to(root).parts, top])
        return Missing(
            top,
            False,
            f"`{top}` is beside {file.name}, but only the handlers folder ({shown(root)}) is "
            f"on the import path: `import {dotted}`",
        )
    if _installed(top):
        return None
    here = Path.cwd().resolve()
    vite = _vite_folder()
    for folder in dict.fromkeys((here, root.parent)):
        if top in _local_modules(folder):  # the app's own module, off this import path
            where = "the current folder" if folder == here else shown(folder)
            if vite is not None:
                return Missing(
                    top,
                    False,
                    f"`{top}` is in {where}, which is not on the import path here: put it "
                    f"there with the plugin's `env` option, `{_env_option(folder, vite)}` in "
                    "vite.config (relative to vite.config's folder)",
                )
            fix = (
                "under pytest, add `pythonpath = .` to its ini file"
                if folder == here
                else "run from that folder"
            )
            return Missing(
                top,
                False,
                f"`{top}` is in {where}, which is not on the import path here: {fix} "
                "(`wsside serve`, `python -m` and uvicorn put the folder they run in on it)",
            )
    close = difflib.get_close_matches(top, sorted(local), n=1)
    if close:
        return Missing(
            top,
            False,
            f"no `{top}` in the handlers folder ({shown(root)}): did you mean `{close[0]}`?",
        )
    # A misspelt (or renamed) module of the app's own, beside the handlers folder: no pip
    # command, which would install whatever a stranger published under the typo. Only a
    # near miss (`utlis`, `util` for `utils`, `auht`): `redis` is no typo of a `redis_conf.py`.
    for folder in dict.fromkeys((here, root.parent)):
        own = sorted(_local_modules(folder) - {root.name})
        close = difflib.get_close_matches(top, own, n=1, cutoff=0.75)
        if close:
            where = "the current folder" if folder == here else shown(folder)
            return Missing(
                top,
                False,
                f"`{top}` is not installed for the Python that runs the handlers, nor in "
                f"{where}, which has `{close[0]}`: did you mean `{close[0]}`?",
            )
    if top.startswith("_"):  # the handlers folder's own naming for helpers
        return Missing(
            top,
            False,
            f"`{top}` is neither a helper in the handlers folder ({shown(root)}) nor installed "
            f"for the Python that runs the handlers ({python}): check its name",
        )
    return Missing(
        top,
        True,
        f"`{top}` is not installed for the Python that runs the handlers ({python}): "
        f"`{install_command(python, top)}`"
        + ("" if top in PACKAGES else " (the package's name on PyPI may differ from the module's)"),
    )


def removed_error(
    exc: ModuleNotFoundError, removed: Collection[Path], root: Path
) -> dict[str, Any] | None:
    """The load error of the module of `removed` (files of the handlers folder `root` removed
    while serving) that `exc` did not find, None for another: one for all its importers
    (`HelperErrors`), without a traceback of each import; `removed_hint` words it for them."""
    for path in removed:
        parts = path.relative_to(root.resolve()).with_suffix("").parts
        if ".".join(parts[:-1] if parts[-1] == "__init__" else parts) == exc.name:
            event: dict[str, Any] = {"type": "load_error", "file": str(path), "line": None}
            event.update(column=None, message=f"{shown(path)} was removed", traceback=None)
            return {**event, "removed": True}
    return None


def removed_hint(module: str, importers: list[str]) -> str:
    """The message of `module`'s load error (`removed_error`), said for the files it failed."""
    if len(importers) == 1:
        fix = f"the import in {shown(importers[0])} (it keeps serving its previous version"
    else:
        fix = "their imports (they keep serving their previous version"
    return f"{shown(module)} was removed: restore it, or change {fix} meanwhile)"


def _env_option(folder: Path, vite: Path) -> str:
    """`wsside({ env: { PYTHONPATH: '../api' } })`: `folder` relative to vite.config's folder,
    after the folders PYTHONPATH holds already (the option's value replaces the variable)."""
    relative = Path(os.path.relpath(folder, vite)).as_posix()
    held = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    return f"wsside({{ env: {{ PYTHONPATH: '{os.pathsep.join([*held, relative])}' }} }})"


def _local_modules(folder: Path) -> set[str]:
    """The names `import` would find in `folder`: its `.py` files and its folders."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return set()
    return {
        entry.stem if entry.suffix == ".py" else entry.name
        for entry in entries
        if (entry.suffix == ".py" and entry.is_file())
        or (entry.is_dir() and entry.name.isidentifier() and not entry.name.startswith("__"))
    }


def _installed(top: str) -> bool:
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def typing_name_hint(exc: ImportError) -> str | None:
    """For `from typing import NotRequired` on a Python whose typing lacks the name (3.10:
    NotRequired, Required, Self...): where the name is on this Python, `typing_extensions`,
    as the README's examples say in a comment. None for any other import error."""
    found = re.fullmatch(r"cannot import name '(\w+)' from 'typing'.*", str(exc), re.S)
    if exc.name != "typing" or found is None:
        return None
    name = found[1]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if not _installed("typing_extensions"):
        where = pip_install(sys.executable, "typing_extensions")
        return f"typing has no {name} on Python {version}: `{where}`, then import it from there"
    import typing_extensions

    if not hasattr(typing_extensions, name):
        return None
    return f"typing has no {name} on Python {version}: from typing_extensions import {name}"


# A name to suggest for a module of the handlers folder named like one of the standard
# library's; any other gets `my_<name>`.
_RENAMES = {"types": "models"}


def stdlib_shadow_hint(exc: BaseException, root: Path) -> str | None:
    """When `exc` (an ImportError or AttributeError while a handler file loads) is about a
    standard library module whose name a file or folder at the top of the handlers folder
    `root` has (`ws/types.py`: `from types import Foo` finds the standard library's), that
    that file is not what the import finds; None otherwise."""
    if isinstance(exc, ImportError):
        name = exc.name
    elif isinstance(exc, AttributeError):
        obj = getattr(exc, "obj", None)
        found = re.match(r"module '([\w.]+)' has no attribute ", str(exc))
        name = obj.__name__ if isinstance(obj, ModuleType) else found[1] if found else None
    else:
        return None
    top = (name or "").partition(".")[0]
    if top not in sys.stdlib_module_names:
        return None
    rename = _RENAMES.get(top, f"my_{top}")
    for mine, example in ((root / f"{top}.py", f"{rename}.py"), (root / top, f"{rename}/")):
        if mine.is_file() if mine.suffix == ".py" else mine.is_dir():
            return (
                f"{shown(mine)}{'' if mine.suffix == '.py' else '/'} is not what `import {top}` "
                f"finds: the standard library's {top} module comes first; rename it "
                f"(e.g. {example})"
            )
    return None


def with_hint(exc: BaseException, hint: str) -> BaseException:
    """`exc` with `: hint` after its message (the last line of its traceback, all `wsside
    serve` prints, says it too), of its type and with its traceback."""
    text = f"{exc}: {hint}"
    new: BaseException
    if isinstance(exc, ModuleNotFoundError):
        new = ModuleNotFoundError(text, name=exc.name, path=exc.path)
    elif isinstance(exc, ImportError):
        new = ImportError(text, name=exc.name, path=exc.path)
    elif isinstance(exc, AttributeError):
        new = AttributeError(text)
        new.name, new.obj = exc.name, getattr(exc, "obj", None)
    elif type(exc) is KeyError:
        new = _KeyErrorWithHint(text)
    else:
        new = type(exc)(text)
    return new.with_traceback(exc.__traceback__)


class _KeyErrorWithHint(KeyError):
    """A `KeyError` whose message is its text as written (`with_hint`): a plain KeyError
    shows its argument's repr, which would quote the whole hint."""

    def __str__(self) -> str:
        return str(self.args[0])


# Tracebacks and error lines name the type as users know it: `KeyError: 'X': …`.
_KeyErrorWithHint.__module__ = "builtins"
_KeyErrorWithHint.__qualname__ = _KeyErrorWithHint.__name__ = "KeyError"
