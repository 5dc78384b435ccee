"""The other two of a three-way collision, in another file; rooms told apart by what varies
and by a trailing slash; names the file uses, digits, the root, and a case-only difference
(spelled alike: a hash of the pattern tells them apart)."""

from typing import Literal, TypedDict

from wsside import Handler


class ChatMessage(TypedDict):
    type: Literal["chat-message"]
    author: str


slash = Handler("/ws/typed/chat", sends=ChatMessage)
underscore = Handler("/ws/typed_chat", sends=ChatMessage)
room = Handler("/ws/rooms/{room}", sends=str)
room_slash = Handler("/ws/rooms/{room}/", sends=str)
any_room = Handler("/ws/rooms/*", sends=str)
every_room = Handler("/ws/rooms/**", sends=str)
rooms = Handler("/ws/rooms", sends=str)
binary = Handler("/binary", sends=str)
binary2 = Handler("/binary2", sends=str)
receives = Handler("/receives", sends=str)
digits = Handler("/2fa/{user}", sends=str)
endpoint = Handler("/endpoint2fa/{id:\\d{2}}", sends=str)
root = Handler("/", sends=str)
root_word = Handler("/root", sends=str)
upper = Handler("/ws/Case", sends=str)
lower = Handler("/ws/case", sends=str)
odd = Handler("/ws/it's.~x", sends=str)
odd_too = Handler("/ws/it/s/x", sends=str)
