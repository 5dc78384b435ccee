"""What each key of the config file accepts, and the errors that name the file, the key and
its line (`config.py` finds and reads the file; `config_error.py` is the error itself)."""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .._places import shown
from ..handler import Handler
from ..handler_options import Deflate, check_option, milliseconds_note
from ..pattern import normalize_prefix
from .address_values import (
    HOST_EXPECTED,
    host_problem,
    hosts_problem,
    is_hosts,
    is_proxies,
    proxy_entries,
    proxy_problem,
)
from .backplane_url import from_folder, url_problem
from .config_error import ConfigError, show
from .origins import origin_problem

__all__ = [
    "DEFAULT_KEYS",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "PREFIX_EXPECTED",
    "TOP_KEYS",
    "Checker",
    "is_prefix_path",
]

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


def _close_to(name: str, known: Iterable[str]) -> str | None:
    """The one of `known` that `name` is most likely a misspelling of, if any."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    """`unknown key; did you mean "port"? expected one of ...`"""
    names = list(known)
    close = _close_to(name, names)
    hint = f'did you mean "{close}"? ' if close is not None else ""
    return f"unknown {what}; {hint}expected one of " + ", ".join(names)


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    """An int or a float, finite: TOML has `nan` and `inf`, which are no durations."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_url_path(v: Any) -> bool:
    """A path as a request line carries it: `/` then printable ASCII, no query or fragment."""
    return isinstance(v, str) and re.fullmatch(r"/[!-~]*", v) is not None and not set("?#") & set(v)


def is_prefix_path(v: Any) -> bool:
    """One URL prefix: a URL path once normalized (`api` and `/api/` are `/api`; `/` and `` are
    none, as the plugin's `prefix` and its `--prefix ""` say).
    A space, a query or a fragment in it would announce URLs no request can reach."""
    if not isinstance(v, str):
        return False
    path = normalize_prefix(v)
    return path == "" or _is_url_path(path)


def _is_prefix(v: Any) -> bool:
    return is_prefix_path(v) or (
        isinstance(v, list) and bool(v) and all(is_prefix_path(p) for p in v)
    )


PREFIX_EXPECTED = 'a URL path such as "/api" (no spaces, query or fragment)'

# key -> (Settings field, accepts, expected, convert)
TOP_KEYS: dict[str, tuple[str, Callable[[Any], bool], str, Callable[[Any], Any]]] = {
    "prefix": (
        "prefixes",
        _is_prefix,
        f"{PREFIX_EXPECTED}, or a non-empty list of them",
        lambda v: tuple(normalize_prefix(p) for p in ([v] if isinstance(v, str) else v)),
    ),
    "handlers": ("handlers_dir", _is_str, "a folder path (a string)", Path),
    "host": (
        "host",
        is_hosts,
        HOST_EXPECTED,
        lambda v: (v,) if isinstance(v, str) else tuple(v),
    ),
    "port": ("port", lambda v: _is_int(v) and 0 <= v <= 65535, "an integer from 0 to 65535", int),
    "log_level": (
        "log_level",
        lambda v: isinstance(v, str) and v.lower() in LOG_LEVELS,
        "one of " + ", ".join(LOG_LEVELS),
        str.lower,
    ),
    "log_format": (
        "log_format",
        lambda v: isinstance(v, str) and v.lower() in LOG_FORMATS,
        " or ".join(LOG_FORMATS),
        str.lower,
    ),
    "reload": ("reload", lambda v: isinstance(v, bool), "true or false", bool),
    "allowed_origins": (
        "allowed_origins",
        lambda v: isinstance(v, list) and all(map(_is_str, v)),
        'a list of origins such as "http://devbox:5173"',
        tuple,
    ),
    "loopback_origins": ("loopback_origins", lambda v: isinstance(v, bool), "true or false", bool),
    "workers": (
        "workers",
        lambda v: _is_int(v) and 1 <= v <= 1024,
        "a number of processes from 1 to 1024",
        int,
    ),
    "backplane": (
        "backplane",
        lambda v: isinstance(v, str),  # then `url_problem` says what is wrong with it
        "a Redis URL: redis://[user:password@]host:port/db, rediss://... or unix:///path",
        str,
    ),
    "shutdown_timeout": (
        "shutdown_timeout",
        lambda v: _is_number(v) and v >= 0.1,  # as --shutdown-timeout's own bound
        "seconds, 0.1 or more",
        float,
    ),
    "health": (
        "health",
        _is_url_path,
        'a URL path such as "/healthz" (starting with "/", without a query)',
        str,
    ),
    "forwarded_allow_ips": (
        "forwarded_allow_ips",
        is_proxies,
        'a list of IP addresses and networks such as ["127.0.0.1", "10.0.0.0/8"], or "*" (any)',
        proxy_entries,
    ),
}

