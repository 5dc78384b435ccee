"""A config file's error, `ConfigError`: the file, the key and the line of its first mistake,
and its other mistakes on lines of their own; and `show`, how such a message quotes a value.
`config_keys.py` and `config.py` raise it; the rest of the package imports it from `config.py`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "show"]


class ConfigError(ValueError):
    """A config file that cannot be used. `file`, `key` and `line` say where (when known) its
    first mistake is; the file's others are lines of their own (`joined`)."""

    file: Path
    key: str | None
    line: int | None
    reason: str
    where: str

    def __init__(
        self, file: Path, message: str, key: str | None = None, line: int | None = None
    ) -> None:
        self.file, self.key, self.line = file, key, line
        # What is wrong, for a report that names the file and line itself.
        self.reason = f'key "{key}": {message}' if key else message
        # file:line, as compilers write it (editors and terminals open the line from it).
        self.where = f"{file}:{line}" if line is not None else str(file)
        super().__init__(f"{self.where}: {self.reason}")

    @staticmethod
    def joined(errors: list[ConfigError]) -> ConfigError:
        """The first of `errors` (one file's, in its order), saying the others on lines of their
        own: a config with three mistakes is fixed in one go, not in three runs."""
        first, others = errors[0], errors[1:]
        if others:
            # Each line file:line first, as compilers write several errors.
            first.args = ("\n".join(f"{e.where}: {e.reason}" for e in errors),)
            first.reason += "".join(
                f"\n{'' if e.line is None else f'line {e.line}: '}{e.reason}" for e in others
            )
        return first


def show(value: Any) -> str:
    """A value as an error message quotes it (as JSON, as TOML writes nan and inf)."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # as TOML writes it: nan, inf, -inf
    return json.dumps(value, default=str, ensure_ascii=False)
