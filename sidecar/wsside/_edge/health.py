"""`wsside serve --health PATH` (config `health`): what a load balancer's or Kubernetes' probe
of that path gets.

`GET` or `HEAD`: `200 {"status": "ok", "connections": N, "backplane": "off"}` while the
process serves (`N`: its open WebSockets; `backplane`: "off", "up" or "down"; under
`--workers`, also `"worker": INDEX`), `503 {"status": "draining", ...}` once it stops
(SIGTERM; under `--workers`, a worker being replaced too). A Redis outage keeps the `200`: the
process still serves its own connections, and every instance failing its probe at once
would take the whole service down. Other methods get `405` with `Allow`. Probes are not in
the access log at info (one every few seconds would flood it); at debug each gets a line.

`Intake.handle` compares each request's path with the health path once, before anything
else; nothing here runs for a WebSocket.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from aiohttp import hdrs, web

from .._runtime import access
from .._runtime.events import shown
from ..pattern import strip_prefix

if TYPE_CHECKING:
    from .._runtime.redis_backplane import RedisBackplane
    from .._runtime.registry import Registry

__all__ = ["Health", "health_clash"]

_ALLOWED = ("GET", "HEAD")


class Health:
    """The answers at `path`; `backplane` is the process's (None: "off"), `worker` its index
    under `--workers` (None for one process)."""

    def __init__(self, path: str, backplane: RedisBackplane | None, worker: int | None) -> None:
        self.path = path
        self.backplane = backplane
        self.worker = worker

    def answer(self, request: web.Request, connections: int, draining: bool) -> web.Response:
        if request.method not in _ALLOWED:
            response = web.Response(
                status=405,
                text="Method Not Allowed\n",
                headers={
                    hdrs.ALLOW: ", ".join(_ALLOWED),
                    hdrs.CONNECTION: "close",
                    hdrs.X_CONTENT_TYPE_OPTIONS: "nosniff",
                },
            )
            response.force_close()
        else:
            state: dict[str, object] = {
                "status": "draining" if draining else "ok",
                "connections": connections,
                "backplane": self._backplane(),
            }
            if self.worker is not None:
                state["worker"] = self.worker
            response = web.Response(
                status=503 if draining else 200,
                text=json.dumps(state) + "\n",
                content_type="application/json",
                headers={hdrs.CACHE_CONTROL: "no-store"},
            )
            if draining:
                # The next probe comes on a new connection: under `--workers` the kernel
                # gives it to a worker that still listens.
                response.force_close()
        if access.access_log.isEnabledFor(logging.DEBUG):
            access.access_log.debug(
                '%s - "%s %s" %d',
                access.peer(request.transport),
                request.method,
                self.path,
                response.status,
            )
        return response

    def _backplane(self) -> str:
        if self.backplane is None:
            return "off"
        return "up" if self.backplane.up else "down"


def health_clash(path: str, prefixes: tuple[str, ...], registry: Registry) -> str | None:
    """Why `path` cannot be the health path: the endpoint it would hide (its pattern and
    file), or None."""
    rel = strip_prefix(path, prefixes)
    found = registry.match(rel) if rel is not None else None
    if found is None:
        return None
    handler = found[0].handler
    return (
        f"a path of the endpoint {handler.pattern.source} ({shown(handler.file)}:{handler.line}), "
        "which it would hide: choose one that no endpoint matches"
    )
