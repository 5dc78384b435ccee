"""A helper module (not a handler file): its `User` meets chat.py's own `User`."""

from typing import TypedDict


class User(TypedDict):
    id: int
