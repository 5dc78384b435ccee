"""`wsside init`'s .gitignore step: the project's virtualenv and the `.bak` of its vite.config
kept out of git.

The README puts the virtualenv beside vite.config, and create-vite's .gitignore does not list
it, so `git add .` would commit a whole Python install (and the config's backup). This step
acts only where git is in use: in a git work tree (the project's .gitignore is created when
there is none, as git reads it), or, without git (not installed, or not a repository yet),
where the project already has a .gitignore. Elsewhere it changes nothing.

What it ignores: the environment wsside runs from when it is inside the project, a `.venv` or
`venv` folder of the project that is a virtualenv (it has `pyvenv.cfg`), and the `.bak` init
writes (or an earlier run wrote) beside vite.config. Git says what it ignores already
(`git check-ignore`, which also reads `.git/info/exclude` and the user's global excludes);
without git, the .gitignore's lines are read simply, and an entry is added unless one of them
plainly matches.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
from pathlib import Path

from .._project.vite_files import VITE_CONFIG_NAMES
from .init_files import CannotInit, Outcome, append_lines, in_the_way, read_text

__all__ = ["git_ignores", "git_tracks", "ignore_in_git", "in_work_tree", "listed"]

# What the lines added say, by what they list: a virtualenv, vite.config's backup, or both.
COMMENTS = {
    (True, True): "# wsside init: the Python virtualenv and vite.config's backup stay out of git",
    (True, False): "# wsside init: the Python virtualenv stays out of git",
    (False, True): "# wsside init: vite.config's backup stays out of git",
}


def ignore_in_git(root: Path, out: Outcome) -> None:
    """Add the project's virtualenv and vite.config's `.bak` to its .gitignore when git does
    not ignore them yet (see the module's doc for when)."""
    gitignore = root / ".gitignore"
    in_git = in_work_tree(root)
    if not in_git and not os.path.lexists(gitignore):
        return  # no sign of git: nothing about ignores
    entries = [*_environments(root), *_backups(root, out)]
    if not entries:
        return
    exists = os.path.lexists(gitignore)
    if exists and not gitignore.is_file():
        raise CannotInit(in_the_way(gitignore, "file"))
    text = read_text(gitignore) if exists else ""
    if in_git:
        missing = [e for e in entries if not git_ignores(root, e)]
    else:
        missing = [e for e in entries if not listed(text, e)]
    if not missing:
        who = "git" if in_git else ".gitignore"
        out.done.append(f"{who} already ignores {' and '.join(entries)}")
        return
    backups = [e for e in missing if e.endswith(".bak")]
    comment = COMMENTS[len(backups) < len(missing), bool(backups)]
    append_lines(gitignore, text, [comment, *missing], out)
    names = " and ".join(missing)
    out.done.append(
        f"added {names} to .gitignore" if exists else f"wrote .gitignore listing {names}"
    )


def _environments(root: Path) -> list[str]:
    """The virtualenvs of the project, as .gitignore entries (`.venv/`, `tools/env/`)."""
    found: list[Path] = []
    running = Path(sys.prefix).resolve()
    if sys.prefix != sys.base_prefix and running != root and running.is_relative_to(root):
        found.append(running)
    for name in (".venv", "venv"):
        folder = root / name
        if (folder / "pyvenv.cfg").is_file() and folder.resolve() not in found:
            found.append(folder)
    return [_entry(root, f) for f in found]


def _backups(root: Path, out: Outcome) -> list[str]:
    """The `.bak` of vite.config this run writes, or an earlier run left."""
    names = {b.name for b in out.backups}
    names |= {n + ".bak" for n in VITE_CONFIG_NAMES if (root / (n + ".bak")).is_file()}
    return sorted(names)


def _entry(root: Path, folder: Path) -> str:
    """A folder's .gitignore entry (`.venv/`); for a link to a folder (`.venv -> ../venv`),
    which git sees as a file, the name without the slash (`.venv`), which git also matches."""
    name = folder.relative_to(root).as_posix()
    return name if folder.is_symlink() else name + "/"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)


def in_work_tree(root: Path) -> bool:
    """Whether git is installed and `root` is in one of its work trees."""
    try:
        done = _git(root, "rev-parse", "--is-inside-work-tree")
    except (OSError, subprocess.TimeoutExpired):  # no git: the .gitignore is read instead
        return False
    return done.returncode == 0 and done.stdout.strip() == "true"


def git_tracks(root: Path, name: str) -> bool:
    """Whether git's index has the file `name` of `root`."""
    return _git(root, "ls-files", "--error-unmatch", "--", name).returncode == 0


def git_ignores(root: Path, entry: str) -> bool:
    """Whether git ignores the .gitignore `entry` of `root` (a folder's ends with /)."""
    done = _git(root, "check-ignore", "-q", "--", entry)
    if done.returncode not in (0, 1):
        line = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise CannotInit(f"git check-ignore {entry} failed in {root}: {line}")
    return done.returncode == 0


def listed(text: str, entry: str) -> bool:
    """Whether a line of the .gitignore `text` plainly ignores `entry` (`.venv/`, `a/b/`,
    `vite.config.ts.bak`), the last matching line deciding, as in git. Only the plain forms
    are understood (a name or glob, anchored with / or not); anything else counts as not
    matching, so an entry may be added twice, never left out."""
    path = entry.rstrip("/")
    folder = entry.endswith("/")
    ignored = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        if pattern.endswith("/"):
            if not folder:
                continue
            pattern = pattern[:-1]
        anchored = "/" in pattern
        pattern = pattern.lstrip("/")
        if "**" in pattern or not pattern:
            continue
        # a pattern with no / matches a name at any depth: only a top-level one is compared
        if (anchored or "/" not in path) and fnmatch.fnmatchcase(path, pattern):
            ignored = not negated
    return ignored
