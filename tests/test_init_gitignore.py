"""`wsside init` keeps the project's virtualenv and vite.config's `.bak` out of git: in real
git work trees (and folders with a .gitignore but no git), with real virtualenvs made in the
project, some running `wsside init` themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from doctor_projects import VENV_PYTHON, write

PACKAGE = '{"name": "app", "private": true, "type": "module"}'
CONFIG = (
    "import { defineConfig } from 'vite'\n\nexport default defineConfig({\n  plugins: [],\n})\n"
)
# The shape of create-vite's .gitignore: no Python in it.
CREATE_VITE_IGNORE = (
    "# Logs\n*.log\n\nnode_modules\ndist\n*.local\n\n.vscode/*\n!.vscode/extensions.json\n"
)


def comment(added: str) -> str:
    """The line init writes above the entries `added` (one per line): what it says is what
    they are."""
    entries = added.split("\n")
    backups = [e for e in entries if e.endswith(".bak")]
    return {
        (True, True): "# wsside init: the Python virtualenv and vite.config's backup stay out "
        "of git\n",
        (True, False): "# wsside init: the Python virtualenv stays out of git\n",
        (False, True): "# wsside init: vite.config's backup stays out of git\n",
    }[len(backups) < len(entries), bool(backups)]


def env(tmp_path: Path) -> dict[str, str]:
    """No git repository above the test's folder counts, nor the user's git config."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_CEILING_DIRECTORIES": str(tmp_path),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=30,
        env=env(root.parent),
    )


def project(tmp_path: Path, *, in_git: bool, gitignore: str | None = None) -> Path:
    root = write(tmp_path / "app", {"package.json": PACKAGE, "vite.config.ts": CONFIG})
    if gitignore is not None:
        (root / ".gitignore").write_bytes(gitignore.encode())
    if in_git:
        assert git(root, "init", "-q").returncode == 0
    return root


