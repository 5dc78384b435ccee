"""The Redis backplane's wire format (docs/backplane.md), in bytes both ways:

- channel `wsside:<db>`: every process on the same Redis and database number shares it
  (pub/sub ignores the database number, so it goes into the name to keep databases apart);
- one Redis message carries a batch: version (1 byte), sender (8 random bytes per process, so
  a process skips its own messages: process ids repeat across hosts and containers), then
  records of `opcode u8, room count u32 (0xFFFFFFFF: every connection), pattern length u32,
  payload length u32, pattern, (room length u32, room)*, payload`, strings in UTF-8.
"""

from __future__ import annotations

import struct
from urllib.parse import urlsplit

__all__ = ["CHANNEL_PREFIX", "HEAD", "VERSION", "channel", "decode_records", "encode_record"]

VERSION = 1
CHANNEL_PREFIX = "wsside:"
# What starts every message: version, sender.
HEAD = struct.Struct("!B8s")

_RECORD = struct.Struct("!BIII")
_LEN = struct.Struct("!I")
_ALL = 0xFFFFFFFF


def channel(url: str) -> bytes:
    """The channel of the backplane at `url` (`redis://host:port/db`)."""
    db = urlsplit(url).path.strip("/") or "0"
    return f"{CHANNEL_PREFIX}{db}".encode()


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


def decode_records(
    data: bytes, offset: int
) -> list[tuple[str, tuple[str, ...] | None, int, bytes]]:
    """The records of a message from `offset` on; ValueError when they are cut or garbled."""
    records = []
    view = memoryview(data)
    end = len(data)
    try:
        while offset < end:
            opcode, count, name_len, size = _RECORD.unpack_from(data, offset)
            offset += _RECORD.size
            pattern = str(view[offset : offset + name_len], "utf-8", "surrogatepass")
            offset += name_len
            rooms: tuple[str, ...] | None = None
            if count != _ALL:
                names = []
                for _ in range(count):
                    (length,) = _LEN.unpack_from(data, offset)
                    offset += _LEN.size
                    names.append(str(view[offset : offset + length], "utf-8", "surrogatepass"))
                    offset += length
                rooms = tuple(names)
            payload = data[offset : offset + size]
            offset += size
            if offset > end:
                raise ValueError("record cut short")
            records.append((pattern, rooms, opcode, payload))
    except struct.error as exc:
        raise ValueError(str(exc)) from None
    return records
