"""The config file: `wsside.toml`, or `[tool.wsside]` in `pyproject.toml`.

Precedence: explicit options (CLI flags, the shim's options) > config file > `Settings`
defaults. Unknown keys and wrong types are `ConfigError`s naming the file, the key and what is
expected, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..handler import Deflate, check_option
from ..pattern import normalize_prefix
from .backplane_url import url_problem
from .origins import origin_problem
from .settings import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = [
    "CONFIG_FILE",
    "VITE_CONFIG_NAMES",
    "ConfigError",
    "OptionError",
    "build_settings",
    "find_config",
    "find_vite_config",
    "load_config",
    "not_utf8",
    "project_root",
]

CONFIG_FILE = "wsside.toml"
LOG_LEVELS = ("debug", "info", "warning", "error")
VITE_CONFIG_NAMES = tuple(f"vite.config.{ext}" for ext in ("js", "mjs", "ts", "cjs", "mts", "cts"))


class ConfigError(ValueError):
    """A config file that cannot be used. `file`, `key` and `line` say where (when known)."""

    def __init__(
        self, file: Path, message: str, key: str | None = None, line: int | None = None
    ) -> None:
        self.file, self.key, self.line = file, key, line
        # What is wrong, for a report that names the file and line itself.
        self.reason = f'key "{key}": {message}' if key else message
        super().__init__(f"{file}: {self.reason}")


class OptionError(ValueError):
    """An option given to `wsside serve` (by a person or by the shim) that cannot be used.
    The message starts with the option, as typed: `--port 99999: expected ...`."""

    file: Path | None = None  # the same shape as `ConfigError`, for status events
    line: int | None = None

    def __init__(self, option: str, value: Any, message: str) -> None:
        self.key = option
        shown = '""' if value == "" else value  # an empty value, visibly
        self.reason = f"{option} {shown}: {message}"
        super().__init__(self.reason)


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


def find_config(*dirs: Path) -> Path | None:
    """The first `wsside.toml`, or `pyproject.toml` with a `[tool.wsside]` table, in `dirs`."""
    for folder in dirs:
        if not folder.is_dir():
            continue
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _tool_table(_read(candidate), candidate) is not None:
            return candidate
    return None


def _tool_table(data: dict[str, Any], path: Path) -> Any:
    """pyproject.toml's `[tool.wsside]`, or None when it has none."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(path, f"expected a table, got {_show(tool)}", key="tool")
    table = tool.get("wsside")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(path, f"expected a table, got {_show(table)}", key="tool.wsside")
    return table


def find_vite_config(root: Path) -> Path | None:
    """The Vite config file in `root`, if there is one."""
    return next((root / n for n in VITE_CONFIG_NAMES if (root / n).is_file()), None)


def project_root(start: Path) -> Path:
    """The folder of the nearest vite.config.* at or above `start` (else `start`)."""
    start = start.resolve()
    return next((d for d in (start, *start.parents) if find_vite_config(d)), start)


def load_config(where: Path) -> tuple[dict[str, Any], Path | None]:
    """The `Settings` keyword values a config file sets, and the file they came from.

    `where` is the file itself, or a folder to look in (then `({}, None)` when it has none).
    A relative `handlers` folder is relative to the config file.
    """
    path = find_config(where) if where.is_dir() else where
    if path is None:
        return {}, None
    if not path.is_file():
        raise ConfigError(path, "no such file")
    data = _read(path)
    key_prefix = ""
    if path.name == "pyproject.toml":
        key_prefix = "tool.wsside."
        data = _tool_table(data, path)
        if data is None:
            raise ConfigError(path, "no [tool.wsside] table")
    return _Checker(path, key_prefix).settings(data), path


def build_settings(
    explicit: Mapping[str, Any],
    config: Path | None = None,
    search: Iterable[Path] = (),
    *,
    need_handlers: bool = False,
) -> Settings:
    """`Settings` from `explicit` values (keys are `Settings` fields; None means "not given"),
    then the config file (`config`, else the first found in `search`), then the defaults.

    Raises `OptionError` for an explicit value out of range and `ConfigError` for a bad file.
    With `need_handlers`, the handlers folder must exist (standalone serving; under Vite the
    folder may appear later).
    """
    given = {k: v for k, v in explicit.items() if v is not None}
    for key in _CHECKED_OPTIONS:
        field, accepts, expected, _ = _TOP[key]
        if field in given and not accepts(given[field]):
            raise OptionError(_OPTION_NAMES[field], given[field], f"expected {expected}")
    if "log_level" in given:
        given["log_level"] = given["log_level"].lower()
    for origin in given.get("allowed_origins", ()):
        problem = origin_problem(origin)
        if problem is not None:
            raise OptionError("--allow-origin", origin, problem)
    values: dict[str, Any] = {}
    if config is not None and config.is_dir() and find_config(config) is None:
        raise ConfigError(
            config, "a folder without wsside.toml or [tool.wsside] in pyproject.toml: give the file"
        )
    source = config if config is not None else find_config(*search)
    if source is not None:
        values, source = load_config(source)
    from_file = "handlers_dir" in values
    values.update(given)
    settings = Settings(**values, config_file=source)
    if need_handlers:
        _check_handlers(settings, "handlers_dir" in given, source if from_file else None)
    return settings


# The `wsside serve` options whose values are checked as the config file's are (the others are
# typed by the command line itself), by `Settings` field, as the user types them.
_OPTION_NAMES = {
    "handlers_dir": "--handlers",
    "port": "--port",
    "log_level": "--log-level",
    "workers": "--workers",
    "shutdown_timeout": "--shutdown-timeout",
    "host": "--host",
}
_CHECKED_OPTIONS = ("port", "log_level", "workers", "shutdown_timeout", "host")


