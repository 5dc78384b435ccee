"""Close codes: the standard names, the one place that says which codes are valid, and the
reasons wsside gives for the closes it makes."""

from __future__ import annotations

import enum

__all__ = [
    "NON_PROTOCOL_CODES",
    "PRIVATE_CODES",
    "CloseCode",
    "CloseReason",
    "ProtocolError",
    "ReasonTooLong",
    "check_close",
    "is_valid_code",
]

MAX_REASON_BYTES = 123


class CloseCode(enum.IntEnum):
    """Close codes of RFC 6455 §7.4.1 and the IANA registry."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RECEIVED = 1005  # reserved: never on the wire
    ABNORMAL_CLOSURE = 1006  # reserved: never on the wire
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015  # reserved: never on the wire

    def __str__(self) -> str:
        # "1001" on every Python, as 3.11's IntEnum writes it (3.10 wrote "CloseCode.GOING_AWAY"):
        # a code that reaches on_close prints the same whatever sent it.
        return str(int(self))


class CloseReason:
    """The reason of each close wsside makes itself, one wording per situation. Those of
    1000, 1001, 1011, 1012 and 1013 go on the wire (clients and the docs quote them); the 1009
    reasons (`INFLATES_TOO_BIG` and the two below) stay in the server: `on_close`'s `reason`
    and the `ProtocolError` that `on_error` gets."""

    GOING_AWAY = "Going Away"  # 1001: the server stops
    SERVICE_RESTART = "Service Restart"  # 1012: a restart, or the handler file is gone
    INTERNAL_ERROR = "Internal error"  # 1011: on_connect raised
    NO_PONG = "No pong received"  # 1000: the heartbeat's ping went unanswered
    INACTIVITY = "Inactivity timeout"  # 1000: no message within inactivity_timeout
    TOO_SLOW = "Client too slow"  # 1013: the client did not read what it was sent
    INFLATES_TOO_BIG = "compressed message inflates past the size limit"  # 1009

    @staticmethod
    def frame_too_big(length: int, limit: int) -> str:
        """1009: one frame's declared length alone is past the limit."""
        return f"Frame of {length} bytes exceeds the message size limit of {limit}"

    @staticmethod
    def message_too_big(size: int, limit: int) -> str:
        """1009: the whole message is past the limit."""
        return f"Message of {size} bytes exceeds the limit of {limit}"

    @staticmethod
    def too_many_fragments(most: int) -> str:
        """1009: one message in more fragments than a reader takes."""
        return f"Message has more than {most} fragments"


class ProtocolError(ConnectionError):
    """The client broke the protocol and the connection was closed for it: a message too big
    (1009), invalid UTF-8 (1007), a protocol violation (1002). `on_error(conn, exc)` gets one
    before `on_close` runs with the same `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} (close code {self.code})"


_PROTOCOL_CODES = range(1000, 1015)
_NEVER_SENT = range(1004, 1007)  # 1004 reserved; 1005 and 1006 stand for no close frame
_WIRE_CODES = frozenset(_PROTOCOL_CODES) - frozenset(_NEVER_SENT)
# Codes of no RFC: 3000-3999 registered with IANA by libraries and frameworks, 4000-4999 an
# application's own (what `conn.close` in `on_connect` refuses with, README "Authentication").
NON_PROTOCOL_CODES: range = range(3000, 5000)
PRIVATE_CODES: range = range(4000, 5000)


def _span(codes: range) -> str:
    return f"{codes.start}-{codes.stop - 1}"


_VALID = f"{_span(_PROTOCOL_CODES)} (except {_span(_NEVER_SENT)}) or {_span(NON_PROTOCOL_CODES)}"


def is_valid_code(code: int) -> bool:
    """True for a code allowed in a close frame, sent or received (`_VALID`: 1000-1014 but
    1004-1006, and 3000-4999). A peer that sends any other code gets 1002 (Protocol Error)."""
    return code in _WIRE_CODES or code in NON_PROTOCOL_CODES


class ReasonTooLong(ValueError):
    """A close reason longer than a close frame carries; `cut` is its longest start that fits,
    whole characters only."""

    cut: bytes

    def __init__(self, raw: bytes) -> None:
        self.cut = raw[:MAX_REASON_BYTES].decode("utf-8", "ignore").encode()
        super().__init__(f"close reason is {len(raw)} bytes; the limit is {MAX_REASON_BYTES}")


def check_close(code: int, reason: str | bytes = "") -> bytes:
    """Validate a close code and reason before sending; return the reason as UTF-8.

    Raises ValueError naming what is wrong, so a bad `conn.close(...)` fails in the caller
    instead of leaving a half-closed socket behind.
    """
    if isinstance(code, bool) or not isinstance(code, int):
        raise ValueError(f"close code must be an int, got {type(code).__name__}")
    if not is_valid_code(code):
        raise ValueError(f"invalid close code {code}: use {_VALID}")
    raw = reason.encode("utf-8") if isinstance(reason, str) else bytes(reason)
    if isinstance(reason, (bytes, bytearray)):
        raw.decode("utf-8")  # raises UnicodeDecodeError (a ValueError) for bad bytes
    if len(raw) > MAX_REASON_BYTES:
        raise ReasonTooLong(raw)
    return raw
