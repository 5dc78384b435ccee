"""Patterns with wildcards and variables, overlapping ones, and endpoints left out."""

from typing import Literal, TypedDict

from wsside import Handler


class Hello(TypedDict):
    type: Literal["hello"]


class Bye(TypedDict):
    type: Literal["bye"]


class Move(TypedDict):
    type: Literal["move"]
    x: int


exact = Handler("/ws/chat", receives=Hello, sends=Bye)
rooms = Handler("/ws/rooms/{room}", receives=Hello, sends=Bye)
# The same key as `rooms` (`/ws/rooms/${string}`): one entry admits both.
same_key = Handler("/ws/rooms/*", receives=Move, sends=Move)
numbered = Handler("/ws/log/{n:\\d+}/tail", receives=Hello, sends=Bye)
games = Handler("/ws/games/*/move-?", receives=Move, sends=Move)
deep = Handler("/files/**", sends=list[str])
# Covers every /ws/ path above: its entry admits all of theirs, as TypeScript requires.
fallback = Handler("/ws/{anything}", receives=Move, sends=Hello)
untyped = Handler("/ws/untyped")
off = Handler("/ws/off", receives=Hello, disabled=True)
