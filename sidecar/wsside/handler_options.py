"""The options a `Handler` takes that a config file's `[defaults]` may set too: what each
accepts (`check_option`, shared by `Handler` and the config checker), and `Deflate`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

from ._js_options import as_call
from .responses import Response

__all__ = [
    "DEFAULTABLE_OPTIONS",
    "Deflate",
    "check_option",
    "check_responses",
    "milliseconds_note",
    "opt_str",
]


@dataclass(frozen=True)
class Deflate:
    """permessage-deflate settings (RFC 7692). Window bits are 8..15.

    `strict=True` refuses (HTTP 400) a client offer that cannot meet these settings;
    otherwise the closest agreement the offer allows is used.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15
    strict: bool = False

    def __post_init__(self) -> None:
        for name in ("server_max_window_bits", "client_max_window_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 8 <= value <= 15:
                raise ValueError(f"Deflate({name}={value!r}): expected an int from 8 to 15")


# The options a config file's [defaults] may set for every handler that leaves them unset.
DEFAULTABLE_OPTIONS = (
    "heartbeat",
    "inactivity_timeout",
    "max_message_size",
    "per_message_deflate",
    "delay",
    "subprotocols",
    "error_details",
)


def check_option(name: str, value: object) -> object:
    """The normalized value of one of `DEFAULTABLE_OPTIONS`; raises TypeError or ValueError
    with a message that starts with the option's name."""
    if name in ("heartbeat", "inactivity_timeout"):
        return _opt_seconds(name, value)
    if name == "per_message_deflate":
        if not isinstance(value, (bool, Deflate)):
            said = "per_message_deflate: expected True, False or Deflate(...)"
            if isinstance(value, Mapping):  # the JavaScript plugin's options object
                said += f", here {as_call('Deflate', value)}"
            raise TypeError(said)
        return Deflate() if value is True else value or None
    if name == "subprotocols":
        if isinstance(value, str):
            raise TypeError("subprotocols: expected a list of strings, got one string")
        if not isinstance(value, Iterable):
            raise TypeError(f"subprotocols: expected a list of strings, got {value!r}")
        protocols = tuple(value)
        if not all(isinstance(p, str) and p for p in protocols):
            raise TypeError("subprotocols: expected a list of non-empty strings")
        return protocols
    if name == "delay":
        if not _seconds(value) or value < 0:
            raise ValueError(f"delay: expected seconds >= 0, got {value!r}")
        return float(value)
    if name == "error_details":
        if not isinstance(value, bool):
            raise TypeError(f"error_details: expected True or False, got {value!r}")
        return value
    if name == "max_message_size":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"max_message_size: expected bytes > 0, got {value!r}")
        return value
    raise KeyError(name)


def check_responses(value: object) -> list[Response]:
    """`responses=`: a list of `Response(...)` rules (one rule alone, a string: not a list)."""
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes, Response)):
        raise TypeError(f"responses: expected a list of Response(...) rules, got {value!r}")
    rules = list(value)
    for rule in rules:
        if not isinstance(rule, Response):
            raise TypeError(f"responses: expected Response(...) rules, got {rule!r} in the list")
    return rules


def opt_str(name: str, value: object) -> str | None:
    if value is None or value is False:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name}: expected a non-empty string")
    return value


# Durations long enough to have been written in milliseconds, the JavaScript plugin's unit
# (its guide's heartbeat is 30000): from how many seconds on each is said.
_LIKELY_MILLISECONDS = {"heartbeat": 1000.0, "inactivity_timeout": 10_000.0, "delay": 50.0}


def milliseconds_note(name: str, seconds: float | None) -> str | None:
    """What to say of a duration option given as `seconds` that looks like milliseconds."""
    least = _LIKELY_MILLISECONDS.get(name)
    if least is None or seconds is None or seconds < least:
        return None
    if name == "inactivity_timeout" and seconds % 1000:
        return None  # 3 h 20 min may be meant; 10,000 s and its multiples look like ms
    return (
        f"{name}={seconds:g} is {_span(seconds)}: wsside's times are seconds (for "
        f"{seconds:g} ms, write {name}={seconds / 1000:g})"
    )


def _span(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{rest} s" if rest and not hours else "")
    return " ".join(part for part in parts if part)


def _opt_seconds(name: str, value: object) -> float | None:
    if value is None or value is False or value == 0:
        return None
    if not _seconds(value) or value < 0:
        raise ValueError(f"{name}: expected seconds > 0, or 0 (off), got {value!r}")
    return float(value)


def _seconds(value: object) -> TypeGuard[float]:
    """A number of seconds: an int or float, finite (NaN and infinity are not durations)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
