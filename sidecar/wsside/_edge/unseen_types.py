"""Under Vite, the warning for a TypeScript project whose tsconfig does not see
`wsside-env.d.ts`: the plugin writes the file, but until the app's tsconfig lists it the
editor and tsc type every message `unknown`, and only `wsside doctor` said why (Vite's
TypeScript templates compile `src/` alone). Said once per sidecar process."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .._project.tsconfig import inclusion
from .._runtime.events import log
from ..handler import Handler

__all__ = ["note_unseen_types"]

_told: set[Path] = set()


def note_unseen_types(endpoints: Iterable[Handler], root: Path) -> None:
    """Warn when an endpoint declares `receives=` or `sends=` and the tsconfig of the project
    at `root` (the folder of vite.config) does not include the types file."""
    if root in _told or not any(h.receives is not None or h.sends is not None for h in endpoints):
        return
    state = inclusion(root)
    if state.config is None or state.included is not False:  # no TypeScript, or unknown
        return
    _told.add(root)
    where = os.path.relpath(state.config, root)
    log(
        f"{where} does not include {state.entry}, so the editor and tsc see no message types "
        f"(each message is unknown): {state.advice}"
        + ("   (or run wsside init)" if state.editable else ""),
        "warning",
    )
