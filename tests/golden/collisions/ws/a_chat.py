"""Patterns whose plain names collide: none keeps it, each is named from its whole pattern."""

from typing import Literal, TypedDict

from wsside import Handler


class ChatMessage(TypedDict):
    type: Literal["chat-message"]
    text: str


dash = Handler("/ws/typed-chat", sends=ChatMessage)
# Another name than WsTypedChat2: a name with a digit after it is another pattern's.
alone = Handler("/ws/typed-chat2", sends=ChatMessage)
