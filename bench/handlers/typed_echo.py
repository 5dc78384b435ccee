"""Echo with `receives`: the echo of echo.py behind the runtime check of a small TypedDict
(bench/typed.py measures what the check costs)."""

from typing import Literal, TypedDict

from wsside import Handler


class Chat(TypedDict):
    type: Literal["chat"]
    text: str


typed_echo = Handler("/ws/typed-echo", receives=Chat)


@typed_echo.on_message
def message(conn, data):
    conn.send(data)
