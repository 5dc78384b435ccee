"""How wsside meets Vite: prefix collisions (HMR path, `server.proxy`), the browser client's
prefix against the server's, the dev server's exposure (peers-and-vite.md §3.2 item 8),
middleware mode, and the forwarding path."""

from __future__ import annotations

import ipaddress
import json
import posixpath
import re
import sys
from collections.abc import Iterator
from typing import Any

from .dev_script import dev_script
from .model import Check, failed, passed, warned
from .project import Project
from .samples import sample_paths

__all__ = [
    "check_client_prefix",
    "check_exposure",
    "check_forwarding",
    "check_hmr_path",
    "check_middleware_mode",
    "check_proxy",
]


def _under(path: str, prefix: str) -> bool:
    """`path` is `prefix` or inside it, on a segment boundary."""
    path, prefix = path.rstrip("/") or "/", prefix.rstrip("/") or "/"
    return path == prefix or prefix == "/" or path.startswith(prefix + "/")


def _urls(project: Project, prefix: str) -> list[str]:
    """Upgrade paths wsside serves under `prefix`: the prefix itself and handler samples."""
    urls = [prefix + "/"]
    for result in project.loaded:
        for h in result.handlers:
            urls.extend(prefix + p for p in sample_paths(h.pattern)[:2])
    return urls


def _unread(name: str) -> Check:
    return passed(name, "no vite.config to read (see the vite.config check)")


def check_hmr_path(project: Project) -> Iterator[Check]:
    facts = project.vite
    if facts.source == "none":
        yield _unread("hmr path")
        return
    prefixes = project.settings.prefixes
    if "" in prefixes:
        yield warned(
            "hmr path",
            "prefix is empty: every WebSocket upgrade except Vite's own "
            "goes to wsside, including server.proxy ones",
            'set prefix = "/api" (or another path) in wsside.toml',
        )
        return
    for hmr in facts.hmr_paths:
        full = posixpath.join(facts.base or "/", hmr.lstrip("/"))
        if full.rstrip("/") == (facts.base or "/").rstrip("/"):
            continue  # Vite's default: the root, told apart by the `vite-hmr` subprotocol
        for prefix in prefixes:
            if _under(full, prefix) or _under(prefix, full):
                yield failed(
                    "hmr path",
                    f"Vite's HMR socket path {full!r} collides with the wsside prefix {prefix!r}",
                    f"move server.hmr.path out of {prefix!r} in vite.config, or "
                    "choose another prefix",
                )
                return
    yield passed(
        "hmr path",
        f"HMR path(s) {', '.join(facts.hmr_paths) or 'none'} stay clear of {', '.join(prefixes)}",
    )


# The browser client's prefix when the plugin's `prefix` option does not set one (the
# `__WSSIDE_PREFIX__` define is the option's first prefix, else this; see client/index.js).
CLIENT_DEFAULT_PREFIX = "/api"


def _js(prefixes: tuple[str, ...]) -> str:
    """`prefixes` as the plugin's `prefix` option is written: '/a', or ['/a', '/b']."""
    quoted = [f"'{p}'" for p in prefixes]
    return quoted[0] if len(quoted) == 1 else f"[{', '.join(quoted)}]"


