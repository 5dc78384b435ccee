"""The one place that turns Python values into WebSocket payloads and back."""

from __future__ import annotations

import json
from typing import Any

from .frames import BINARY, TEXT

__all__ = ["decode_text", "encode"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# RFC 8259 has no NaN or Infinity: text holding them is not JSON and stays a string (Python's
# parser would accept them). One decoder made once: `json.loads` with arguments builds one per
# call.
_loads = json.JSONDecoder(parse_constant=_not_json).decode
_JSON_TYPES = (dict, list, tuple, int, float, bool, type(None))


def encode(data: object) -> tuple[int, bytes]:
    """(opcode, payload) for `data`: JSON text for dict/list/numbers/bool/None, text for str,
    binary for bytes-like. Anything else raises TypeError in the caller."""
    if isinstance(data, str):
        return TEXT, data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return BINARY, bytes(data)
    if isinstance(data, _JSON_TYPES):
        try:
            return TEXT, _dumps(data).encode("utf-8")
        except ValueError as exc:  # NaN/Infinity have no JSON spelling
            raise TypeError(f"cannot send {data!r} as JSON: {exc}") from None
    raise TypeError(
        f"cannot send a {type(data).__name__}: send a dict, list, number, bool, None, "
        "str or bytes (convert other objects first)"
    )


# A JSON text can only start with one of these (after optional whitespace); checking first
# spares plain-text messages the cost of a raised and caught JSONDecodeError.
_JSON_START = frozenset('{["-0123456789tfn \t\r\n')


def decode_text(text: str) -> Any:
    """The parsed JSON value of a text frame, or the string itself when it is not JSON
    (RFC 8259: `[NaN]` and `Infinity` are strings)."""
    if not text or text[0] not in _JSON_START:
        return text
    try:
        return _loads(text)
    except ValueError:
        return text
