"""The one place that turns Python values into WebSocket payloads and back.

Text frames are read as JSON when they are JSON (RFC 8259: `NaN` and `Infinity` are not, and
stay strings); dicts, lists, numbers, bools and None are sent as compact JSON. With orjson
installed (`wsside[speed]`) it writes the JSON, and the standard library takes over wherever
the two would differ, so the values sent and the errors are the same with or without it (the
spelling of a float can differ: orjson writes 1e-05 as 0.00001). orjson refuses what the
standard encoder converts (keys that are not strings, integers past 64 bits) and turns NaN
and Infinity into `null`, which the standard encoder refuses, so output holding `null` is
checked by it; types only orjson knows (dataclasses, datetimes, subclasses) are passed
through to the standard encoder, which refuses them as it does without orjson, but for
dataclass instances, which both send as the dict of their fields (as `dataclasses.asdict`;
orjson's own way leaves out fields whose name starts with `_`). Inside a message, an Enum
member goes as its value and a UUID as its string, with either (orjson's way, which the
standard encoder's `default` follows). Reading stays with the standard parser:
orjson reads integers past 64 bits as floats, and ruling that out costs what it saves.

The standard library's C scanner and encoder are called directly: `json.loads` and
`JSONEncoder.encode` build a scanner or an encoder per call and match whitespace with a
regular expression, which costs more than the parsing of a small message.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import os
import re
import uuid
from collections.abc import Callable
from json import encoder as _json_encoder
from json import scanner as _json_scanner
from typing import Any, cast

from .frames import BINARY, TEXT

__all__ = ["JSON_ENGINE", "JSON_ENV", "decode_text", "encode", "json_choice", "set_json_engine"]

# Names the JSON engine; read by `json_choice`.
JSON_ENV = "WSSIDE_JSON"
_JSON_CHOICES = ("auto", "json", "orjson")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


_WHITESPACE = " \t\r\n"
# A JSON text can only start with one of these (after optional whitespace); checking first
# spares plain-text messages the cost of a raised and caught error.
_JSON_START = frozenset('{["-0123456789tfn' + _WHITESPACE)
_JSON_TYPES = (dict, list, tuple, int, float, bool, type(None))

# The standard library, called below its public API (see the module's docstring).
_std_decoder = json.JSONDecoder(parse_constant=_not_json)
# (typeshed types neither the scanner's call nor the C encoder: both are typed here.)
_make_scanner: Callable[[json.JSONDecoder], Callable[[str, int], tuple[Any, int]]] = cast(
    Any, _json_scanner
).make_scanner
_scan = _make_scanner(_std_decoder)


def _is_dataclass_instance(value: object) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _fields_of(value: Any) -> Any:
    """The standard encoder's `default`: a dataclass instance as the dict of its fields, one
    level deep (the encoder comes back for nested ones), which gives the JSON of
    `dataclasses.asdict(value)` without its deep copy; an Enum member as its value and a UUID
    as its string, as orjson sends them."""
    if _is_dataclass_instance(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(
        f"Object of type {type(value).__name__} is not JSON serializable" + _instead(value, "")
    )


def _instead(value: object, otherwise: str) -> str:
    """What to send in place of `value`, which JSON has no spelling for (`otherwise` when
    nothing more precise is known)."""
    said = _CONVERT.get(type(value).__name__)
    if said is not None:
        return said
    # A pydantic model (told without importing pydantic): its JSON-ready dict.
    if callable(getattr(value, "model_dump", None)) and hasattr(value, "__pydantic_fields__"):
        return ': a pydantic model: send its .model_dump(mode="json") (a dict)'
    return otherwise


# What to send instead of values JSON has no spelling for, by type name (the types are not
# imported for this): a Django or SQLAlchemy row holds them.
_CONVERT = {
    **dict.fromkeys(("datetime", "date", "time"), ": send its .isoformat() (a str)"),
    "timedelta": ": send its .total_seconds() (a float)",
    "Decimal": ": send str() of it (exact) or float() of it",
    "set": ": send a list (sorted(), or list())",
    "frozenset": ": send a list (sorted(), or list())",
    # numpy's scalars (a loss, a count) and arrays.
    **dict.fromkeys(
        (
            *(f"float{bits}" for bits in (16, 32, 64, 128)),
            *(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)),
            "bool_",
        ),
        ": send .item() of it (a Python number)",
    ),
    "ndarray": ": send .tolist() of it (JSON), or .tobytes() of it (binary)",
}


_std_encoder = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_fields_of
)
_c_make_encoder: Callable[..., Callable[[Any, int], Any]] | None = getattr(
    _json_encoder, "c_make_encoder", None
)
_c_encode = (
    _c_make_encoder(
        None,  # markers: the standard encoder's circular-reference check is off too
        _std_encoder.default,
        _json_encoder.encode_basestring,
        None,
        ":",
        ",",
        False,
        False,
        False,
    )
    if _c_make_encoder is not None
    else None
)


def _std_loads(text: str) -> Any:
    """The parsed value of `text`; ValueError when it is not JSON."""
    if text[0] in _WHITESPACE or text[-1] in _WHITESPACE:
        return _std_decoder.decode(text)  # the full parser deals with the whitespace
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("not JSON") from None
    if end != len(text):
        raise ValueError("extra data after the JSON value")
    return value


def _std_dumps(data: Any) -> bytes:
    """Compact JSON (ValueError for NaN and Infinity, TypeError for what is not JSON)."""
    if _c_encode is not None and isinstance(data, (dict, list, tuple)):
        # The C encoder's check of circular references is off (the standard encoder's raises
        # ValueError): a cycle, like nesting too deep, ends in RecursionError here.
        try:
            text = "".join(_c_encode(data, 0))
        except RecursionError:
            raise ValueError("Circular reference or nesting too deep") from None
    else:
        text = _std_encoder.encode(data)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate, which UTF-8 cannot hold: half an emoji that a page cut
        # ('😀'.slice(0, 1)) and sent as JSON's "\ud83d". It can only be inside a JSON string
        # here, where JSON's own escape for it is valid, and the page reads it back as sent.
        return _SURROGATE.sub(_escaped, text).encode()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


_dumps: Callable[[Any], bytes] = _std_dumps
JSON_ENGINE = "json"


def _with_orjson() -> Callable[[Any], bytes] | None:
    try:
        import orjson
    except ImportError:
        return None
    orjson_dumps = orjson.dumps
    options = (
        orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )

    def dumps(data: Any) -> bytes:
        try:
            out: bytes = orjson_dumps(data, option=options)
        except TypeError:  # orjson.JSONEncodeError: what only the standard encoder handles
            return _std_dumps(data)
        if b"null" in out and data is not None:
            return _std_dumps(data)  # NaN and Infinity became null: the standard way refuses
        return out

    return dumps


def set_json_engine(name: str) -> str:
    """Use "orjson" (when installed) or "json" (the standard library); returns the one in
    use. Chosen at import: orjson when installed, unless WSSIDE_JSON=json."""
    global _dumps, JSON_ENGINE
    dumps = _with_orjson() if name == "orjson" else None
    if dumps is None:
        _dumps, JSON_ENGINE = _std_dumps, "json"
    else:
        _dumps, JSON_ENGINE = dumps, "orjson"
    return JSON_ENGINE


def json_choice() -> str:
    """What WSSIDE_JSON asks for: "auto" (also when unset or empty), "json" or "orjson";
    ValueError, one line naming the variable and its value, when it is none of them."""
    given = os.environ.get(JSON_ENV, "")
    choice = given.strip().lower() or "auto"
    if choice not in _JSON_CHOICES:
        raise ValueError(f"{JSON_ENV}={given!r} is not one of {', '.join(_JSON_CHOICES)}")
    return choice


try:
    _choice = json_choice()
except ValueError:  # refused when `wsside serve` starts (`_edge/loop.py`); else the default
    _choice = "auto"
set_json_engine("json" if _choice == "json" else "orjson")


def encode(data: object) -> tuple[int, bytes]:
    """(opcode, payload) for `data`: JSON text for dict/list/numbers/bool/None and dataclass
    instances, text for str, binary for bytes-like. Anything else raises TypeError in the
    caller."""
    if isinstance(data, str):
        # UTF-8 (the default): naming it costs 230 more instructions per call (callgrind).
        try:
            return TEXT, data.encode()
        except UnicodeEncodeError as exc:
            at = _SURROGATE.search(data)
            assert at is not None  # what else UTF-8 cannot encode
            raise TypeError(
                f"cannot send text holding a lone surrogate ({ord(at.group()):#06x} at "
                f"{at.start()}: half of an emoji a page cut?), which a text message, UTF-8, "
                "cannot carry: send it inside JSON ({'text': ...}), which escapes it, or "
                "without it (text.encode('utf-8', 'replace').decode())"
            ) from exc
    if isinstance(data, (bytes, bytearray, memoryview)):
        return BINARY, bytes(data)
    if isinstance(data, _JSON_TYPES) or _is_dataclass_instance(data):
        try:
            return TEXT, _dumps(data)
        except ValueError as exc:  # NaN/Infinity have no JSON spelling
            raise TypeError(f"cannot send {data!r} as JSON: {exc}") from None
    if inspect.iscoroutine(data):  # `conn.send(fetch())`: the value is what the await gives
        data.close()  # else Python warns that it was never awaited, naming wsside's line
        raise TypeError("cannot send a coroutine: await it first (conn.send(await fetch()))")
    raise TypeError(
        f"cannot send a {type(data).__name__}"
        + _instead(
            data,
            ": send a dict, list, number, bool, None, str, bytes or a dataclass instance "
            "(convert other objects first)",
        )
    )


def decode_text(text: str) -> Any:
    """The parsed JSON value of a text frame, or the string itself when it is not JSON
    (RFC 8259: `[NaN]` and `Infinity` are strings) or nests deeper than the parser can go
    (about 1,000 levels)."""
    if not text or text[0] not in _JSON_START:
        return text
    try:
        return _std_loads(text)
    except (ValueError, RecursionError):
        return text
