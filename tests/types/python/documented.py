"""docs/types.md's first example as it stands there (tests/test_types_mypy.py checks that it
does, and that `mypy --strict` reports nothing here): the fully annotated handler."""

# ws/chat.py
# Python 3.10: NotRequired from typing_extensions
from typing import Literal, NotRequired, TypedDict

from wsside import Connection, Handler


class ChatIn(TypedDict):
    """A line the user typed."""

    type: Literal["chat"]
    text: str
    reply_to: NotRequired[int | None]


class Typing(TypedDict):
    type: Literal["typing"]


class ChatMessage(TypedDict):
    type: Literal["chat-message"]
    author: str
    text: str


chat = Handler("/ws/chat", receives=ChatIn | Typing, sends=ChatMessage)


@chat.on_message
async def message(conn: Connection, data: ChatIn | Typing) -> None:
    if data["type"] == "chat":  # a type checker narrows data to ChatIn here
        out: ChatMessage = {"type": "chat-message", "author": conn.id, "text": data["text"]}
        conn.broadcast(out)
