"""What the project's Vite config says, as far as wsside cares: HMR path, proxy rules, HTTPS,
host exposure, the plugin's options.

Vite configs are programs, so the reliable answer comes from Vite itself: a node subprocess
runs the project's own `resolveConfig` (bounded by a timeout). When that is impossible (no
node, no Vite installed, a config that throws), a text heuristic reads the literal values it
can find and says so in `source`; `refused` tells a config Vite itself cannot load (a parse
error, a package not installed, a throw: `vite` would not start either) from doctor failing to
ask (no node or Vite, a timeout).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._project.js_text import js_code
from .._project.vite_files import VITE_CONFIG_NAMES, find_vite_config
from .vite_errors import error_cause, stack_dump_cause

__all__ = [
    "FRAMEWORKS",
    "VITE_CONFIG_NAMES",
    "ViteFacts",
    "find_framework_config",
    "find_vite_config",
    "others_may_write",
    "project_folder",
    "read_vite_config",
]

# Frameworks that build Vite's config from a file of their own, Vite's options (wsside() among
# the plugins) under `vite: {...}`. SvelteKit and React Router keep a vite.config.
FRAMEWORKS = {"astro.config": "Astro", "nuxt.config": "Nuxt"}
_EXTENSIONS = ("mjs", "js", "ts", "mts", "cjs", "cts")
_DEFAULT_PORTS = {"Astro": 4321, "Nuxt": 3000}

_MARK = "@@wsside-doctor@@"

# Runs in the project's folder so that `import('vite')` is the project's own Vite. Only plain
# data is printed: an http.Server or a function in the config would not survive JSON.
_SCRIPT = r"""
const root = process.argv[1];
// Why the config could not be read: `vite` (doctor could not import the project's Vite) or
// `config` (Vite's own resolveConfig threw: `vite` would not start on this config either).
const refuse = (stage, e) => {
  const loadError = { stage, message: String(e?.message ?? e) };
  console.log('@@wsside-doctor@@' + JSON.stringify({ loadError }));
  process.exit(0);
};
const vite = await import('vite').catch((e) => refuse('vite', e));
const cfg = await vite.resolveConfig({ root, logLevel: 'silent' }, 'serve', 'development')
  .catch((e) => refuse('config', e));
