"""What happens when the config file changes: it is read again into settings, each invalid
version is reported (a `config_error` event: file, key, line) while the current settings
keep serving, and whoever runs the sidecar restarts it with settings that differ.

`Reloader` (reload.py) sets the event that says the file changed; a config that was invalid
at start-up under Vite has nothing serving yet, so its file is polled here instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from .._places import shown
from .config import ConfigError, OptionError
from .events import emit
from .reload import QUIET
from .settings import Settings

__all__ = ["changed_file", "config_error_event", "first_valid_settings", "next_settings"]

# How often a config file that was invalid at start-up is looked at again (first_valid_settings).
CONFIG_POLL = 0.2


async def next_settings(
    changed: asyncio.Event, current: Settings, rebuild: Callable[[], Settings]
) -> Settings:
    """Wait for the config file to change into valid settings that differ from `current`.

    `rebuild` reads the settings again the way start-up did (`build_settings` with the same
    explicit options). An invalid config is reported (a `config_error` event, with file, key
    and line) and the current settings keep serving; a valid one that changes nothing (say, an
    edit elsewhere in pyproject.toml) is reported as `config_ok`.
    """
    while True:
        await changed.wait()
        changed.clear()
        try:
            settings = rebuild()
        except (ConfigError, OptionError) as exc:
            emit(config_error_event(exc))
            continue
        if settings != current:
            return settings
        if settings.config_file is not None:  # else a file that is no config of ours changed
            emit({"type": "config_ok", "file": str(settings.config_file)})


def changed_file(before: Settings, after: Settings) -> str:
    """The config file whose change the restart line names: a file now read instead of the
    one before (created where it is read first) while that one is still there; else the one
    read before (edited, or gone)."""
    old, new = before.config_file, after.config_file
    if new is not None and new != old and (old is None or old.exists()):
        return shown(new)
    return shown(old or new or "the config file")


def config_error_event(exc: ConfigError | OptionError) -> dict[str, object]:
    """The `config_error` event of `exc`: its file and line apart from what is wrong, so that
    a report says the file once."""
    return {
        "type": "config_error",
        "message": exc.reason,
        "file": None if exc.file is None else str(exc.file),
        "line": exc.line,
        "column": None,
        "key": exc.key,
    }


async def first_valid_settings(
    error: ConfigError | OptionError, rebuild: Callable[[], Settings], stop: asyncio.Event
) -> Settings | None:
    """Start-up under Vite found the config invalid (`error`): report it (a `config_error`
    event) and wait for its file to change into valid settings, which are returned; None
    once `stop` is set. The file is polled (its absence is a state too: a config named by
    the plugin may not exist yet); each invalid version is reported again."""

    async def stopped_within(seconds: float) -> bool:
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    read = _file_state(error.file)  # of the version reported (looked at before it is)
    while True:
        emit(config_error_event(error))
        now = read
        while now == read:
            if await stopped_within(CONFIG_POLL):
                return None
            now = _file_state(error.file)
        # Then unchanged for QUIET: an editor may write the file in more than one step.
        while True:
            if await stopped_within(QUIET):
                return None
            read, now = now, _file_state(error.file)
            if now == read:
                break
        try:
            return rebuild()
        except (ConfigError, OptionError) as exc:
            error = exc


def _file_state(path: Path | None) -> tuple[int, int, int] | None:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns)
