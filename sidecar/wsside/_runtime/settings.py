"""`Settings`: how one sidecar runs. Built from CLI options, the config file and defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..pattern import normalize_prefix

__all__ = ["Settings"]


@dataclass
class Settings:
    handlers_dir: Path = Path("ws")
    prefixes: tuple[str, ...] = ("/api",)
    host: tuple[str, ...] = ("127.0.0.1",)  # each address listened on, one port
    port: int = 8765
    reload: bool = True
    # Set in shim mode: required on any listener another local process could reach.
    secret: str | None = None
    log_level: str = "info"
    # `wsside serve`: "text" (`12:00:01 message`) or "json" (one JSON object a line); Vite's
    # sidecar ignores it (the shim shows the lines in Vite's terminal).
    log_format: str = "text"
    # Standalone `serve`: browser origins accepted besides loopback ones (under the shim,
    # the shim checks Origin against the dev server instead).
    allowed_origins: tuple[str, ...] = ()
    # Standalone `serve`: whether pages from this machine (localhost, 127.0.0.1, [::1]) are
    # accepted too.
    loopback_origins: bool = True
    # `wsside serve`: how many processes share the port (a supervising parent when > 1).
    workers: int = 1
    # Redis URL of the backplane that carries broadcasts between processes, or None.
    backplane: str | None = None
    # On SIGTERM: seconds from "stop accepting" to the process's exit, at most.
    shutdown_timeout: float = 10.0
    # `wsside serve`: the URL path answering health probes (`GET` 200, 503 while stopping), or
    # None (off). The shim and ASGI apps leave it alone.
    health: str | None = None
    # `wsside serve`: the reverse proxies (IP addresses, networks, or "*" for any) whose
    # `X-Forwarded-For` names the client (`_edge/forwarded.py`); none by default. Vite's
    # sidecar ignores it (the shim hands over the client's own socket).
    forwarded_allow_ips: tuple[str, ...] = ()
    # The config file the values came from (watched when `reload` is on), and its [defaults]:
    # handler options applied to every handler that leaves them unset.
    config_file: Path | None = None
    handler_defaults: dict[str, Any] = field(default_factory=dict)
    # What to warn of in the config file, each naming its file, line and key (a duration of
    # [defaults] that looks like milliseconds).
    config_notes: tuple[str, ...] = ()
    # The fields given as options (CLI flags): a problem found once the handlers are loaded
    # names the flag, not the config file.
    given: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.handlers_dir = Path(self.handlers_dir)
        self.prefixes = tuple(normalize_prefix(p) for p in self.prefixes)

    @property
    def url_prefix(self) -> str:
        return self.prefixes[0] if self.prefixes else ""