const s = cfg.server ?? {};
const hmr = s.hmr;
const proxy = {};
for (const [key, rule] of Object.entries(s.proxy ?? {})) {
  proxy[key] = typeof rule === 'string' ? { ws: false, rewriteWsOrigin: false }
    : { ws: !!rule.ws, rewriteWsOrigin: !!rule.rewriteWsOrigin };
}
const plugin = cfg.plugins.find((p) => /wsside/.test(p.name ?? ''));
let options = null;
if (plugin?.api?.options) {
  try { options = JSON.parse(JSON.stringify(plugin.api.options)); } catch {}
}
console.log('@@wsside-doctor@@' + JSON.stringify({
  base: cfg.base,
  hasPlugin: !!plugin, wssideOptions: options,
  hmr: hmr === false ? false : typeof hmr === 'object' ? { path: hmr.path ?? null,
    port: hmr.port ?? null, server: !!hmr.server } : true,
  wsPath: s.ws && typeof s.ws === 'object' ? s.ws.path ?? null : null,
  proxy, https: !!s.https, host: s.host ?? null, port: s.port ?? null,
  allowedHosts: s.allowedHosts ?? null, middlewareMode: !!s.middlewareMode,
  skipTokenCheck: !!cfg.legacy?.skipWebSocketTokenCheck,
}));
process.exit(0);
"""


@dataclass
class ViteFacts:
    """`source` is `resolveConfig` (Vite said so), `text` (read from the file's literals) or
    `none` (no config file). `error` says why Vite could not be asked, when it could not;
    `refused`: Vite itself cannot load the config (so the dev server would not start), and
    `error` is Vite's reason, with its place (file:line:col) when Vite gives one."""

    source: str = "none"
    file: Path | None = None
    error: str | None = None
    refused: bool = False
    base: str = "/"
    wsside_options: dict[str, Any] | None = None  # None: the plugin is not in the config
    # Read as text, wsside() may get its prefix from code (a variable, a spread, an
    # expression): then the plugin's prefix is unknown, not absent.
    prefix_unknown: bool = False
    hmr_paths: list[str] = field(default_factory=list)  # HMR paths served on the dev server
    proxy: dict[str, dict[str, bool]] = field(default_factory=dict)
    https: bool = False
    host: Any = None
    port: int | None = None
    allowed_hosts: Any = None
    middleware_mode: bool = False
    hmr_server: bool = False  # server.hmr.server: the plugin serves that server's upgrades
    skip_token_check: bool = False
    # The framework whose config (astro.config.*, nuxt.config.*, its `vite: {...}`) was read.
    framework: str | None = None
    # wsside() is called in the framework's config, but not under `vite:`.
    outside_vite: bool = False
    # A vite.config.* beside the framework's config, which the framework never reads, and
    # whether it calls wsside() (the plugin put where Vite alone would find it).
    unread: Path | None = None
    unread_uses_plugin: bool = False


def find_framework_config(root: Path) -> tuple[str, Path] | None:
    """The framework and its config file in `root`: the config it runs on, vite.config or
    not (Astro and Nuxt never read one)."""
    for stem, framework in FRAMEWORKS.items():
        for ext in _EXTENSIONS:
            if (root / f"{stem}.{ext}").is_file():
                return framework, root / f"{stem}.{ext}"
    return None


def project_folder(start: Path) -> Path:
    """The nearest folder at or above `start` with a vite.config, or an Astro or Nuxt config
    (which holds Vite's options there), else `start`. The search stops below a folder that
    another user may write (`others_may_write`): the doctor runs the project's Python, Node
    and handler files, and a vite.config planted in a shared /tmp is not this user's project."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if folder != start and others_may_write(folder):
            break
        if find_vite_config(folder) or find_framework_config(folder):
            return folder
    return start


def others_may_write(folder: Path) -> bool:
    """Writable by everyone (as /tmp is), or owned by another user than this one and root:
    where `project_folder` stops looking upwards, and so does `project.serves_without_vite`."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: no owners and modes of this kind
        return False
    try:
        info = folder.stat()
    except OSError:
        return True
    return bool(info.st_mode & stat.S_IWOTH) or info.st_uid not in (getuid(), 0)


def read_vite_config(root: Path, node: str | None, timeout: float = 20.0) -> ViteFacts:
    """Ask Vite (through `node`) for the resolved config of the project in `root`; fall back to
    reading the config file's text. An Astro or Nuxt project is read from its own config,
    even with a vite.config beside it: the framework never reads that one."""
    found = find_framework_config(root)
    if found is not None:
        return _from_framework(*found, unread=find_vite_config(root))
    file = find_vite_config(root)
    if file is None:
        return ViteFacts()
    error, refused = "node was not found on PATH", False
    if node is not None:
        try:
            done = subprocess.run(
                [node, "--input-type=module", "-e", _SCRIPT, str(root)],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            line = next(
                (ln for ln in reversed(done.stdout.splitlines()) if ln.startswith(_MARK)), None
            )
            said = json.loads(line[len(_MARK) :]) if line is not None else None
            if said is not None and "loadError" not in said:
                return _from_vite(file, said)
            if said is not None:
                refused = said["loadError"]["stage"] == "config"
                error = error_cause(said["loadError"]["message"], file.name)
            else:
                error = stack_dump_cause(done.stderr, file.name)
            error = error or f"node exited with code {done.returncode}"
        except subprocess.TimeoutExpired:
            error = f"Vite did not resolve the config within {timeout:g} s"
    facts = _from_text(file, _code(file))
    facts.error, facts.refused = error, refused
    return facts


def _from_vite(file: Path, d: dict[str, Any]) -> ViteFacts:
    hmr = d["hmr"]
    paths: list[str] = []
    # An HMR server on its own port or http.Server never meets wsside's upgrades; `hmr` left
    # unset (or `true`) is Vite's default, at the base path, as the text reading says too.
    if isinstance(hmr, dict) and not hmr["server"] and hmr["port"] in (None, d["port"]):
        paths.append(hmr["path"] or "/")
    elif hmr is None or hmr is True:
        paths.append("/")
    if d.get("wsPath"):
        paths.append(d["wsPath"])
    options = d["wssideOptions"]
    prefix_unknown = False
    if d["hasPlugin"] and options is None:
        # The plugin does not publish its options: read the literal ones from the file.
        text = _from_text(file, _code(file))
        options, prefix_unknown = text.wsside_options or {}, text.prefix_unknown
    return ViteFacts(
        source="resolveConfig",
        file=file,
        base=d["base"] or "/",
        wsside_options=options if d["hasPlugin"] else None,
        prefix_unknown=prefix_unknown,
        hmr_paths=paths,
        proxy=d["proxy"],
        https=d["https"],
        host=d["host"],
        port=d["port"],
        allowed_hosts=d["allowedHosts"],
        middleware_mode=d["middlewareMode"],
        hmr_server=isinstance(hmr, dict) and bool(hmr["server"]),
        skip_token_check=d["skipTokenCheck"],
    )


def _from_framework(framework: str, file: Path, unread: Path | None) -> ViteFacts:
    """Read as text: Vite's options are in the config's `vite: {...}`; running the framework
    to resolve them would be running its dev server. The exposure is the framework's own
    setting (Astro's `server.host` and `.port`, Nuxt's `devServer.host` and `.port`)."""
    text = _code(file)
    vite = _block(text, "vite") or ""
    facts = _from_text(file, vite, imported="vite-plugin-wsside" in text)
    facts.framework, facts.unread = framework, unread
    if unread is not None:
        facts.unread_uses_plugin = _from_text(unread, _code(unread)).wsside_options is not None
    called = re.search(r"\bwsside\s*\(", text) is not None
    facts.outside_vite = facts.wsside_options is None and called
    own = _block(text.replace(vite, ""), "devServer" if framework == "Nuxt" else "server") or ""
    host = re.search(r"\bhost\s*:\s*(true|['\"][^'\"]*['\"])", own)
    if host is not None and facts.host is None:
        facts.host = True if host.group(1) == "true" else host.group(1)[1:-1]
    # Where doctor looks for the running dev server: the framework's port, not Vite's 5173.
    port = re.search(r"\bport\s*:\s*(\d+)", own)
    facts.port = int(port.group(1)) if port else _DEFAULT_PORTS[framework]
    if framework == "Nuxt":
        # nuxi dev runs Vite in middleware mode, with its HMR socket on nuxi's server.
        facts.middleware_mode = facts.hmr_server = True
    return facts


def _code(file: Path) -> str:
    """The config's text, comments blanked: not a commented-out `wsside({...})`."""
    return js_code(file.read_text(encoding="utf-8", errors="replace"), keep_literals=True)


def _block(text: str, key: str) -> str | None:
    """The `{...}` literal after `key:` (brace-matched), or None."""
    m = re.search(rf"\b{key}\s*:\s*\{{", text)
    if m is None:
        return None
    depth, start = 0, m.end() - 1
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1 : i]
    return None


def _string(text: str | None, key: str) -> str | None:
    m = re.search(rf"\b{key}\s*:\s*['\"`]([^'\"`]+)['\"`]", text or "")
    return m.group(1) if m else None


def _prefix(body: str) -> str | list[str] | None:
    """The literal `prefix:` of wsside()'s options: a string or a list of strings."""
    m = re.search(r"\bprefix\s*:\s*\[([^\]]*)\]", body)
    if m is None:
        return _string(body, "prefix")
    items = re.findall(r"'([^']*)'|\"([^\"]*)\"|`([^`$]*)`", m.group(1))
    leftover = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`$]*`|[\s,]", "", m.group(1))
    return None if leftover else ["".join(parts) for parts in items]


def _env(body: str) -> dict[str, str]:
    """The literal values of wsside()'s `env: {...}` (`{ PYTHONPATH: '../api' }`); a value
    from code (`process.env.X`) is left out."""
    block = _block(body, "env") or ""
    names = r"([A-Za-z_$][\w$]*)|'([^']*)'|\"([^\"]*)\""
    values = r"'([^'\\]*)'|\"([^\"\\]*)\"|`([^`$\\]*)`"
    found: dict[str, str] = {}
    for m in re.finditer(rf"(?:^|[{{,\s])(?:{names})\s*:\s*(?:{values})\s*(?=,|$)", block):
        name = next(g for g in m.groups()[:3] if g is not None)
        found[name] = next(g for g in m.groups()[3:] if g is not None)
    return found


def _from_text(file: Path, text: str, imported: bool | None = None) -> ViteFacts:
    """`imported`: whether the file imports the plugin, when `text` is only part of it."""
    facts = ViteFacts(source="text", file=file)
    imported = "vite-plugin-wsside" in text if imported is None else imported
    uses = imported and re.search(r"\bwsside\s*\(", text) is not None
    if uses:
        call = re.search(r"\bwsside\s*\(\s*(\{.*?\})?\s*\)", text, re.S)
        body = call.group(1) if call and call.group(1) else ""
        facts.wsside_options = {
            k: v for k in ("handlers", "config", "python") if (v := _string(body, k)) is not None
        }
        prefix = _prefix(body)
        if prefix is not None and "${" not in str(prefix):
            facts.wsside_options["prefix"] = prefix
        env = _env(body)
        if env:
            facts.wsside_options["env"] = env
        facts.prefix_unknown = (
            call is None
            or "..." in body
            or ("prefix" in body and "prefix" not in facts.wsside_options)
        )
    server = _block(text, "server") or ""
    hmr = _block(server, "hmr")
    if hmr is not None and not re.search(r"\b(port|server)\s*:", hmr):
        facts.hmr_paths.append(_string(hmr, "path") or "/")
    elif not re.search(r"\bhmr\s*:\s*false", server):
        facts.hmr_paths.append("/")
    ws_path = _string(_block(server, "ws"), "path")
    if ws_path:
        facts.hmr_paths.append(ws_path)
    proxy = _block(server, "proxy") or ""
    for m in re.finditer(r"['\"]([^'\"]+)['\"]\s*:\s*(\{[^{}]*\}|['\"][^'\"]*['\"])", proxy):
        rule = m.group(2)
        facts.proxy[m.group(1)] = {
            "ws": bool(re.search(r"\bws\s*:\s*true", rule)),
            "rewriteWsOrigin": "rewriteWsOrigin: true" in rule,
        }
    facts.https = re.search(r"\bhttps\s*:\s*(?!false\b|undefined\b)", server) is not None
    host = re.search(r"\bhost\s*:\s*(true|['\"][^'\"]*['\"])", server)
    facts.host = None if host is None else True if host.group(1) == "true" else host.group(1)[1:-1]
    port = re.search(r"\bport\s*:\s*(\d+)", re.sub(r"hmr\s*:\s*\{[^}]*\}", "", server))
    facts.port = int(port.group(1)) if port else None
    facts.allowed_hosts = True if re.search(r"\ballowedHosts\s*:\s*true", server) else None
    facts.skip_token_check = re.search(r"skipWebSocketTokenCheck\s*:\s*true", text) is not None
    facts.middleware_mode = re.search(r"\bmiddlewareMode\s*:\s*(true|\{)", server) is not None
    facts.hmr_server = re.search(r"\bserver\s*:", hmr or "") is not None
    return facts
