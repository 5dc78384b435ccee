"""The Redis backplane's wire format (docs/backplane.md), in bytes both ways:

- channel `wsside:<db>`, or `wsside:<db>:<name>` for a URL with `?channel=<name>`: every
  process on the same Redis, database number and name shares it (pub/sub ignores the database
  number, so it goes into the name to keep databases apart; the number is the one redis-py
  selects: `?db=`, else the path's);
- one Redis message carries a batch: version (1 byte), sender (8 random bytes per process, so
  a process skips its own messages: process ids repeat across hosts and containers), then
  records of `opcode u8, room count u32 (0xFFFFFFFF: every connection), pattern length u32,
  payload length u32, pattern, (room length u32, room)*, payload`, strings in UTF-8.

Anyone who may PUBLISH on the channel can send to it, so a receiver takes only what a wsside
process could have published: text (valid UTF-8) or binary messages, records that fit the
message, and a message no longer than a publisher ever makes (`MAX_BYTES` and the head). A
message with anything else is refused whole, in plain words (`Refused`).
"""

from __future__ import annotations

import struct

from .backplane_url import channel_name, database

__all__ = [
    "CHANNEL_PREFIX",
    "HEAD",
    "MAX_BYTES",
    "VERSION",
    "Refused",
    "channel",
    "decode_records",
    "encode_record",
    "read",
    "too_big",
]

VERSION = 1
CHANNEL_PREFIX = "wsside:"
# What starts every message: version, sender.
HEAD = struct.Struct("!B8s")
# The most a process queues for Redis: no record it publishes is longer (`too_big`), and no
# message longer than this and the head (a batch adds records only up to 256 KiB).
MAX_BYTES = 8 * 1024 * 1024
_MIB = 1024 * 1024

_RECORD = struct.Struct("!BIII")
_LEN = struct.Struct("!I")
_ALL = 0xFFFFFFFF
_TEXT, _BINARY = 1, 2


class Refused(ValueError):
    """A message no wsside process publishes; its words say what is wrong with it.
    `version` is set when that is all: a message of another version of the format."""

    def __init__(self, what: str, version: int | None = None) -> None:
        super().__init__(what)
        self.version = version


def channel(url: str) -> bytes:
    """The channel of the backplane at `url` (`redis://host:port/db`, `?channel=name`)."""
    name = channel_name(url)
    return f"{CHANNEL_PREFIX}{database(url)}{'' if name is None else ':' + name}".encode()


def encode_record(
    pattern: str, rooms: tuple[str, ...] | None, opcode: int, payload: bytes
) -> bytes:
    """One broadcast as a record of the wire format."""
    name = pattern.encode("utf-8", "surrogatepass")
    parts = [_RECORD.pack(opcode, _ALL if rooms is None else len(rooms), len(name), len(payload))]
    parts.append(name)
    for room in rooms or ():
        encoded = room.encode("utf-8", "surrogatepass")
        parts.append(_LEN.pack(len(encoded)))
        parts.append(encoded)
    parts.append(payload)
    return b"".join(parts)


def too_big(pattern: str, record: bytes) -> str | None:
    """Why `record`, a broadcast to `pattern`, cannot cross processes (`a broadcast of 9.0 MiB
    to /ws/chat is too big for the backplane, which carries at most 8 MiB per broadcast`), or
    None when it can. The one rule for `handler.broadcast` and `Publisher.broadcast` alike:
    every process would refuse a longer message as one no wsside process publishes."""
    size = len(record)
    if size <= MAX_BYTES:
        return None
    limit = f"at most {MAX_BYTES // _MIB} MiB per broadcast"
    if round(size / _MIB, 1) > MAX_BYTES / _MIB:
        said = f"{size / _MIB:.1f} MiB"
    else:  # just over: "8.0 MiB" would read as within the limit, which pattern and rooms count in
        said = f"{size} bytes"
        limit += f" ({MAX_BYTES} bytes, its pattern and rooms included)"
    return f"a broadcast of {said} to {pattern} is too big for the backplane, which carries {limit}"


def read(data: bytes, own: bytes) -> list[tuple[str, tuple[str, ...] | None, int, bytes]]:
    """The records of a message, none when its sender is `own` (this process: its broadcasts
    were delivered locally already); `Refused` when no wsside process of this version
    publishes it."""
    if len(data) < HEAD.size:
        raise Refused(f"{len(data)} bytes, shorter than any message's head")
    version, sender = HEAD.unpack_from(data)
    if sender == own:
        return []
    if version != VERSION:
        raise Refused(f"wire version {version}", version)
    return decode_records(data, HEAD.size)


def decode_records(
    data: bytes, offset: int
) -> list[tuple[str, tuple[str, ...] | None, int, bytes]]:
    """The records of a message from `offset` on; `Refused` when the message is one no wsside
    process publishes (cut short, garbled, too long, or not a text or binary message)."""
    end = len(data)
    if end > MAX_BYTES + offset:
        raise Refused(f"{end} bytes, more than any wsside process publishes at once")
    records: list[tuple[str, tuple[str, ...] | None, int, bytes]] = []
    view = memoryview(data)
    head, length_of = _RECORD.unpack_from, _LEN.unpack_from
    try:
        while offset < end:
            opcode, count, name_len, size = head(data, offset)
            if opcode != _TEXT and opcode != _BINARY:
                raise Refused(
                    f"record {len(records) + 1} has opcode {opcode}: only text (1) and binary (2)"
                )
            offset += _RECORD.size
            # (A slice past the end is cut at the end: one check after the record finds it.)
            pattern = str(view[offset : offset + name_len], "utf-8", "surrogatepass")
            offset += name_len
            rooms: tuple[str, ...] | None = None
            if count != _ALL:
                names = []
                for _ in range(count):
                    (length,) = length_of(data, offset)
                    offset += _LEN.size
                    names.append(str(view[offset : offset + length], "utf-8", "surrogatepass"))
                    offset += length
                rooms = tuple(names)
            payload = data[offset : offset + size]
            offset += size
            if offset > end:
                raise Refused(f"record {len(records) + 1} is cut short")
            # Nearly every text is ASCII, which isascii() confirms at memory speed; any other
            # is decoded to check it (a str made and dropped).
            if opcode == _TEXT and not payload.isascii():
                _check_text(payload, len(records) + 1)
            records.append((pattern, rooms, opcode, payload))
    except struct.error:  # a head or a room's length runs past the end
        raise Refused(f"record {len(records) + 1} is cut short") from None
    except UnicodeDecodeError:
        raise Refused(
            f"record {len(records) + 1} has a pattern or room that is not UTF-8"
        ) from None
    return records


def _check_text(payload: bytes, number: int) -> None:
    try:
        payload.decode()
    except UnicodeDecodeError:
        raise Refused(f"record {number} is a text message that is not UTF-8") from None
