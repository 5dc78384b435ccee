"""Sidecar processes of this project, and the safe repair `--fix` offers: ending orphans.

A shim-mode sidecar (`wsside serve --ipc`) belongs to a Vite (node) process. One whose parent is
gone (re-parented to init or a subreaper) serves nobody and may hold files or ports: that is
stale. Only processes working in this project are reported as stale or ever killed; others
are mentioned, never touched.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from .._runtime.backplane_url import safe_url
from .model import Check, failed, passed, warned
from .project import Project

__all__ = [
    "SidecarProcess",
    "check_sidecar_processes",
    "end_stale",
    "find_sidecars",
    "fix_folder",
    "running_sidecars",
    "stale",
]

_NODE_NAMES = ("node", "nodejs", "bun", "deno")


@dataclass(frozen=True)
class SidecarProcess:
    """A running shim-mode sidecar: `parent` is its Vite process's pid, None when orphaned."""

    pid: int
    cwd: str | None
    parent: int | None
    # The interpreter as the shim spawned it (its command line's first word: exe() would
    # resolve a venv's symlink to the base Python); None when unknown.
    python: str | None = None

    @property
    def orphaned(self) -> bool:
        return self.parent is None


def _is_sidecar(cmdline: list[str]) -> bool:
    return _is_serve(cmdline) and "--ipc" in cmdline


def _is_serve(cmdline: list[str]) -> bool:
    if "serve" not in cmdline:
        return False
    # `python -m wsside serve --ipc` (what the shim runs) or the `wsside` console script.
    return any(Path(arg).name == "wsside" for arg in cmdline[: cmdline.index("serve")])