def make_venv(folder: Path, *, ignores_itself: bool = False) -> str:
    """A real virtualenv at `folder` that sees this one's packages (wsside among them); its
    Python. Python 3.13's venv (and uv's, and virtualenv's) writes a `.gitignore` of `*` in
    it, so that git ignores it wherever it is; the ones of 3.10-3.12 do not, and git sees
    every file. `ignores_itself` says which to make, whatever Python runs the tests."""
    subprocess.run(
        [VENV_PYTHON, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=60
    )
    own = folder / ".gitignore"
    if ignores_itself:
        own.write_text("# Created by venv\n*\n")
    else:
        own.unlink(missing_ok=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "wsside_test.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return str(python)


def run_init(root: Path, python: str = VENV_PYTHON) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", "wsside", "init", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env(root.parent),
    )


def init(root: Path, python: str = VENV_PYTHON) -> str:
    done = run_init(root, python)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def untracked(root: Path) -> list[str]:
    """What `git add .` would add."""
    done = git(root, "status", "--porcelain", "--untracked-files=all")
    assert done.returncode == 0, done.stderr
    return [line[3:] for line in done.stdout.splitlines()]


def ignored(root: Path, entry: str) -> bool:
    return git(root, "check-ignore", "-q", "--", entry).returncode == 0


def test_the_venv_init_runs_from_and_the_backup_stay_out_of_git_and_a_second_run_changes_nothing(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, in_git=True, gitignore=CREATE_VITE_IGNORE)
    python = make_venv(root / ".venv")
    out = init(root, python)
    assert "  ✓ added .venv/ and vite.config.ts.bak to .gitignore\n" in out
    assert (root / ".gitignore").read_text() == (
        CREATE_VITE_IGNORE + comment(".venv/\nvite.config.ts.bak") + ".venv/\nvite.config.ts.bak\n"
    )
    assert (root / "vite.config.ts.bak").read_text() == CONFIG
    added = untracked(root)
    assert not [p for p in added if p.startswith(".venv/") or p.endswith(".bak")], added
    assert {".gitignore", "package.json", "vite.config.ts", "wsside.toml", "ws/echo.py"} <= set(
        added
    )

    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    again = init(root, python)
    assert "  ✓ git already ignores .venv/ and vite.config.ts.bak\n" in again
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before


@pytest.mark.parametrize(
    ("exclude", "gitignore", "added"),
    [
        (".venv\n", CREATE_VITE_IGNORE, "vite.config.ts.bak"),  # the user's own excludes
        ("", "node_modules\n.venv\n", "vite.config.ts.bak"),
        ("", "*.bak\nnode_modules", ".venv/"),  # no newline at the end
    ],
)
def test_what_git_ignores_already_is_not_added_again(
    tmp_path: Path, exclude: str, gitignore: str, added: str
) -> None:
    root = project(tmp_path, in_git=True, gitignore=gitignore)
    (root / ".git" / "info" / "exclude").write_text(exclude)
    make_venv(root / ".venv")
    out = init(root)  # run from another environment: the project's .venv is found by name
    assert f"  ✓ added {added} to .gitignore\n" in out
    joined = gitignore if gitignore.endswith("\n") else gitignore + "\n"
    assert (root / ".gitignore").read_text() == joined + comment(added) + added + "\n"
    assert ignored(root, ".venv/") and ignored(root, "vite.config.ts.bak")


def test_without_git_or_a_gitignore_nothing_is_ignored_until_git_init(tmp_path: Path) -> None:
    root = project(tmp_path, in_git=False)
    python = make_venv(root / ".venv")
    out = init(root, python)
    assert not (root / ".gitignore").exists() and "gitignore" not in out
    assert (root / "vite.config.ts.bak").is_file()

    assert git(root, "init", "-q").returncode == 0
    # The .bak is the earlier run's: this run leaves the config as it is.
    out = init(root, python)
    assert "  ✓ wrote .gitignore listing .venv/ and vite.config.ts.bak\n" in out
    assert (root / ".gitignore").read_text() == (
        comment(".venv/\nvite.config.ts.bak") + ".venv/\nvite.config.ts.bak\n"
    )
    assert [p for p in untracked(root) if ".venv/" in p or p.endswith(".bak")] == []


def test_a_virtualenv_that_ignores_itself_is_not_added(tmp_path: Path) -> None:
    root = project(tmp_path, in_git=True, gitignore=CREATE_VITE_IGNORE)
    python = make_venv(root / ".venv", ignores_itself=True)
    out = init(root, python)
    assert "  ✓ added vite.config.ts.bak to .gitignore\n" in out
    assert (root / ".gitignore").read_text() == CREATE_VITE_IGNORE + comment(
        "vite.config.ts.bak"
    ) + "vite.config.ts.bak\n"
    assert not [p for p in untracked(root) if p.startswith(".venv/") or p.endswith(".bak")]


def test_an_environment_inside_the_project_under_another_name_is_ignored(tmp_path: Path) -> None:
    root = project(tmp_path, in_git=True, gitignore=CREATE_VITE_IGNORE)
    python = make_venv(root / "tools" / "py")
    out = init(root, python)
    assert "  ✓ added tools/py/ and vite.config.ts.bak to .gitignore\n" in out
    assert not [p for p in untracked(root) if p.startswith("tools/")]


@pytest.mark.parametrize(
    ("gitignore", "added"),
    [
        ("/.venv/\n", "vite.config.ts.bak"),
        (".venv\n!.venv/\n", ".venv/\nvite.config.ts.bak"),  # the last line wins, as in git
        ("*.bak\n.v*\n", None),
        ("*.bak\r\nnode_modules\r\n", ".venv/"),  # written with the file's line endings
    ],
)
def test_without_git_an_existing_gitignore_is_read_as_git_reads_it(
    tmp_path: Path, gitignore: str, added: str | None
) -> None:
    root = project(tmp_path, in_git=False, gitignore=gitignore)
    make_venv(root / ".venv")
    out = init(root)
    text = (root / ".gitignore").read_bytes().decode()
    if added is None:
        assert "  ✓ .gitignore already ignores .venv/ and vite.config.ts.bak\n" in out
        assert text == gitignore
    else:
        newline = "\r\n" if "\r\n" in gitignore else "\n"
        assert text == gitignore + (comment(added) + added + "\n").replace("\n", newline)
    # git, once the project is a repository, agrees
    assert git(root, "init", "-q").returncode == 0
    assert ignored(root, ".venv/") and ignored(root, "vite.config.ts.bak")


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.mkdir(), ".gitignore is a folder, not a file: move it away"),
        (lambda p: p.write_bytes(b"node_modules\n\xff\n"), ".gitignore: "),
    ],
)
def test_a_gitignore_init_cannot_use_is_named_and_nothing_is_written(
    tmp_path: Path, make: object, problem: str
) -> None:
    root = project(tmp_path, in_git=True)
    assert callable(make)
    make(root / ".gitignore")
    make_venv(root / ".venv")
    done = run_init(root)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and problem in done.stderr, done.stderr
    assert not (root / "wsside.toml").exists() and not (root / "vite.config.ts.bak").exists()
    assert (root / "vite.config.ts").read_text() == CONFIG


