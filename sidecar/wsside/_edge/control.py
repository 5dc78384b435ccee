"""The control channel's message format, shared by the sidecar and the Vite shim.

Every message is one JSON object carrying `"wsside": PROTOCOL_VERSION` and a `type`. The
format is documented for both sides in `node_shim/PROTOCOL.md`; bump `PROTOCOL_VERSION`
whenever a message changes shape, so that mismatched packages fail with a clear error
instead of misreading each other.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PROTOCOL_VERSION",
    "SIDECAR_EVENTS",
    "ProtocolMismatch",
    "message",
    "parse",
]

PROTOCOL_VERSION = 2

# Status events of the core that are relayed to the shim unchanged (plus the version field).
SIDECAR_EVENTS = frozenset(
    {
        "importing",
        "loaded",
        "reloaded",
        "removed",
        "load_error",
        "runtime_error",
        "log",
        "closed",
        "config_error",
        "config_ok",
        "stall",
    }
)


class ProtocolMismatch(ValueError):
    """The other side speaks another version of the control protocol."""

    def __init__(self, theirs: object) -> None:
        super().__init__(
            f"control protocol mismatch: the shim speaks version {theirs!r}, this sidecar "
            f"speaks {PROTOCOL_VERSION}. Install matching versions of vite-plugin-wsside and "
            "wsside (`wsside doctor` shows both)."
        )
        self.theirs = theirs


def message(kind: str, **fields: Any) -> dict[str, Any]:
    """A control message of type `kind`."""
    return {"wsside": PROTOCOL_VERSION, "type": kind, **fields}


def parse(obj: Any) -> dict[str, Any] | None:
    """`obj` if it is a wsside control message, None if it is something else.

    Raises `ProtocolMismatch` for a wsside message of another protocol version.
    """
    if not isinstance(obj, dict) or "wsside" not in obj:
        return None
    if obj["wsside"] != PROTOCOL_VERSION:
        raise ProtocolMismatch(obj["wsside"])
    if not isinstance(obj.get("type"), str):
        return None
    return obj