def _standalone_serves(project: Project) -> list[int]:
    """The `wsside serve` processes (not Vite's sidecars) working in this project: each
    supervisor, not its workers."""
    found = []
    for proc in psutil.process_iter(["pid", "ppid", "cmdline", "cwd"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if proc.pid == os.getpid() or not _is_serve(cmdline) or "--ipc" in cmdline:
                continue
            parent = psutil.Process(proc.info["ppid"]).cmdline() if proc.info["ppid"] else []
            if _is_serve(parent) and "--ipc" not in parent:
                continue  # a worker of `--workers N`: its supervisor is named
            cwd = proc.info["cwd"]
            if cwd is not None and (Path(cwd) == project.root or project.root in Path(cwd).parents):
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return sorted(found)


def _parent(proc: psutil.Process) -> int | None:
    parent = proc.parent()
    if parent is None or parent.pid == 1:
        return None
    try:
        name = parent.name().lower()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    # After its Vite dies, a sidecar is adopted by init or a subreaper, never by node.
    return parent.pid if name.startswith(_NODE_NAMES) else None


def find_sidecars() -> list[SidecarProcess]:
    """Every shim-mode sidecar this user can see."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.pid == os.getpid() or not _is_sidecar(proc.info["cmdline"] or []):
                continue
            try:
                cwd: str | None = proc.cwd()
            except psutil.AccessDenied:
                cwd = None
            python = (proc.info["cmdline"] or [None])[0]
            if python is not None and "/" not in python and os.sep not in python:
                python = proc.exe() or python  # spawned by name (`python3`), found on PATH
            found.append(SidecarProcess(proc.pid, cwd, _parent(proc), python))
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return found


def _mine(project: Project, sidecar: SidecarProcess) -> bool:
    if sidecar.cwd is None:
        return False
    cwd = Path(sidecar.cwd)
    return cwd == project.root or project.root in cwd.parents


def stale(project: Project) -> list[SidecarProcess]:
    return [s for s in find_sidecars() if s.orphaned and _mine(project, s)]


def running_sidecars(project: Project) -> list[SidecarProcess]:
    """The sidecars of this project whose Vite runs now."""
    return [s for s in find_sidecars() if not s.orphaned and _mine(project, s)]


def check_sidecar_processes(project: Project) -> Check:
    sidecars = find_sidecars()
    orphans = [s for s in sidecars if s.orphaned and _mine(project, s)]
    live = [s for s in sidecars if not s.orphaned and _mine(project, s)]
    elsewhere = sum(1 for s in sidecars if s.orphaned and not _mine(project, s))
    note = f"; {elsewhere} orphaned sidecar(s) of other projects left alone" if elsewhere else ""
    if orphans:
        pids = ", ".join(str(s.pid) for s in orphans)
        return failed(
            "sidecar processes",
            f"stale sidecar(s) whose Vite is gone: pid {pids}{note}",
            "wsside doctor --fix (or kill " + pids + ")",
        )
    vites = sorted({s.parent for s in live if s.parent is not None})
    previews = [vite for vite in vites if _is_preview(vite)]
    dev = [vite for vite in vites if vite not in previews]
    if len(dev) > 1:
        return _several(dev, previews, live, note, _backplane_of_all(project, []))
    running = ", ".join(
        f"pid {s.pid} (Vite pid {s.parent}{', vite preview' if s.parent in previews else ''})"
        for s in live
    )
    serves = _standalone_serves(project)
    linked = _backplane_of_all(project, serves)
    if serves and dev and linked is not None:
        # Deliberate (a dev server and a production-like process on one Redis): said, passed.
        named = ", ".join(f"pid {pid}{_ports(pid)}" for pid in serves)
        return passed(
            "sidecar processes",
            f"no stale sidecars; {running}; `wsside serve` ({named}) beside it, both on the "
            f"backplane {linked}: broadcasts cross between them, and each process has its "
            f"own connections and background tasks{note}",
        )
    if serves and dev:
        # `wsside serve` started beside `vite` on the same handlers: a newcomer's slip, which
        # splits the state without a word (the page reaches Vite's sidecar only).
        named = ", ".join(f"pid {pid}{_ports(pid)}" for pid in serves)
        return warned(
            "sidecar processes",
            f"`wsside serve` ({named}) runs in this project beside the Vite dev server, whose "
            f"sidecar ({running}) serves the handlers to the pages: a page through Vite never "
            "reaches `wsside serve`, and each process has its own rooms, broadcasts and "
            f"background tasks{note}",
            f"stop `wsside serve` (Ctrl+C in its terminal, or kill {_pids(serves)}): under Vite "
            "the plugin runs the handlers",
        )
    also = "".join(f"; `wsside serve` pid {pid}{_ports(pid)}" for pid in serves)
    return passed(
        "sidecar processes", f"no stale sidecars; {running or 'none running'}{also}{note}"
    )


def _backplane_of_all(project: Project, serves: list[int]) -> str | None:
    """The backplane URL (masked) that Vite's sidecar and every `wsside serve` in `serves`
    use, from the project's settings (the plugin's options, then the config file, which a
    `wsside serve` started here reads too); None when there is none, or when a serve names
    another one or another config file on its command line."""
    url = project.settings.backplane
    if url is None:
        return None
    for pid in serves:
        try:
            cmdline = psutil.Process(pid).cmdline()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return None
        for flag, value in itertools.pairwise(cmdline):
            if flag == "--config" or (flag == "--backplane" and value != url):
                return None
        if any(arg.startswith(("--config=", "--backplane=")) for arg in cmdline):
            return None  # the `=` spellings: not compared, so not taken as the same
    return safe_url(url)


def _ports(pid: int) -> str:
    """` (port 8765)`, or '' when it cannot be told."""
    ports = _listening(pid)
    return f" (port {', '.join(map(str, ports))})" if ports else ""


def _several(
    vites: list[int],
    previews: list[int],
    live: list[SidecarProcess],
    note: str,
    backplane: str | None,
) -> Check:
    """Two dev servers of one project at once (Vite 7, or Vite 8 with --bypass-lock): each has
    its own sidecar, so a room on one never hears the other's broadcasts (unless a backplane
    links them; each still runs every background task). A `vite preview` beside them is said
    apart: it serves the built app, not the pages being developed."""
    shown = [_vite(vite, live) for vite in vites]
    also = "".join(
        f"; also a `vite preview`: {_vite(vite, live)}, with a sidecar of its own"
        for vite in previews
    )
    return warned(
        "sidecar processes",
        f"{len(vites)} Vite dev servers of this project run at once: {', '.join(shown)}; each "
        + (
            "dev server has its own Python process, so rooms and broadcasts do not cross "
            "between them (a page of one never gets the other's broadcasts)"
            if backplane is None
            else f"dev server has its own Python process; the backplane {backplane} carries "
            "broadcasts between them, but each runs every background task (a loop that "
            "pushes does so from each)"
        )
        + f"{also}{note}",
        f"{'stop one of them' if len(vites) == 2 else 'stop all but one of them'} (Ctrl+C in "
        f"its terminal, or kill {_pids(vites[1:])}), and open every page on the one left",
    )


def _vite(vite: int, live: list[SidecarProcess]) -> str:
    """`Vite pid 11280 (port 5173; sidecar pid 11302)`."""
    ports = _listening(vite)
    at = f"port {', '.join(map(str, ports))}; " if ports else ""
    sidecars = ", ".join(str(s.pid) for s in live if s.parent == vite)
    return f"Vite pid {vite} ({at}sidecar pid {sidecars})"


# Options of Vite's command line (and of the frameworks' own) that take a value: the word
# after one is no command (`vite --mode preview` is a dev server).
_VALUED = {"--mode", "-m", "--config", "-c", "--base", "--logLevel", "-l", "--host", "--port"}
_VALUED |= {"--outDir", "--filter", "-f", "--configLoader", "--root"}


def _is_preview(pid: int) -> bool:
    """Whether the Vite process `pid` is a `vite preview` (the built app served, with a sidecar
    of its own when the plugin's `preview` option is on): its command's first word after the
    script (`node …/vite.js preview --port 4173`) is `preview`."""
    try:
        args = psutil.Process(pid).cmdline()
    except (psutil.Error, OSError):
        return False
    # Node's own options come before the script, the command's after it.
    script = next((i for i, arg in enumerate(args[1:], 1) if not arg.startswith("-")), None)
    if script is None:
        return False
    words = args[script + 1 :]
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-"):
            return word == "preview"
        i += 2 if word in _VALUED else 1
    return False


def _pids(pids: list[int]) -> str:
    return " ".join(map(str, pids))


def _listening(pid: int) -> list[int]:
    """The TCP ports process `pid` listens on (empty when it cannot be told)."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return []
    return sorted({c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN})


def fix_folder(project: Project) -> Path | str:
    """The project whose stale sidecars `--fix` ends: the one diagnosed, which is the Vite
    project below when run above it (no Vite config there, one project below); with several
    below, none, and why (the doctor named none of them as the project)."""
    below = project.projects_below
    if len(below) <= 1:
        return project.root / (below[0] if below else "")
    shown = ", ".join(below[:3]) + (", ..." if len(below) > 3 else "")
    return (
        f"{len(below)} Vite projects below {project.root} ({shown}): nothing ended; "
        "give --root PROJECT to act on one"
    )


def end_stale(
    project: Project, confirm: Callable[[SidecarProcess], bool], timeout: float = 5.0
) -> list[int]:
    """Terminate (then kill, after `timeout` s) each stale sidecar that `confirm` accepts;
    returns the pids that are gone."""
    procs = []
    for sidecar in stale(project):
        if not confirm(sidecar):
            continue
        try:
            proc = psutil.Process(sidecar.pid)
            proc.terminate()
            procs.append(proc)
        except psutil.NoSuchProcess:
            continue
    gone, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        proc.kill()
    gone2, _ = psutil.wait_procs(alive, timeout=timeout)
    return [p.pid for p in (*gone, *gone2)]