def test_in_a_monorepo_init_follows_the_plugin_s_options_and_names_the_root_virtualenv(
    tmp_path: Path,
) -> None:
    """Run from the repository root's virtualenv in `apps/web`, whose vite.config already
    gives the plugin a handlers folder elsewhere: wsside.toml says that folder and prefix,
    the project's own handlers get no sample beside them, and (in a second app, without the
    plugin yet) the plugin is added with the `python` that Vite would not find by itself."""
    repo = tmp_path / "repo"
    python = make_venv(repo / ".venv")
    web = project(repo / "apps", in_git=True)
    (web / "vite.config.ts").write_text(
        "import { defineConfig } from 'vite'\n"
        "import wsside from 'vite-plugin-wsside'\n\n"
        "export default defineConfig({\n"
        "  plugins: [wsside({ handlers: '../../services/realtime', prefix: '/rt' })],\n"
        "})\n"
    )
    realtime = repo / "services" / "realtime"
    realtime.mkdir(parents=True)
    (realtime / "chat.py").write_text("from wsside import Handler\n\nHandler('/ws/chat')\n")
    out = init(web, python)
    assert (web / "wsside.toml").read_text().splitlines()[4:] == [
        'prefix = "/rt"',
        'handlers = "../../services/realtime"',
    ]
    assert "  ✓ kept ../../services/realtime/ as it is: it has handler files\n" in out
    assert not (web / "ws").exists() and not (realtime / "echo.py").exists()
    assert "npx vite         # it prints the WebSocket URLs\n" in out

    # Doctor, run from that virtualenv on the app whose plugin has no `python`, gives the fix
    # Vite gives: the option, not a pip install into the Python on the PATH.
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python3").symlink_to(Path(sys.base_prefix) / "bin" / "python3")  # no wsside
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "WSSIDE_PYTHON")}
    env["PATH"] = f"{bare}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(
        [python, "-m", "wsside", "doctor", "--no-live", "--json", "--root", str(web)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    [check] = [c for c in json.loads(done.stdout)["checks"] if c["name"] == "interpreter"]
    assert (check["status"], check["fix"]) == (
        "fail",
        "set `python: '../../.venv/bin/python'` in wsside() of vite.config (this doctor's "
        "virtualenv, which has wsside; the plugin looks beside vite.config), as Vite's "
        "message says",
    ), check

    other = project(repo / "apps" / "admin", in_git=True)
    out = init(other, python)
    assert "  ✓ added wsside({ python: '../../../.venv/bin/python' }) to vite.config.ts" in out
    assert (
        "wsside({ python: '../../../.venv/bin/python' })" in (other / "vite.config.ts").read_text()
    )


def test_a_project_venv_that_links_to_another_folder_gets_no_python_option(
    tmp_path: Path,
) -> None:
    """`.venv -> ../venv`: the plugin finds `.venv/bin/python` beside vite.config, so init run
    from that virtualenv adds plain wsside(); run from the same virtualenv in a project
    without the link, it names the virtualenv, which the plugin would not find."""
    python = make_venv(tmp_path / "venv")
    root = project(tmp_path, in_git=False)
    (root / ".venv").symlink_to(Path("..", "venv"))
    out = init(root, str(root / ".venv" / "bin" / "python"))
    assert "  ✓ added wsside() to vite.config.ts (original kept as" in out, out
    assert "plugins: [wsside()]" in (root / "vite.config.ts").read_text()
    linked = project(tmp_path / "linked", in_git=False)  # run by the link's target: the same
    (linked / ".venv").symlink_to(Path("..", "..", "venv"))
    assert "  ✓ added wsside() to vite.config.ts (original kept as" in init(linked, python)

    other = write(tmp_path / "other", {"package.json": PACKAGE, "vite.config.ts": CONFIG})
    out = init(other, python)
    assert "  ✓ added wsside({ python: '../venv/bin/python' }) to vite.config.ts" in out, out


def test_in_git_a_venv_that_is_a_link_is_ignored_as_the_link(tmp_path: Path) -> None:
    """git sees a link as a file: `.venv/` would not match it (and `git check-ignore .venv/`
    stops with "beyond a symbolic link"), `.venv` does."""
    python = make_venv(tmp_path / "venv")
    root = project(tmp_path, in_git=True)
    (root / ".venv").symlink_to(Path("..", "venv"))
    init(root, python)
    assert ".venv" in (root / ".gitignore").read_text().splitlines()
    assert ignored(root, ".venv")
    assert ".venv" not in untracked(root)
