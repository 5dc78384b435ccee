"""With a running dev server: a real WebSocket handshake through Vite to each handler.

A probe is a real connection: the handler's on_connect and on_close run for it (its
User-Agent is `wsside-doctor`, so a handler can tell it apart), and `--no-live` skips it.
A pattern with variables or wildcards is probed at a sample path it matches (`doctor` for
`{id}`; see `samples.probe_path`), which its row names; one no sample fits is not probed.
Probes run one after another, so one that gets no answer must not make the others wait too:
when the first gets none, or vite.config does not use the plugin (no upgrade would be
answered), the rest are listed as not probed; once one has answered, each later probe waits
at most `_AFTER_FIRST` seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ..closecodes import PRIVATE_CODES
from ..handler import Handler
from ..pattern import Pattern
from .model import Check, failed, passed, warned
from .probe import Handshake, handshake
from .project import Project
from .samples import probe_path

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
# An upgrade Vite leaves unanswered: without the plugin, no one answers it.
_NO_ANSWER = (
    "Vite did not answer the upgrade: is wsside() in {where}? (if it is, read the Vite "
    "terminal: an authenticate that never returns does this too)"
)
NO_ANSWER_FIX: str = _NO_ANSWER.format(where="vite.config's plugins")
_OTHER_FIX = "read the Vite terminal; `wsside doctor` lists the other problems above"
# An upgrade closed without a byte of answer. The shim and the sidecar always answer (a 101, or
# a 403, 404 or 503 with a line in the terminal saying why), so when the terminal says nothing
# of it, something else on the way closed it.
CLOSED_FIX = (
    "read the Vite terminal; when it says nothing of this path, something else closed the "
    "connection: another upgrade listener on the server (Vite in middleware mode: your "
    "server's own, where attachWsside(yourHttpServer) is not called on the server the page "
    "talks to) or a proxy in front of it"
)
# What the probe sends: no cookie, no token, nothing in its query.
_PROBE_IS = "the probe sends no cookie or token; its User-Agent is wsside-doctor"
# Seconds a probe may wait once another has answered: a working sidecar answers in
# milliseconds, so a longer wait only delays the table.
_AFTER_FIRST = 3.0

# What the `live probes` row says a probe does, and what --no-live says instead.
PROBE_SAYS = (
    "each endpoint below gets a real WebSocket connection through {url}, so its on_connect "
    "and on_close run (User-Agent: wsside-doctor, for a handler to skip); --no-live skips this"
)
SKIPPED_SAYS = "skipped (--no-live): no connection was opened to any endpoint"


def check_dev_server(project: Project) -> Check:
    server = project.dev_server
    if server is not None:
        return passed("dev server", f"{server.url} ({server.how})")
    start = _start_command(project)
    if project.url:
        return failed(
            "dev server",
            f"no Vite dev server answers at {project.url} (a production or preview server, "
            "such as astro preview, loads no Vite plugin, and serves no handlers)",
            f"start it (`npm run dev`, or `{start}`), or fix the --url",
        )
    if not project.live:
        # Shown like the other skipped checks: a pass saying what was not done, and why.
        return passed(
            "dev server",
            "no running Vite dev server found for this project; the live probes were skipped "
            "as asked (--no-live)",
        )
    return warned(
        "dev server",
        "no running Vite dev server found for this project, so the live handshake was skipped",
        f"start the dev server in this project (`npm run dev`, or `{start}`) and run "
        "`wsside doctor` again (or pass --url http://localhost:PORT)",
    )


# The command that starts a framework's dev server, where it is not `vite`.
_DEV_COMMANDS = {"Astro": "npx astro dev", "Nuxt": "npx nuxi dev"}


def _start_command(project: Project) -> str:
    """`npx vite`, or the framework's own (`npx astro dev`) when its config holds Vite's."""
    return _DEV_COMMANDS.get(project.vite.framework or "", "npx vite")


def _plugin_missing(project: Project) -> str | None:
    """Why no upgrade would be answered, when vite.config says so (its own check fails)."""
    facts = project.vite
    if facts.file is not None and facts.wsside_options is None:
        return f"{project.relative(facts.file)} does not use wsside() (see the vite.config check)"
    return None


def _no_answer_fix(project: Project) -> str:
    """Where wsside() belongs: Astro's and Nuxt's own config, under `vite`, when it is one."""
    facts = project.vite
    if facts.framework is None or facts.file is None:
        return NO_ANSWER_FIX
    return _NO_ANSWER.format(where=f"{project.relative(facts.file)}'s vite.plugins")


def _not_probed(paths: list[str], why: str) -> Check:
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return warned(
        "live not probed",
        f"{len(paths)} endpoint(s) not probed ({shown}): {why}",
        "fix that, then run `wsside doctor` again",
    )


def check_live_handshakes(project: Project) -> Iterator[Check]:
    server = project.dev_server
    if server is None:
        return
    if not project.live:
        yield passed("live probes", SKIPPED_SAYS)
        return
    prefix = project.settings.url_prefix
    # (the path shown, the path probed, the handler)
    endpoints: list[tuple[str, str, Handler]] = []
    routed: list[Pattern] = []  # the enabled patterns so far: the sidecar tries them first
    for result in project.loaded:
        for h in result.handlers:
            path = prefix + h.pattern.source
            if h.disabled:
                yield passed(f"live {path}", "not probed (disabled)")
                continue
            target: str | None = path
            if h.pattern.has_variables:
                sample, why = probe_path(h.pattern, routed)
                if sample is None:
                    yield passed(f"live {path}", f"not probed ({why})")
                target = None if sample is None else prefix + sample
            routed.append(h.pattern)
            if target is not None:
                endpoints.append((path, target, h))
    if not endpoints:
        return
    missing = _plugin_missing(project)
    if missing is not None:
        yield _not_probed([p for p, _, _ in endpoints], f"{missing}, so Vite answers no upgrade")
        return
    yield passed("live probes", PROBE_SAYS.format(url=server.url))
    bound, no_answer = project.timeout, _no_answer_fix(project)
    for i, (path, target, h) in enumerate(endpoints):
        shake = handshake(server.url, target, bound)
        row = _row(f"live {path}", shake, h, no_answer)
        yield row if target == path else replace(row, message=f"{row.message} (probed as {target})")
        if shake.status is None and i == 0:
            rest = [p for p, _, _ in endpoints[1:]]
            if rest:
                yield _not_probed(
                    rest,
                    f"the first probe got no answer in {bound:g} s, and each would wait as long",
                )
            return
        bound = min(project.timeout, _AFTER_FIRST)


def _row(name: str, shake: Handshake, h: Handler, no_answer: str) -> Check:
    """`no_answer`: the fix for an upgrade nobody answered."""
    if shake.status == 101 and shake.closed is not None:
        code, reason = shake.closed
        said = f'{code} "{reason}"' if reason else str(code)
        if code in PRIVATE_CODES:
            # An app's own refusal (README: close from on_connect with 4000-4999), as an
            # anonymous client gets it: the endpoint works.
            return passed(
                name,
                f"101 in {shake.ms:.1f} ms, then the app refused the probe with {said}, "
                f"a code of its own ({_PROBE_IS})",
            )
        why = ": its on_connect raised, most likely" if code == 1011 else ""
        return warned(
            name,
            f"101 in {shake.ms:.1f} ms, then the server closed it at once with {said}{why}",
            "see the error in Vite's terminal (or the overlay) for where",
        )
    if shake.status == 101:
        ping = f", ping {shake.ping_ms:.1f} ms" if shake.ping_ms is not None else ""
        how = shake.headers.get("x-wsside-forwarding")
        via = f", via {how}" if how else ""
        return passed(name, f"101 in {shake.ms:.1f} ms{ping}{via}")
    if shake.status == 401 and h.authenticate:
        return passed(
            name,
            f"401 in {shake.ms:.1f} ms (authenticate refused an anonymous client, as declared)",
        )
    if shake.status is None:
        if shake.reason.startswith("no answer"):
            fix = no_answer
        elif shake.reason == "not an HTTP answer: ''":  # closed before a byte came back
            fix = CLOSED_FIX
        else:
            fix = _OTHER_FIX
        return failed(name, shake.reason, fix)
    return failed(
        name, f"{shake.status} {shake.reason}".strip(), _FIXES.get(shake.status, _OTHER_FIX)
    )
