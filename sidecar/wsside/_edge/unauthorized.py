"""Under Vite, the terminal line for an upgrade that `authenticate` refused (401), on either
way in (a handed-over socket, `handoff.py`; the pipe of a TLS dev server, `intake.py`). Access
lines show there only at debug: without it, a page whose token the handler refuses reconnects
again and again with nothing in the terminal. `wsside doctor`'s probe (its User-Agent) has no
line: doctor reports its own 401s, and a line would blame a page."""

from __future__ import annotations

from .._runtime.events import log
from .._runtime.repeats import REPEAT_WINDOW, Repeats

__all__ = ["DOCTOR_AGENT", "note_unauthorized"]

# The User-Agent of `wsside doctor`'s live probe (`doctor/probe.py`).
DOCTOR_AGENT = "wsside-doctor"


def note_unauthorized(path: str, user_agent: str | None) -> None:
    """Say (the first few; the rest counted) that `authenticate` refused an upgrade of `path`."""
    if user_agent == DOCTOR_AGENT:
        return
    _unauthorized.add(
        f"refused {path}: its authenticate refused the client (401 Unauthorized); a page's "
        "client tries again, with backoff",
        path,
    )


def _more_unauthorized(count: int, last: str) -> str:
    upgrades = "1 more upgrade" if count == 1 else f"{count} more upgrades"
    return (
        f"refused {upgrades} that authenticate refused in the last {REPEAT_WINDOW:g} s "
        f"(the last: {last})"
    )


# The first few are written, the rest counted: a refused page comes back every few seconds.
_unauthorized = Repeats(lambda line: log(line, "info"), _more_unauthorized, named=3)