# [defaults]: handler option -> (accepts, expected); `check_option` then checks the value.
DEFAULT_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "heartbeat": (lambda v: v is False or _is_number(v), "seconds > 0, or false (off)"),
    "inactivity_timeout": (lambda v: v is False or _is_number(v), "seconds > 0, or false (off)"),
    "max_message_size": (_is_int, "a number of bytes > 0"),
    "per_message_deflate": (
        lambda v: isinstance(v, (bool, dict)),
        "true, false or a table of Deflate settings",
    ),
    "delay": (_is_number, "seconds >= 0"),
    "subprotocols": (lambda v: isinstance(v, list), "a list of non-empty strings"),
    "error_details": (lambda v: isinstance(v, bool), "true or false"),
}


class Checker:
    def __init__(self, path: Path, key_prefix: str) -> None:
        self.path = path
        self.key_prefix = key_prefix

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.path, message, key=self.key_prefix + key, line=self._line(key))

    def _line(self, key: str) -> int | None:
        """Where `key` is set, so the error can point at it (TOML parsers do not say)."""
        leaf = re.escape(key.rsplit(".", 1)[-1])
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        # A table of that name: `[foo]`, `[foo.bar]`, `[[foo]]` (`[tool.wsside.foo]`).
        table = re.escape(self.key_prefix + key)
        inside = not self.key_prefix  # in pyproject.toml, look only from [tool.wsside] on
        for number, text in enumerate(lines, 1):
            inside = inside or text.lstrip().startswith("[tool.wsside")
            if inside and re.search(rf'(?:^|[{{,])\s*["\']?{leaf}["\']?\s*[=.]', text):
                return number
            if inside and re.match(rf"\s*\[\[?\s*{table}\s*[\].]", text):
                return number
        return None

    def settings(self, data: dict[str, Any]) -> dict[str, Any]:
        """The settings of the file's table `data`; every mistake in it is one `ConfigError`."""
        values: dict[str, Any] = {}
        errors: list[ConfigError] = []
        for key, value in data.items():
            try:
                self._setting(key, value, values, errors)
            except ConfigError as exc:
                errors.append(exc)
        if errors:
            raise ConfigError.joined(errors)
        if "handlers_dir" in values:
            values["handlers_dir"] = self.path.parent / values["handlers_dir"]
        if "backplane" in values:  # `?ssl_ca_certs=tls/ca.pem`, as handlers_dir
            values["backplane"] = from_folder(values["backplane"], self.path.parent)
        return values

    def _setting(
        self, key: str, value: Any, values: dict[str, Any], errors: list[ConfigError]
    ) -> None:
        """Checks the top-level `key` and puts what it sets in `values` (a table's mistakes
        other than the first in `errors`)."""
        if key == "defaults":
            values["handler_defaults"] = self.defaults(value, errors)
            if notes := self.unit_notes(values["handler_defaults"]):
                values["config_notes"] = notes
            return
        if key in DEFAULT_KEYS and key not in TOP_KEYS:
            table = f"[{self.key_prefix}defaults]"
            raise self.error(
                key, f"a handler option: set it under {table}, or in Handler(...) itself"
            )
        if key not in TOP_KEYS:
            known = [*TOP_KEYS, "defaults"]
            option = _close_to(key, DEFAULT_KEYS)
            if option is not None and _close_to(key, known) is None:
                hint = f'did you mean "{option}" under [{self.key_prefix}defaults]?'
                raise self.error(key, f"unknown key; {hint}")
            raise self.error(key, _unknown("key", key, known))
        field, accepts, expected, convert = TOP_KEYS[key]
        if not accepts(value):
            raise self.error(key, f"expected {expected}, got {show(value)}")
        values[field] = convert(value)
        if key == "allowed_origins":
            for origin in value:
                problem = origin_problem(origin)
                if problem is not None:
                    raise self.error(key, f"{show(origin)}: {problem}")
        elif key == "forwarded_allow_ips":
            for entry in values[field]:
                if (problem := proxy_problem(entry)) is not None:
                    raise self.error(key, f"{show(entry)}: {problem}")
        elif key == "host":
            for host in (value,) if isinstance(value, str) else value:
                if (problem := host_problem(host)) is not None:
                    raise self.error(key, f"{show(host)}: {problem}")
            twice = None if isinstance(value, str) else hosts_problem(value)
            if twice is not None:
                raise self.error(key, f"{show(twice[0])} is {twice[1]}")
        elif key == "backplane" and (problem := url_problem(value)) is not None:
            if value.startswith("$"):  # `${REDIS_URL}`, as a shell or a compose file would
                problem += (
                    '; a config file expands no variables: pass --backplane "$REDIS_URL", or '
                    "write the file at start (docs/deploy.md)"
                )
            raise self.error(key, problem)

    def defaults(self, table: Any, errors: list[ConfigError]) -> dict[str, Any]:
        """The handler options of [defaults] that are right; a mistake in each other one is
        added to `errors`."""
        if not isinstance(table, dict):
            raise self.error("defaults", f"expected a table of handler options, got {show(table)}")
        result: dict[str, Any] = {}
        for name, value in table.items():
            try:
                result[name] = self._default(name, value)
            except ConfigError as exc:
                errors.append(exc)
        return result

    def _default(self, name: str, value: Any) -> Any:
        key = f"defaults.{name}"
        if name not in DEFAULT_KEYS:
            if name in inspect.signature(Handler.__init__).parameters and name != "self":
                raise self.error(
                    key,
                    "a Handler() option that is each handler's own, not a default: set it "
                    f"in Handler(...); a default is one of {', '.join(DEFAULT_KEYS)}",
                )
            if name in TOP_KEYS:  # written below [defaults], which TOML puts in it
                table = f"[{self.key_prefix}defaults]"
                raise self.error(
                    key,
                    f'"{name}" is a setting of the server, not a handler option: put it above '
                    f"{table} (a key below a [table] line belongs to that table)",
                )
            raise self.error(key, _unknown("handler option", name, DEFAULT_KEYS))
        accepts, expected = DEFAULT_KEYS[name]
        if not accepts(value):
            raise self.error(key, f"expected {expected}, got {show(value)}")
        if isinstance(value, dict):
            value = self.deflate(key, value)
        try:
            return check_option(name, value)
        except (TypeError, ValueError):
            raise self.error(key, f"expected {expected}, got {show(value)}") from None

    def unit_notes(self, defaults: dict[str, Any]) -> tuple[str, ...]:
        """The durations of [defaults] that look like milliseconds, each as a warning naming the
        file (as every report line names it: `shown`), line and key (as
        `Handler(heartbeat=30000)` is warned of at its line)."""
        notes = []
        for name in sorted(defaults):
            note = milliseconds_note(name, defaults[name])
            if note is not None:
                error = self.error(f"defaults.{name}", note)
                where = shown(self.path) + ("" if error.line is None else f":{error.line}")
                notes.append(f"{where}: {error.reason}")
        return tuple(notes)

    def deflate(self, key: str, table: dict[str, Any]) -> Deflate:
        fields = tuple(Deflate.__dataclass_fields__)
        for name, value in table.items():
            if name not in fields:
                raise self.error(f"{key}.{name}", _unknown("Deflate setting", name, fields))
            if name.endswith("_bits"):
                ok, expected = _is_int(value) and 8 <= value <= 15, "an integer from 8 to 15"
            else:
                ok, expected = isinstance(value, bool), "true or false"
            if not ok:
                raise self.error(f"{key}.{name}", f"expected {expected}, got {show(value)}")
        return Deflate(**table)
