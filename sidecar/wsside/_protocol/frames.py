"""Frame opcodes (RFC 6455 §5.2) and the server's frame encoding (never masked)."""

from __future__ import annotations

import enum
import struct

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "MAX_CONTROL_PAYLOAD",
    "PING",
    "PONG",
    "TEXT",
    "Opcode",
    "encode_frame",
]


class Opcode(enum.IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


# Plain ints for the per-frame paths: arithmetic on an IntEnum member goes through the enum.
CONTINUATION = int(Opcode.CONTINUATION)
TEXT = int(Opcode.TEXT)
BINARY = int(Opcode.BINARY)
CLOSE = int(Opcode.CLOSE)
PING = int(Opcode.PING)
PONG = int(Opcode.PONG)

_PACK_LEN2 = struct.Struct("!BBH").pack
_PACK_LEN3 = struct.Struct("!BBQ").pack
_FIN = 0x80
_RSV1 = 0x40
# Control frames carry at most this many payload bytes (RFC 6455 §5.5).
MAX_CONTROL_PAYLOAD = 125


def encode_frame(opcode: int, payload: bytes, rsv1: bool = False) -> bytes:
    """One final, unmasked frame; `rsv1` marks a compressed message (RFC 7692)."""
    first = _FIN | (_RSV1 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return _PACK_LEN2(first, 126, n) + payload
    return _PACK_LEN3(first, 127, n) + payload
