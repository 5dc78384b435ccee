"""Which files a worker of `wsside serve --workers N` serves, and which differ between two
workers: how the parent sees that a restarted worker serves an edit not yet rolled out.

A worker reads its handler files and the config file once, as it starts: one restarted by
the parent (it died) reads them as they are on disk then, while the others serve what they
read at the service's start or the last SIGHUP. Each worker reports a digest of each `.py`
file under its handlers folder (handlers and helpers) and of the config file in its ready
message; the parent compares a restarted worker's with the others'.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from .._places import shown
from .._runtime.module_names import is_handler_file, is_helper_file
from .._runtime.settings import Settings

__all__ = ["changed_files", "served_files"]


def served_files(settings: Settings) -> dict[str, dict[str, str]]:
    """`handlers` and `config`: each file (as log lines name it) and a digest of its content."""
    root = settings.handlers_dir
    handlers = (
        sorted(
            path
            for path in root.rglob("*.py")
            if is_handler_file(path.relative_to(root)) or is_helper_file(path.relative_to(root))
        )
        if root.is_dir()
        else []
    )
    config = [settings.config_file] if settings.config_file is not None else []
    return {"handlers": _digests(handlers), "config": _digests(config)}


def _digests(paths: Iterable[Path]) -> dict[str, str]:
    digests = {}
    for path in paths:
        try:
            digests[shown(path)] = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        except OSError:  # removed meanwhile, or unreadable: it differs from what was read
            digests[shown(path)] = ""
    return digests


def changed_files(
    mine: dict[str, dict[str, str]], others: Iterable[dict[str, dict[str, str]]]
) -> str | None:
    """What a restarted worker (`mine`) serves that differs from the other workers' files:
    `handler files changed since … (ws/chat.py)`, or None when it serves the same."""
    changed: dict[str, set[str]] = {"handlers": set(), "config": set()}
    for theirs in others:
        for kind, names in changed.items():
            now, then = mine.get(kind, {}), theirs.get(kind, {})
            names.update(
                name for name in now.keys() | then.keys() if now.get(name) != then.get(name)
            )
    if not any(changed.values()):
        return None
    kinds = [("handler files", "handlers"), ("the config file", "config")]
    what = " and ".join(label for label, kind in kinds if changed[kind])
    listed = sorted(changed["handlers"]) + sorted(changed["config"])
    return f"{what} changed since the last start or SIGHUP ({', '.join(listed)})"
