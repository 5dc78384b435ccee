"""A JavaScript plugin's options object, where wsside takes an object made with keywords: the
call that says the same, for the error of a port that copied the object as a dict."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["as_call"]


def as_call(name: str, given: Mapping[object, object]) -> str:
    """`given` as a call of `name`: `{"room": "general", "includeSelf": True}` is
    `Broadcast(room='general', include_self=True)` (camelCase keys in snake_case)."""
    words = ", ".join(
        f"{_snake(key)}={value!r}" if isinstance(key, str) else f"{key!r}={value!r}"
        for key, value in given.items()
    )
    return f"{name}({words})"


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()
