"""`wsside init`'s Prettier step: the generated `wsside-env.d.ts` kept from the formatter.

Prettier would rewrite the file's quotes and semicolons (`prettier --write .`, a format-on-save
editor, a pre-commit hook), and `wsside types --check` in CI would then fail on a file that
only looks different, while the plugin writes it back at the next reload. So in a project that
uses Prettier (a `.prettierignore`, or `prettier` among package.json's dependencies) the file
is listed in `.prettierignore`, created when there is none (Prettier keeps its own defaults,
node_modules and what .gitignore lists, beside it). Elsewhere nothing changes.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._runtime.typescript import FILE_NAME
from .init_files import CannotInit, Outcome, append_lines, in_the_way, read_text
from .init_gitignore import listed

__all__ = ["keep_from_prettier"]

COMMENT = "# wsside init: written by wsside from the handlers, formatted as wsside writes it"


def keep_from_prettier(root: Path, out: Outcome) -> None:
    """List the generated types file in the project's .prettierignore (see the module's doc
    for when)."""
    from ..doctor.vite_package import depends_on  # here: the sidecar loads this module

    ignore = root / ".prettierignore"
    exists = os.path.lexists(ignore)
    if not exists and not depends_on(root, "prettier"):
        return
    if exists and not ignore.is_file():
        raise CannotInit(in_the_way(ignore, "file"))
    text = read_text(ignore) if exists else ""
    if listed(text, FILE_NAME):
        out.done.append(f".prettierignore already lists {FILE_NAME}")
        return
    append_lines(ignore, text, [COMMENT, FILE_NAME], out)
    out.done.append(
        f"added {FILE_NAME} to .prettierignore"
        if exists
        else f"wrote .prettierignore listing {FILE_NAME} (Prettier would rewrite it)"
    )
