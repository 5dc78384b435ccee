"""With a running dev server: a real WebSocket handshake through Vite to each handler."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Check, failed, passed, warned
from .probe import handshake
from .project import Project

__all__ = ["check_dev_server", "check_live_handshakes"]

# What each refusal means here, and what to do (the shim and sidecar log the details).
_FIXES = {
    401: "expected if the handler uses authenticate; otherwise check its authenticate option",
    403: "the shim refused Host or Origin (see the reason); adjust server.allowedHosts or "
    "wsside's allowedOrigins",
    404: "the sidecar has no handler for this path: is the dev server running this project "
    "with these handler files?",
    503: "the sidecar is not ready: read the Vite terminal for its error",
}


def check_dev_server(project: Project) -> Check:
    server = project.dev_server
    if server is not None:
        return passed("dev server", f"{server.url} ({server.how})")
    if project.url:
        return failed(
            "dev server",
            f"no Vite dev server answers at {project.url}",
            "start it (`npm run dev`, or `npx vite`), or fix the --url",
        )
    return warned(
        "dev server",
        "no running Vite dev server found for this project, so the live handshake was skipped",
        "start the dev server in this project (`npm run dev`, or `npx vite`) and run "
        "`wsside doctor` again (or pass --url http://localhost:PORT)",
    )


def check_live_handshakes(project: Project) -> Iterator[Check]:
    server = project.dev_server
    if server is None:
        return
    prefix = project.settings.url_prefix
    for result in project.loaded:
        for h in result.handlers:
            path = prefix + h.pattern.source
            name = f"live {path}"
            if h.disabled or h.pattern.has_variables:
                why = "disabled" if h.disabled else "has path variables or wildcards"
                yield passed(name, f"not probed ({why})")
                continue
            shake = handshake(server.url, path, project.timeout)
            if shake.status == 101:
                ping = f", ping {shake.ping_ms:.1f} ms" if shake.ping_ms is not None else ""
                how = shake.headers.get("x-wsside-forwarding")
                via = f", via {how}" if how else ""
                yield passed(name, f"101 in {shake.ms:.1f} ms{ping}{via}")
            elif shake.status == 401 and h.authenticate:
                yield passed(
                    name,
                    f"401 in {shake.ms:.1f} ms (authenticate refused an "
                    "anonymous client, as declared)",
                )
            else:
                code = f"{shake.status} " if shake.status else ""
                yield failed(
                    name,
                    f"{code}{shake.reason}".strip(),
                    _FIXES.get(
                        shake.status or 0,
                        "read the Vite terminal; `wsside doctor` lists the other problems above",
                    ),
                )
