"""Node side: node, the project's Vite (supported, free of known WebSocket advisories), the shim
package and whether vite.config uses it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from .._edge.control import PROTOCOL_VERSION
from .._install import pip_install
from .checks_framework import SHIM, framework_uses_plugin
from .model import Check, failed, passed, warned
from .project import Project
from .semver import is_prerelease, parse, release_line, satisfies
from .sidecar_imports import same_python
from .vite_package import FRAMEWORK_PACKAGES, RunningVite, plug_n_play

__all__ = ["check_node", "check_shim", "check_vite", "check_vite_config_uses_plugin"]

# Fixed versions per release line (peers-and-vite.md §3.1): below the fix in its line, or on a
# line that never got it, the dev server is exposed.
_ADVISORIES = (
    (
        "CVE-2025-24010 (any website can talk to the dev server's WebSocket)",
        {4: (4, 5, 6), 5: (5, 4, 12), 6: (6, 0, 9)},
        (6, 0, 9),
    ),
    (
        "CVE-2026-39363 (file read through a WebSocket without Origin)",
        {6: (6, 4, 2), 7: (7, 3, 2), 8: (8, 0, 5)},
        (8, 0, 5),
    ),
)


def check_node(project: Project) -> Check:
    """node is found, and its version meets the `engines` of the installed shim (what the
    plugin itself needs) and of the Vite that runs (`Project.running_vite`)."""
    if project.node is None:
        return failed(
            "node",
            "node was not found on PATH",
            "install Node.js 20.19+ (vite-plugin-wsside needs it) and make sure `node` is on PATH",
        )
    done = subprocess.run(
        [project.node, "--version"], capture_output=True, text=True, timeout=project.timeout
    )
    version = done.stdout.strip().lstrip("v")
    shim, vite = project.package_json(SHIM), project.running_vite
    for label, package in (
        (f"{SHIM} {(shim or {}).get('version')}", shim),
        (vite.label, vite.package),
    ):
        engines = ((package or {}).get("engines") or {}).get("node")
        if engines and satisfies(version, engines) is False:
            return failed(
                "node",
                f"node {version}; {label} needs {engines}",
                f"install a Node.js version matching {engines}",
            )
    return passed("node", f"node {version} ({project.node})")


def check_vite(project: Project) -> Check:
    """The Vite that runs the dev server (under Astro or Nuxt, the framework's own) is one
    the shim supports, free of the known WebSocket advisories."""
    running = project.running_vite
    vite = running.package
    if vite is None:
        if (unread := _plug_n_play("vite", project)) is not None:
            return unread
        return failed(
            "vite", "Vite is not installed in this project's node_modules", "npm install -D vite"
        )
    version = vite["version"]
    have = parse(version)
    shim = project.package_json(SHIM)
    peer = (shim or {}).get("peerDependencies", {}).get("vite")
    if peer and satisfies(version, peer) is False:
        return failed(
            "vite",
            f"{running.label}; vite-plugin-wsside supports {peer}",
            _newer_vite(running, _same_major(peer, have), quote=True),
        )
    exposed = [
        (name, fixes)
        for name, fixes, newest in _ADVISORIES
        if have is not None and have < fixes.get(have[0], newest)
    ]
    if exposed:
        assert have is not None
        # Stay on the major line when it got every fix; otherwise only a newer line helps.
        fixed_here = all(have[0] in fixes for _, fixes in exposed)
        return warned(
            "vite",
            f"{running.label} is affected by " + "; ".join(name for name, _ in exposed),
            _newer_vite(running, f"^{have[0]}" if fixed_here else "latest"),
        )
    other = running.top_level
    if other is not None:
        return passed(
            "vite",
            f"{running.label}; not node_modules/vite {other.get('version', '?')}, which "
            f"{running.framework} does not use",
        )
    return passed("vite", running.label)


def _same_major(peer: str, have: tuple[int, int, int] | None) -> str:
    """The alternatives of the peer range `peer` on the major line of `have` (`^5.4.12` of
    `^5.4.12 || ^6.0.9` for a Vite 5): npm, given the whole range, would install the newest
    major. The whole range when none is (or the version cannot be read)."""
    alternatives = [a.strip() for a in peer.split("||")]
    if have is not None:
        ours = [a for a in alternatives if re.match(rf"[\^~>=v\s]*{have[0]}(?!\d)", a)]
        if ours:
            return " || ".join(ours)
    return peer


def _newer_vite(running: RunningVite, wanted: str, quote: bool = False) -> str:
    """How to get a Vite in the range `wanted` (`^6`): install it; under a framework, which
    brings its own Vite, a newer framework or an npm override of the framework's Vite."""
    if running.framework is None:
        return f"npm install -D {repr(f'vite@{wanted}') if quote else f'vite@{wanted}'}"
    package = FRAMEWORK_PACKAGES[running.framework]
    return (
        f"npm install {package}@latest (its Vite comes with it), or set "
        f'"overrides": {{"vite": "{wanted}"}} in package.json'
    )


def _shim_protocol(package_file: Path) -> int | None:
    """The control-protocol version the installed shim speaks (from its lib/protocol.js)."""
    source = package_file.parent / "lib" / "protocol.js"
    if not source.is_file():
        return None
    m = re.search(r"PROTOCOL_VERSION\s*=\s*(\d+)", source.read_text(encoding="utf-8"))
    return int(m.group(1)) if m else None


# Run by the interpreter Vite will run the sidecar with: its wsside's version and protocol.
_WSSIDE_PROBE = (
    "import wsside; print(wsside.__version__)\n"
    "from wsside._edge.control import PROTOCOL_VERSION; print(PROTOCOL_VERSION)"
)


@dataclass(frozen=True)
class _Wsside:
    """The wsside the shim is compared with: its version, its protocol, and in words whose
    it is (empty: this doctor's, which is the sidecar's interpreter's too); `pip` installs
    a release line of it into `python`, the interpreter Vite's sidecar will run."""

    version: str
    protocol: int | None
    whose: str
    python: str

    def pip(self, plugin: str) -> str:
        """Installs the wsside of the plugin's release line (`wsside==0.1.*`, which pip reads
        as any 0.1 release, a pre-release only when the line has nothing else)."""
        line = release_line(plugin)
        wanted = f"wsside=={line[0]}.{line[1]}.*" if line else f"wsside=={plugin}"
        return pip_install(self.python, shlex.quote(wanted))


def _npm_install(wsside: str) -> str:
    """Installs the plugin of wsside's release line (`~0.1.0`, as npm reads a range; `~0.2.0-0`
    for a pre-release, whose line may have only pre-releases yet, which npm otherwise skips)."""
    line = release_line(wsside)
    wanted = (
        f"{SHIM}@~{line[0]}.{line[1]}.0{'-0' if is_prerelease(wsside) else ''}"
        if line
        else f"{SHIM}@{wsside}"
    )
    return f"npm install -D {shlex.quote(wanted)}"


def _sidecar_wsside(project: Project) -> _Wsside:
    """The wsside of the interpreter Vite will run the sidecar with (as the interpreter check
    finds it); this doctor's own when that is the same Python, or when it cannot be asked
    (the interpreter check says why)."""
    python = project.sidecar_python[0]
    if same_python(python, sys.executable):
        return _Wsside(__version__, PROTOCOL_VERSION, "", sys.executable)
    try:
        done = subprocess.run(
            [python, "-c", _WSSIDE_PROBE],
            capture_output=True,
            text=True,
            timeout=project.timeout,
            cwd=project.root,
            env={**project.env, **project.plugin_env},
        )
    except (OSError, subprocess.TimeoutExpired):
        done = None
    lines = done.stdout.split() if done is not None and done.returncode == 0 else []
    if len(lines) != 2 or not lines[1].isdigit():
        return _Wsside(
            __version__,
            PROTOCOL_VERSION,
            f"of this doctor: {python}, which Vite's sidecar will run, could not be asked "
            "(see the interpreter check)",
            python,
        )
    return _Wsside(lines[0], int(lines[1]), f"of {python}, which Vite's sidecar will run", python)


def _plug_n_play(name: str, project: Project) -> Check | None:
    """The row of a package under Yarn's Plug'n'Play: in Yarn's cache, no failure, unread."""
    pnp = plug_n_play(project.root)
    if pnp is None:
        return None
    return warned(
        name,
        f"Yarn Plug'n'Play ({project.relative(pnp)}): packages are in Yarn's cache, not in "
        "node_modules, which doctor reads: not checked",
        "nodeLinker: node-modules in .yarnrc.yml, then yarn install, lets doctor check them",
    )


def check_shim(project: Project) -> Check:
    """The shim and the wsside of the interpreter Vite will run the sidecar with speak the
    same control protocol, and are of one release line."""
    shim = project.package_json(SHIM)
    if shim is None:
        if (unread := _plug_n_play("shim", project)) is not None:
            return unread
        return failed("shim", f"{SHIM} is not installed in node_modules", f"npm install -D {SHIM}")
    version = shim.get("version", "?")
    protocol = _shim_protocol(Path(shim["__file__"]))
    python = _sidecar_wsside(project)
    # As the plugin compares them (releaseLineSkew): a version without a line is no skew.
    lines = release_line(version), release_line(python.version)
    same_line = None in lines or lines[0] == lines[1]
    whose = f" {python.whose}" if python.whose else ""
    pair = (
        f"{SHIM} {version} (control protocol {protocol}), wsside {python.version} "
        f"(control protocol {python.protocol}){whose}"
    )
    mismatch = protocol != python.protocol if protocol is not None else not same_line
    if mismatch:
        return failed(
            "shim",
            f"mismatched versions: {pair}",
            f"install matching versions: {_npm_install(python.version)}, or {python.pip(version)}",
        )
    if not same_line:
        return warned(
            "shim",
            f"different release lines: {pair}",
            f"{_npm_install(python.version)}, or {python.pip(version)}",
        )
    return passed("shim", pair)


def check_vite_config_uses_plugin(project: Project) -> Check:
    facts = project.vite
    if facts.file is None:
        return _no_vite_config(project)
    shown = project.relative(facts.file)
    if facts.framework is not None:
        return framework_uses_plugin(shown, facts)
    if facts.refused:
        return failed(
            "vite.config",
            f"Vite cannot load {shown}, so the dev server would not start: {facts.error}",
            _refused_fix(shown, facts.error or "")
            + ("" if facts.wsside_options is not None else "; then add wsside() to its plugins"),
        )
    how = (
        "resolved by Vite"
        if facts.source == "resolveConfig"
        else f"read as text; Vite could not be asked: {facts.error}"
    )
    if facts.wsside_options is None:
        return failed(
            "vite.config",
            f"{shown} does not use the wsside plugin ({how})",
            f"in {shown}: import wsside from '{SHIM}' and add wsside() to plugins",
        )
    if facts.source != "resolveConfig":
        # Doctor could not ask Vite (see the node and vite checks); Vite itself may start.
        return warned(
            "vite.config",
            f"{shown} uses wsside() (read as text; Vite could not be asked: {facts.error})",
            "see the node and vite checks above (or give --timeout more seconds); "
            "`npx vite` shows whether Vite loads the config",
        )
    return passed("vite.config", f"{shown} uses wsside() ({how})")


def _refused_fix(shown: str, error: str) -> str:
    missing = re.match(r"Cannot find (?:package|module) '([^']+)'", error)
    if missing is not None and not missing.group(1).startswith((".", "/")):
        return f"npm install -D {missing.group(1)} (or take its import out of {shown})"
    return f"fix {shown} where Vite says (`npx vite` prints the same error)"


def _no_vite_config(project: Project) -> Check:
    """A folder without a Vite config: a project yet to get one, or a monorepo's root run
    where its Vite app is below (`packages/web/`), which is then named."""
    missing = f"no vite.config.*, astro.config.* or nuxt.config.* in {project.root}"
    below = project.projects_below
    if not below:
        return failed(
            "vite.config",
            missing,
            "run wsside doctor in the folder of that file, or `wsside init` there "
            "(for a project without one); for a `wsside serve` deploy, wsside doctor --serve",
        )
    shown = ", ".join(below[:3]) + (f" and {len(below) - 3} more" if len(below) > 3 else "")
    return failed(
        "vite.config",
        f"{missing}; the Vite project{'s' if len(below) > 1 else ''} below it: {shown} (the "
        "checks that need the project, from handlers to the dev server, were skipped)",
        f"run `wsside doctor --root {shlex.quote(below[0])}` (or run it in that folder); "
        "`wsside init` too goes there, not here",
    )
