"""What to say when a handler file passes `Handler()` an option it does not take.

Python's own TypeError names the first unknown keyword only, with at most one suggestion
(`Handler.__init__() got an unexpected keyword argument 'hearbeat'`, and from 3.13
`. Did you mean 'heartbeat'?`). The loader rewrites it
into one line naming every unknown option of that call, each with the option it is most
likely a misspelling of, as the config file's errors do.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import re
from pathlib import Path

from ..handler import Handler

__all__ = ["unknown_options"]

# (Python 3.10 leaves the class out: `__init__() got ...`; 3.13 adds its own guess after it:
# `... argument 'hearbeat'. Did you mean 'heartbeat'?`.)
_UNEXPECTED = re.compile(
    r"^(Handler\.)?__init__\(\) got an unexpected keyword argument '(\w+)'"
    r"(\. Did you mean '\w+'\?)?$"
)


# Other libraries' names for an option (websockets', python-socketio's, Starlette's), and
# wsside's: no spelling is near enough for difflib to find it.
_THEIRS = {
    "compression": "per_message_deflate",
    "permessage_deflate": "per_message_deflate",
    "ping_interval": "heartbeat",
    "ping_timeout": "heartbeat",
    "max_size": "max_message_size",
    "max_payload": "max_message_size",
    "idle_timeout": "inactivity_timeout",
    "path": "pattern",
    "on_disconnect": "on_close",
    "on_open": "on_connect",
    "protocols": "subprotocols",
}


def _options() -> list[str]:
    return [name for name in inspect.signature(Handler.__init__).parameters if name != "self"]


def _named_in_call(file: Path, line: int) -> list[str] | None:
    """The keywords of the `Handler(...)` call that spans `line` of `file` (none: None)."""
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name == "Handler" and node.lineno <= line <= (node.end_lineno or node.lineno):
            return [k.arg for k in node.keywords if k.arg is not None]
    return None


def unknown_options(exc: TypeError, file: Path, line: int | None) -> str | None:
    """The message for `exc` when it is `Handler()` refusing an option, raised by the call at
    `line` of `file`: every unknown option there, with a suggestion each. Else None."""
    found = _UNEXPECTED.match(str(exc))
    named = _named_in_call(file, line) if found is not None and line is not None else None
    if found is None or named is None:
        return None
    options = _options()
    unknown = [name for name in named if name not in options] or [found.group(2)]
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
        if name in _THEIRS:
            parts.append(f'"{name}" (wsside calls it "{_THEIRS[name]}")')
        else:
            parts.append(f'"{name}"' + (f' (did you mean "{close[0]}"?)' if close else ""))
    if len(parts) == 1:
        listed = "option " + parts[0]
    else:
        listed = "options " + ", ".join(parts[:-1]) + " and " + parts[-1]
    return f'Handler() has no {listed}: see README "Handler API" for the options'
