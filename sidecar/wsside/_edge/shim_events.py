"""What Vite's shim hears of the sidecar's events: load errors, reloads, removals, each as a
control message, and after a batch of reloads the endpoints and their types as they are now.

A checkout's hundred files would each rebuild and send the whole endpoint table, so the table
rides only on the batch's last `reloaded` or `removed`; a batch whose last file changed
nothing (a touch) or did not load still ends with it, as an `endpoints` message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .control import SIDECAR_EVENTS, message
from .node_ipc import NodeChannel
from .server import Sidecar
from .unseen_types import note_unseen_types

__all__ = ["ShimEvents"]


class ShimEvents:
    """Relays the events of `sidecar()` (the one serving now, if any) over `channel`."""

    def __init__(self, channel: NodeChannel, sidecar: Callable[[], Sidecar | None]) -> None:
        self._channel = channel
        self._sidecar = sidecar
        # A `reloaded` or `removed` went out without the endpoint table (more files of its
        # batch followed): the table goes once the batch is applied.
        self._table_owed = False

    def relay(self, event: dict[str, Any]) -> None:
        """An event of `wsside._runtime.events` (subscribe this)."""
        if event.get("type") not in SIDECAR_EVENTS:
            return
        fields = {k: v for k, v in event.items() if k != "type"}
        if event["type"] in ("reloaded", "removed") and self._sidecar() is not None:
            if self._reloading():
                self._owe_table()
            else:
                self._table_owed = False
                fields.update(self.table())
        self._channel.send(message(event["type"], **fields))
        self._types_sent(fields)

    def table(self) -> dict[str, Any]:
        """The endpoints and their types, as the serving sidecar has them now (no types
        while they are unknown: `Sidecar.types`)."""
        sidecar = self._sidecar()
        assert sidecar is not None
        types = sidecar.types()
        return {"handlers": sidecar.describe(), **({} if types is None else {"types": types})}

    def _reloading(self) -> bool:
        sidecar = self._sidecar()
        reloader = sidecar.reloader if sidecar is not None else None
        return reloader is not None and reloader.busy

    def _owe_table(self) -> None:
        if not self._table_owed:
            self._table_owed = True
            asyncio.get_running_loop().call_soon(self._settle_table)

    def _settle_table(self) -> None:
        """The owed table, once the batch is applied, unless its last file's event (which
        carries it) went out."""
        if not self._table_owed or self._sidecar() is None:
            return
        if self._reloading():
            asyncio.get_running_loop().call_soon(self._settle_table)
            return
        self._table_owed = False
        table = self.table()
        self._channel.send(message("endpoints", **table))
        self._types_sent(table)

    def _types_sent(self, fields: dict[str, Any]) -> None:
        """After types went out (the plugin writes them): whether the tsconfig sees them, said
        once (types declared while Vite runs, by a project that started without any)."""
        sidecar = self._sidecar()
        if "types" in fields and sidecar is not None:
            note_unseen_types(sidecar.registry.endpoints(), Path.cwd())