def check_client_prefix(project: Project) -> Check:
    """The browser client (vite-plugin-wsside/client) learns its prefix from the plugin's
    option only; the server also follows the config file's. A prefix set only in the config
    file moves the server away from the client's, and no one answers connect()'s upgrade: the
    plugin leaves upgrades outside its prefix to Vite, which does not answer them either, so
    the socket stays connecting."""
    name = "client prefix"
    facts = project.vite
    if facts.source == "none":
        return _unread(name)
    if facts.wsside_options is None:
        return passed(name, "vite.config does not use wsside() (see the vite.config check)")
    if facts.prefix_unknown:
        return passed(
            name, "wsside()'s prefix option is not a literal in vite.config; not compared"
        )
    option = project.plugin_prefixes
    first = option[0] if option else CLIENT_DEFAULT_PREFIX
    client = json.dumps(first)
    state = project.config
    configured: tuple[str, ...] | None = state.values.get("prefixes")
    if state.file is None or not configured:
        return passed(name, f"the config file sets no prefix; client and server use {client}")
    where = project.relative(state.file)
    where += " [tool.wsside]" if state.file.name == "pyproject.toml" else ""
    shown = json.dumps(configured[0] if len(configured) == 1 else list(configured))
    if option:
        # The plugin passes its prefix to the sidecar (--prefix), over the config file's.
        over = "" if option == configured else f", over {where}'s {shown} (`wsside serve` keeps it)"
        return passed(name, f"wsside()'s prefix {_js(option)} sets client and server{over}")
    if first in configured:
        return passed(name, f"{where} sets prefix {shown}; the client's {client} is served")
    return warned(
        name,
        f"{where} sets prefix {shown}, but the browser client uses {client} "
        "(wsside() in vite.config sets no prefix): outside the server's prefix, no one "
        "answers its upgrades under Vite, and its sockets stay connecting",
        f"set prefix: {_js(configured)} in wsside() in vite.config (the server follows it "
        "too), or pass url to connect()",
    )


def _proxy_matches(key: str, url: str) -> bool:
    # Vite's own rule (doesProxyContextMatchUrl): `^...` is a regex, anything else a
    # plain string prefix, not segment-bound.
    if key.startswith("^"):
        try:
            return re.search(key, url) is not None
        except re.error:
            return False
    return url.startswith(key)


def check_proxy(project: Project) -> Iterator[Check]:
    """The plugin leaves to Vite's proxy the upgrades a `ws: true` rule matches, even under
    the prefix: a rule that takes an endpoint (or the whole prefix) hides it from wsside; a
    narrower one (`/api/legacy`) is a working setup, said as such."""
    if project.vite.source == "none":
        yield _unread("proxy")
        return
    clean = True
    for key, rule in project.vite.proxy.items():
        if not rule.get("ws"):
            continue  # Vite only proxies upgrades for `ws: true` rules
        for prefix in project.settings.prefixes:
            whole, *endpoints = _urls(project, prefix)
            taken = next((u for u in endpoints if _proxy_matches(key, u)), None)
            if _proxy_matches(key, whole):
                taken = taken or whole
            # A string key inside the prefix is a rule of its own there, even with no handler.
            if taken is None and (key.startswith("^") or not _under(key, prefix)):
                continue
            clean = False
            if taken is None:
                yield passed(
                    "proxy",
                    f"server.proxy[{key!r}] (ws: true) forwards the upgrades it matches under "
                    f"{prefix!r} (no handler is there); wsside serves the rest",
                )
                continue
            origin = (
                ", rewriteWsOrigin: true, which bypasses the Origin check"
                if rule.get("rewriteWsOrigin")
                else ""
            )
            yield failed(
                "proxy",
                f"server.proxy[{key!r}] (ws: true{origin}) also claims {taken!r} under the "
                f"wsside prefix {prefix!r}: Vite's proxy forwards those upgrades, and the plugin "
                "leaves them to it",
                f"narrow server.proxy[{key!r}] or move wsside's prefix elsewhere",
            )
    if clean:
        count = sum(1 for r in project.vite.proxy.values() if r.get("ws"))
        yield passed(
            "proxy",
            f"{count} WebSocket proxy rule(s), none under {', '.join(project.settings.prefixes)}",
        )


