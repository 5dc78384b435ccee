"""Message shapes shared by handler files, as a Python team writes them: a helper module
(its name starts with `_`), enums, total=False with Required, Optional, a key that is a
Python keyword (functional syntax)."""

from __future__ import annotations

import enum
from typing import Literal, Optional, Required, TypedDict


class Color(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Profile(TypedDict, total=False):
    """A player as others see it."""

    name: Required[str]
    color: Color
    avatar: Optional[str]  # noqa: UP045 - as many teams still write it
    tags: list[str]


# `from` is a keyword in Python, not in TypeScript.
Said = TypedDict("Said", {"type": Literal["said"], "from": Profile, "text": str, "level": Level})


class Paint(TypedDict):
    type: Literal[Color.RED, Color.BLUE]
    cells: dict[str, list[int | None]]
