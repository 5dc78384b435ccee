"""The command that installs a package into a given Python, for the messages that give one
(a missing module, a dependency out of its range, doctor's fixes): pip, or uv's pip for a
virtualenv that `uv venv` made (it has no pip). Imports only the standard library, so that
every layer may use it."""

from __future__ import annotations

import json
import shlex
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["pip_install", "venv_config", "wsside_requirement"]


def pip_install(python: str, what: str) -> str:
    """`python -m pip install WHAT`, or for a virtualenv made by uv (which has no pip),
    `uv pip install --python PYTHON WHAT`: a command to paste."""
    if _made_by_uv(python):
        return f"uv pip install --python {shlex.quote(python)} {what}"
    return f"{shlex.quote(python)} -m pip install {what}"


def wsside_requirement(extra: str | None = None) -> str:
    """What pip installs to get the wsside running now, with `extra` (`redis`, `speed`),
    quoted for a shell: its source folder when it came from one (`-e '/src/wsside[redis]'`,
    as before a release is published: the release would replace it), else the release of
    the same version (`'wsside[redis]==0.1.0'`)."""
    from . import __version__  # (the package's own __init__ imports nothing of this module)

    tail = f"[{extra}]" if extra else ""
    try:
        origin = json.loads(metadata.distribution("wsside").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        origin = {}
    url = origin.get("url", "") if isinstance(origin, dict) else ""
    info = origin.get("dir_info") if isinstance(origin, dict) else None
    if isinstance(url, str) and url.startswith("file://") and isinstance(info, dict):
        folder = shlex.quote(unquote(urlsplit(url).path) + tail)
        return f"-e {folder}" if info.get("editable") is True else folder
    return shlex.quote(f"wsside{tail}=={__version__}")


def _made_by_uv(python: str) -> bool:
    """`python` is of a virtualenv that `uv venv` made: its pyvenv.cfg has a `uv = VERSION`
    line."""
    found = venv_config(python)
    return found is not None and "uv" in found[1]


def venv_config(python: str) -> tuple[Path, dict[str, str]] | None:
    """The folder and the settings (keys in lower case) of the pyvenv.cfg of `python`'s
    virtualenv, beside the executable or one folder up, where Python looks for it; None
    when it has none (not a virtualenv, or unreadable)."""
    executable = Path(python)  # not resolved: a virtualenv's python links to the base one
    for folder in (executable.parent, executable.parent.parent):
        try:
            lines = (folder / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        pairs = (line.partition("=") for line in lines if "=" in line)  # as site.py reads it
        return folder, {key.strip().lower(): value.strip() for key, _, value in pairs}
    return None
