"""The config file: `wsside.toml`, or `[tool.wsside]` in `pyproject.toml`.

Precedence: explicit options (CLI flags, the shim's options) > config file > `Settings`
defaults. Unknown keys and wrong types are `ConfigError`s naming the file, the key and what is
expected, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import codecs
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._places import folder_problem, not_a_file, shown
from .address_values import host_problem, hosts_problem, is_host, proxy_entries, proxy_problem
from .backplane_url import options_problem
from .config_error import ConfigError, show
from .config_keys import PREFIX_EXPECTED, TOP_KEYS, Checker, is_prefix_path
from .origins import origin_problem
from .settings import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = [
    "CONFIG_FILE",
    "ConfigError",
    "OptionError",
    "build_settings",
    "config_search",
    "file_problem",
    "find_config",
    "load_config",
    "not_utf8",
    "setting_error",
]

CONFIG_FILE = "wsside.toml"


class OptionError(ValueError):
    """An option given to `wsside serve` (by a person or by the shim) that cannot be used.
    The message starts with the option, as typed: `--port 99999: expected ...`."""

    file: Path | None = None  # the same shape as `ConfigError`, for status events
    line: int | None = None

    def __init__(self, option: str, value: Any, message: str) -> None:
        self.key = option
        # A blank value, quoted to be seen; a number of seconds as typed (typer gives 0 as 0.0).
        blank = isinstance(value, str) and not value.strip()
        shown = show(value) if blank else f"{value:g}" if isinstance(value, float) else value
        self.reason = f"{option} {shown}: {message}"
        super().__init__(self.reason)


def config_search(cwd: Path, handlers: Path | str | None) -> tuple[Path, ...]:
    """Where a config file is looked for: `cwd`, then beside the `handlers` folder (taken
    from `cwd` when relative, links resolved), as `wsside serve --handlers` does."""
    return (cwd, *(((cwd / handlers).resolve().parent,) if handlers else ()))


def find_config(*dirs: Path) -> Path | None:
    """The first `wsside.toml`, or `pyproject.toml` with a `[tool.wsside]` table, in `dirs`."""
    for folder in dirs:
        if not folder.is_dir():
            continue
        candidate = folder / CONFIG_FILE
        if _usable(candidate):
            return candidate
        candidate = folder / "pyproject.toml"
        if _usable(candidate) and _tool_table(_read(candidate), candidate) is not None:
            return candidate
    return None


def _usable(path: Path) -> bool:
    """Whether `path` is a file to read; False when nothing is there. Anything else by that
    name (a broken link, a folder) is a `ConfigError`: a config the user meant to be read
    must not be skipped in favour of the defaults."""
    if not os.path.lexists(path):
        return False
    problem = file_problem(path)
    if problem is not None:
        raise ConfigError(path, problem)
    return True


def file_problem(path: Path) -> str | None:
    """What keeps `path` from being read as a config file, or None when it is a regular file
    (or a link to one)."""
    found = not_a_file(path)
    if found is None:
        return None
    if found.kind == "missing":
        return "no such file"
    if found.target is not None:
        if found.kind == "dangling":
            return f"symlink to {found.target}, which does not exist"
        if found.kind == "loop":
            return f"symlink to {found.target}, which leads back to itself (a loop of links)"
        return f"symlink to {found.target}, which cannot be followed: {found.detail}"
    if found.kind == "folder":
        return "a folder, not a file"
    if found.kind == "special":
        return f"not a regular file ({found.detail}): give the config file itself"
    return f"cannot read it: {found.detail}"


def _tool_table(data: dict[str, Any], path: Path) -> Any:
    """pyproject.toml's `[tool.wsside]`, or None when it has none."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(path, f"expected a table, got {show(tool)}", key="tool")
    table = tool.get("wsside")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(path, f"expected a table, got {show(table)}", key="tool.wsside")
    return table


def load_config(where: Path) -> tuple[dict[str, Any], Path | None]:
    """The `Settings` keyword values a config file sets, and the file they came from.

    `where` is the file itself, or a folder to look in (then `({}, None)` when it has none).
    A relative `handlers` folder is relative to the config file.
    """
    path = find_config(where) if where.is_dir() else where
    if path is None:
        return {}, None
    problem = file_problem(path)
    if problem is not None:
        raise ConfigError(path, problem)
    data = _read(path)
    if path.name == "pyproject.toml":
        data = _tool_table(data, path)
        if data is None:
            raise ConfigError(path, "no [tool.wsside] table")
    values = _checker(path).settings(data)
    if path.name == CONFIG_FILE and (note := _unread_table(path)) is not None:
        values["config_notes"] = (*values.get("config_notes", ()), note)
    return values, path


