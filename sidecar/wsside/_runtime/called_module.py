"""A handler file that calls one of wsside's modules as its class: `from wsside import
handler` imports the module `wsside.handler`, and `handler("/ws/chat")` is then Python's
"'module' object is not callable", which names neither what was meant nor where it went wrong.
"""

from __future__ import annotations

import types

import wsside

__all__ = ["called_module_hint"]


def called_module_hint(exc: BaseException, module: types.ModuleType) -> str | None:
    """For "'module' object is not callable" in the handler file `module`: its names bound to
    a wsside module that has a public class of the same name (`handler`: `Handler`), with the
    import to write; else None."""
    if not (isinstance(exc, TypeError) and str(exc).startswith("'module' object is not callable")):
        return None
    public = {name.lower(): name for name in wsside.__all__ if name[:1].isupper()}
    found = [
        (name, public[name])
        for name, value in vars(module).items()
        if isinstance(value, types.ModuleType)
        and value.__name__ == f"wsside.{name}"
        and name in public
    ]
    if not found:
        return None
    name, cls = found[0]
    return f"`{name}` is the module wsside.{name}: `from wsside import {cls}`, then {cls}(...)"