def folder_problem(path: Path) -> str | None:
    """What keeps `path` from being used as a folder, or None when it is one."""
    if path.is_dir():
        return None
    return "is a file, not a folder" if path.exists() else "no such folder"


def _check_handlers(settings: Settings, given: bool, config_file: Path | None) -> None:
    folder = settings.handlers_dir
    problem = folder_problem(folder)
    if problem is None:
        return
    if given:
        raise OptionError(
            _OPTION_NAMES["handlers_dir"], folder, f"{problem} (give the folder of handler files)"
        )
    if config_file is not None:
        key_prefix = "tool.wsside." if config_file.name == "pyproject.toml" else ""
        raise _Checker(config_file, key_prefix).error("handlers", f"{problem}: {folder}")
    raise OptionError(
        "handlers folder",
        folder.resolve(),
        f"{problem}: create it, or give another with --handlers DIR",
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_bytes().decode("utf-8"))
        return data
    except UnicodeDecodeError as exc:
        problem, line = not_utf8(exc)
        raise ConfigError(path, problem, line=line) from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            path, f"invalid TOML: {exc}", line=int(found.group(1)) if found else None
        ) from None
    except OSError as exc:
        raise ConfigError(path, f"cannot read it: {exc.strerror}") from None


def not_utf8(exc: UnicodeDecodeError) -> tuple[str, int]:
    """What a file that is not UTF-8 is told, and the line of its first bad byte."""
    line = exc.object[: exc.start].count(b"\n") + 1
    byte = exc.object[exc.start]
    return f"not UTF-8 text (byte 0x{byte:02x} on line {line}): save it as UTF-8", line


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # as TOML writes it: nan, inf, -inf
    return json.dumps(value, default=str, ensure_ascii=False)


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    """An int or a float, finite: TOML has `nan` and `inf`, which are no durations."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_prefix(v: Any) -> bool:
    return _is_str(v) or (isinstance(v, list) and bool(v) and all(_is_str(p) for p in v))


# key -> (Settings field, accepts, expected, convert)
_TOP: dict[str, tuple[str, Callable[[Any], bool], str, Callable[[Any], Any]]] = {
    "prefix": (
        "prefixes",
        _is_prefix,
        "a string or a non-empty list of strings",
        lambda v: tuple(normalize_prefix(p) for p in ([v] if isinstance(v, str) else v)),
    ),
    "handlers": ("handlers_dir", _is_str, "a folder path (a string)", Path),
    "host": ("host", _is_str, "a host name or address (a string)", str),
    "port": ("port", lambda v: _is_int(v) and 0 <= v <= 65535, "an integer from 0 to 65535", int),
    "log_level": (
        "log_level",
        lambda v: isinstance(v, str) and v.lower() in LOG_LEVELS,
        "one of " + ", ".join(LOG_LEVELS),
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
        lambda v: isinstance(v, str) and url_problem(v) is None,
        "a Redis URL: redis://[user:password@]host:port/db or rediss://...",
        str,
    ),
    "shutdown_timeout": (
        "shutdown_timeout",
        lambda v: _is_number(v) and v > 0,
        "seconds > 0",
        float,
    ),
}

# [defaults]: handler option -> (accepts, expected); `check_option` then checks the value.
_DEFAULTS: dict[str, tuple[Callable[[Any], bool], str]] = {
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


class _Checker:
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
        inside = not self.key_prefix  # in pyproject.toml, look only from [tool.wsside] on
        for number, text in enumerate(lines, 1):
            inside = inside or text.lstrip().startswith("[tool.wsside")
            if inside and re.search(rf'(?:^|[{{,])\s*["\']?{leaf}["\']?\s*=', text):
                return number
        return None

    def settings(self, data: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "defaults":
                values["handler_defaults"] = self.defaults(value)
                continue
            if key in _DEFAULTS and key not in _TOP:
                table = f"[{self.key_prefix}defaults]"
                raise self.error(
                    key, f"a handler option: set it under {table}, or in Handler(...) itself"
                )
            if key not in _TOP:
                known = [*_TOP, "defaults"]
                option = _close_to(key, _DEFAULTS)
                if option is not None and _close_to(key, known) is None:
                    hint = f'did you mean "{option}" under [{self.key_prefix}defaults]?'
                    raise self.error(key, f"unknown key; {hint}")
                raise self.error(key, _unknown("key", key, known))
            field, accepts, expected, convert = _TOP[key]
            if not accepts(value):
                raise self.error(key, f"expected {expected}, got {_show(value)}")
            values[field] = convert(value)
            if key == "allowed_origins":
                for origin in value:
                    problem = origin_problem(origin)
                    if problem is not None:
                        raise self.error(key, f"{_show(origin)}: {problem}")
        if "handlers_dir" in values:
            values["handlers_dir"] = self.path.parent / values["handlers_dir"]
        return values

    def defaults(self, table: Any) -> dict[str, Any]:
        if not isinstance(table, dict):
            raise self.error("defaults", f"expected a table of handler options, got {_show(table)}")
        result: dict[str, Any] = {}
        for name, value in table.items():
            key = f"defaults.{name}"
            if name not in _DEFAULTS:
                raise self.error(key, _unknown("handler option", name, _DEFAULTS))
            accepts, expected = _DEFAULTS[name]
            if not accepts(value):
                raise self.error(key, f"expected {expected}, got {_show(value)}")
            if isinstance(value, dict):
                value = self.deflate(key, value)
            try:
                result[name] = check_option(name, value)
            except (TypeError, ValueError):
                raise self.error(key, f"expected {expected}, got {_show(value)}") from None
        return result

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
                raise self.error(f"{key}.{name}", f"expected {expected}, got {_show(value)}")
        return Deflate(**table)