def _unread_table(config: Path) -> str | None:
    """The warning for a `[tool.wsside]` in the pyproject.toml beside `config` (a
    wsside.toml, which wins): else a key set there has no effect and nothing says why."""
    pyproject = config.with_name("pyproject.toml")
    try:
        if not pyproject.is_file() or _tool_table(_read(pyproject), pyproject) is None:
            return None
    except ConfigError:  # not TOML, or no table where one would be: nothing of wsside's
        return None
    return (
        f"{shown(pyproject)}: its [tool.wsside] is not read, as {CONFIG_FILE} beside it is "
        f"the config file: move what it sets to {CONFIG_FILE}"
    )


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
    folder = given.get("handlers_dir")
    if isinstance(folder, str):  # as typed after --handlers
        if not folder.strip():
            raise OptionError(
                "--handlers", folder, "expected a folder (the folder of handler files)"
            )
        given["handlers_dir"] = Path(folder)
    if "host" in given:
        given["host"] = _given_hosts(given["host"])
    for key in _CHECKED_OPTIONS:
        field, accepts, expected, _ = TOP_KEYS[key]
        if field in given and not accepts(given[field]):
            raise OptionError(_OPTION_NAMES[field], given[field], f"expected {expected}")
    for prefix in given.get("prefixes", ()):
        if not is_prefix_path(prefix):
            raise OptionError("--prefix", prefix, f"expected {PREFIX_EXPECTED}")
    for key in ("log_level", "log_format"):
        if key in given:
            given[key] = given[key].lower()
    for origin in given.get("allowed_origins", ()):
        problem = origin_problem(origin)
        if problem is not None:
            raise OptionError("--allow-origin", origin, problem)
    if "forwarded_allow_ips" in given:
        # Each --forwarded-allow-ips, split at commas as uvicorn's is.
        given["forwarded_allow_ips"] = proxies = proxy_entries(given["forwarded_allow_ips"])
        for entry in proxies:
            problem = proxy_problem(entry)
            if problem is not None:
                raise OptionError(_OPTION_NAMES["forwarded_allow_ips"], entry, problem)
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
    settings = Settings(**values, config_file=source, given=frozenset(given))
    if need_handlers:
        _check_handlers(settings, "handlers_dir" in given, source if from_file else None)
    if source is not None and "backplane" not in given and settings.backplane is not None:
        # The URL's ?options reach redis-py, which reads them only when it connects.
        problem = options_problem(settings.backplane)
        if problem is not None:
            raise _file_error(source, "backplane", problem)
    return settings


def _given_hosts(value: str | Iterable[str]) -> tuple[str, ...]:
    """`Settings.host` from `--host` (each given, in order). One that is not an address, or
    one given twice, is an `OptionError`."""
    hosts = (value,) if isinstance(value, str) else tuple(value)
    for host in hosts:
        if not is_host(host):
            blank = not host.strip()
            expected = "(a string)" if blank else "(one: give --host once for each address)"
            raise OptionError("--host", host, f"expected a host name or address {expected}")
        if (problem := host_problem(host)) is not None:
            raise OptionError("--host", host, problem)
    twice = hosts_problem(hosts)
    if twice is not None:
        raise OptionError("--host", *twice)
    return hosts


def setting_error(settings: Settings, key: str, message: str) -> ConfigError | OptionError:
    """An error about the value of `key` (a config key), found once the handler files are
    loaded: naming the flag when one gave it, else the config file's line."""
    field = TOP_KEYS[key][0]
    value = getattr(settings, field)
    if field == "host" and len(value) == 1:
        value = value[0]  # as typed: `--host example.invalid`, `host = "example.invalid"`
    if field in settings.given or settings.config_file is None:
        return OptionError(_OPTION_NAMES[field], value, message)
    # A backplane URL may hold a password, which an error never shows.
    said = message if key == "backplane" else f"{show(value)}: {message}"
    return _file_error(settings.config_file, key, said)


def _file_error(config_file: Path, key: str, message: str) -> ConfigError:
    """An error about `key` of the config file, at its line."""
    return _checker(config_file).error(key, message)


def _checker(config_file: Path) -> Checker:
    """The checker of `config_file`, whose keys are under [tool.wsside] in pyproject.toml."""
    return Checker(config_file, "tool.wsside." if config_file.name == "pyproject.toml" else "")


# The `wsside serve` options whose values are checked as the config file's are (the others are
# typed by the command line itself), by `Settings` field, as the user types them.
_OPTION_NAMES = {
    "handlers_dir": "--handlers",
    "port": "--port",
    "log_level": "--log-level",
    "log_format": "--log-format",
    "workers": "--workers",
    "shutdown_timeout": "--shutdown-timeout",
    "host": "--host",
    "health": "--health",
    "forwarded_allow_ips": "--forwarded-allow-ips",
}
# (`--host` is checked by `_given_hosts`, each one given; `--forwarded-allow-ips`, each entry,
# in `build_settings`.)
_CHECKED_OPTIONS = ("port", "log_level", "log_format", "workers", "shutdown_timeout", "health")


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
        raise _file_error(config_file, "handlers", f"{problem}: {folder}")
    raise OptionError(
        "handlers folder",
        folder.resolve(),
        f"{problem}: create it, or give another with --handlers DIR",
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        content = path.read_bytes()
        if content.startswith(codecs.BOM_UTF8):
            # Refused, not skipped: TOML has no byte-order mark, and pip and the other readers
            # of pyproject.toml refuse it too; a save fixes it for all of them.
            raise ConfigError(
                path,
                "starts with a byte-order mark (BOM), which TOML does not allow: save it as "
                "UTF-8 without BOM",
                line=1,
            )
        data: dict[str, Any] = tomllib.loads(content.decode("utf-8"))
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