def _exposed(host: Any) -> bool:
    if host is True:
        return True
    if not isinstance(host, str) or host in ("", "localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name other than localhost: reachable from elsewhere


def _host_key(framework: str | None) -> str:
    """Where the dev server's host is set: Nuxt's own key, else `server.host` (Vite's, and
    Astro's)."""
    return "devServer.host" if framework == "Nuxt" else "server.host"


def check_exposure(project: Project) -> Iterator[Check]:
    facts = project.vite
    if facts.source == "none":
        yield _unread("exposure")
        return
    clean = True
    if facts.allowed_hosts is True:
        clean = False
        yield warned(
            "exposure",
            "server.allowedHosts is true: any website can reach the dev "
            "server through DNS rebinding (GHSA-vg6x-rcgg-rjx6)",
            "list the host names you need in server.allowedHosts instead of true",
        )
    if _exposed(facts.host):
        clean = False
        yield warned(
            "exposure",
            f"{_host_key(facts.framework)} is {json.dumps(facts.host)}: the dev server "
            "and wsside's handlers are reachable from other machines; clients without "
            "Origin are refused",
            f"use {_host_key(facts.framework)} 'localhost' unless you need it",
        )
    running = project.dev_server
    if not _exposed(facts.host) and running and running.address and _exposed(running.address):
        # `vite --host` (or `npm run dev -- --host`) overrides the config for that run.
        clean = False
        yield warned(
            "exposure",
            f"the dev server running now ({running.url}) listens on {running.address}, not on "
            f"loopback as {_host_key(facts.framework)} in the config has it (`--host` on its "
            "command line?): it and wsside's handlers are reachable from other machines; "
            "clients without Origin are refused",
            "start it without --host unless you need it",
        )
    if facts.skip_token_check:
        clean = False
        yield warned(
            "exposure",
            "legacy.skipWebSocketTokenCheck is on (CVE-2025-24010 again)",
            "remove legacy.skipWebSocketTokenCheck from vite.config",
        )
    if clean and facts.framework == "Nuxt" and facts.host is None:
        # nuxi dev's default depends on where it runs (detectIsolatedEnvironment in @nuxt/cli).
        yield passed(
            "exposure",
            "devServer.host is not set: nuxi dev listens on localhost, or on every interface "
            "inside a container or WSL (its `Network:` line says which; wsside then refuses "
            "clients without Origin); allowedHosts and token check intact",
        )
    elif clean:
        yield passed("exposure", "dev server on loopback, allowedHosts and token check intact")


_ATTACH = (
    "call attachWsside(yourHttpServer, options) from 'vite-plugin-wsside' on your own http.Server"
)


def check_middleware_mode(project: Project) -> Check:
    """Vite in middleware mode has no http.Server of its own to hook upgrades on: set in
    vite.config, or by a server of the project's own that the dev script runs and that creates
    Vite itself (`createServer({ server: { middlewareMode: true } })`, read as text)."""
    name = "middleware mode"
    facts = project.vite
    if facts.framework == "Nuxt":
        return passed(
            name,
            "Nuxt runs Vite in middleware mode, its HMR socket on the server of nuxi dev: "
            "the plugin serves that server's upgrades",
        )
    if facts.middleware_mode and facts.hmr_server:
        return passed(name, "on, with server.hmr.server: the plugin serves that server's upgrades")
    if facts.middleware_mode:
        return warned(
            name,
            "server.middlewareMode is on: the plugin cannot see WebSocket upgrades by itself",
            _ATTACH,
        )
    script = dev_script(project.root)
    server = script.server
    if server is not None and server.middleware_mode:
        where = f"{server.shown}, which the dev script runs, creates Vite in middleware mode"
        if server.attaches:
            return passed(name, f"{where} and calls attachWsside() on its server")
        if server.hmr_server:
            return passed(
                name, f"{where}, with hmr.server: the plugin serves that server's upgrades"
            )
        return warned(name, f"{where}: the plugin cannot see WebSocket upgrades by itself", _ATTACH)
    config = project.relative(facts.file) if facts.file is not None else "vite.config"
    if server is not None:
        return passed(name, f"off: set neither in {config} nor in {server.shown}, the dev script's")
    if script.command is not None:
        return passed(
            name,
            f"off: not set in {config}, and the dev script ({script.command}) runs no server file",
        )
    if not (project.root / "package.json").is_file():
        return passed(
            name,
            f"not set in {config}; there is no package.json here, so no dev script was read "
            "for a server of your own that creates Vite in middleware mode",
        )
    return passed(
        name,
        f"not set in {config}; package.json has no dev script, so a server of your own that "
        "creates Vite in middleware mode would not be seen",
    )


def check_forwarding(project: Project) -> Check:
    if sys.platform == "win32":
        return passed("forwarding", "pipe over a named pipe (Windows cannot hand sockets over)")
    if project.vite.https:
        return passed("forwarding", "pipe over a Unix socket (server.https: TLS stays in Node)")
    return passed("forwarding", "hand-over: the sidecar owns each socket after the handshake")
