"""`wsside doctor`: a fixture project per failure, each asserting the failing check and its
fix, and one healthy project checked live through a real Vite dev server."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import psutil
import pytest

from cluster import missing
from doctor_projects import (
    REPO,
    SIMPLE_VITE_CONFIG,
    VENV_PYTHON,
    certificate,
    checks,
    env_for,
    free_port,
    link_modules,
    one,
    run_doctor,
    spawn_orphan,
    start_vite,
    vite_modules,
    write,
)
from wsside import __version__
from wsside._edge.control import PROTOCOL_VERSION
from wsside.doctor import CHECKS, Check, Project, run_checks
from wsside.doctor.checks_python import PYTHON_FLOOR

__all__ = ["vite_modules"]  # the session fixture, imported for pytest

ECHO = """\
from wsside import Handler

echo = Handler("/echo")

@echo.on_message
async def reply(conn, data):
    await conn.send(data)
"""


def basic(root: Path, **files: str) -> Path:
    """A project whose Python side is healthy; Vite is not installed (text heuristics)."""
    return write(
        root,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "wsside.toml": 'prefix = "/api"\n',
            "ws/echo.py": ECHO,
            **files,
        },
    )


def test_a_handler_file_that_blocks_at_import_is_named_within_the_timeout(tmp_path: Path) -> None:
    basic(
        tmp_path,
        **{
            "ws/hang.py": "import time\nfrom wsside import Handler\n\n"
            "while True:\n    time.sleep(1)\n",
            # A retry loop that swallows every Exception.
            "ws/retry.py": "import time\n\nwhile True:\n    try:\n        time.sleep(0.1)\n"
            "    except Exception:\n        pass\n",
        },
    )
    code, report = run_doctor(tmp_path, "--timeout", "1")
    check = one(report, "handler ws/hang.py")
    assert code == 1 and check["status"] == "fail"
    assert check["message"].startswith("ws/hang.py:5: StillImporting: still importing after 1 s")
    assert check["fix"] == (
        "move what blocks at ws/hang.py:5 into a @background task, a callback or a thread"
    )
    retry = one(report, "handler ws/retry.py")
    assert retry["status"] == "fail" and "StillImporting" in retry["message"], retry
    assert one(report, "handler ws/echo.py")["status"] == "pass"


def test_missing_handlers_folder(tmp_path: Path) -> None:
    write(tmp_path, {"vite.config.js": SIMPLE_VITE_CONFIG, "wsside.toml": 'handlers = "ws"\n'})
    code, report = run_doctor(tmp_path)
    check = one(report, "handlers folder")
    assert code == 1 and check["status"] == "fail"
    assert check["message"] == "ws/ does not exist"
    assert "wsside init" in check["fix"]


@pytest.mark.parametrize("app", ["packages/web", "frontend"])
def test_a_monorepo_s_root_names_its_vite_app(tmp_path: Path, app: str) -> None:
    """Run at the root of npm workspaces (or of a repository whose front end is a folder),
    where there is no vite.config: the doctor names the Vite app below and sends the user
    there, `wsside init` included, instead of asking for a ws/ at the root."""
    write(
        tmp_path,
        {
            "package.json": '{"name": "mono", "private": true, "workspaces": ["packages/*"]}',
            # The vanilla template of `npm create vite`: no vite.config, vite in package.json.
            f"{app}/package.json": '{"name": "web", "devDependencies": {"vite": "^8"}}',
            "packages/ui/package.json": '{"name": "ui", "devDependencies": {"react": "^19"}}',
            "node_modules/vite/package.json": '{"name": "vite", "version": "8.0.0"}',
        },
    )
    code, report = run_doctor(tmp_path)
    check = one(report, "vite.config")
    assert code == 1 and check["status"] == "fail"
    assert check["message"] == (
        f"no vite.config.*, astro.config.* or nuxt.config.* in {tmp_path.resolve()}; "
        f"the Vite project below it: {app} (the checks that need the project, from handlers "
        "to the dev server, were skipped)"
    )
    assert check["fix"] == (
        f"run `wsside doctor --root {app}` (or run it in that folder); "
        "`wsside init` too goes there, not here"
    )
    # Said once: no fix that belongs to the project below (npm install -D vite, create ws/).
    names = [c["name"] for c in report["checks"]]
    assert names == ["python", "packages", "node", "vite.config"], report


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    basic(tmp_path, **{"ws/broken.py": "from wsside import Handler\n\nh = Handler('/x'\n"})
    code, report = run_doctor(tmp_path)
    check = one(report, "handler ws/broken.py")
    assert code == 1 and check["status"] == "fail"
    assert check["message"].startswith("ws/broken.py:3: SyntaxError")
    assert check["fix"] == "fix ws/broken.py:3, then save: the sidecar reloads it"
    assert one(report, "handler ws/echo.py")["status"] == "pass"


def test_a_package_the_interpreter_lacks_gets_the_pip_command(tmp_path: Path) -> None:
    """The usual cause is a package not installed where the handlers run, not the file."""
    missing = "wsside_no_such_package"
    basic(tmp_path, **{"ws/needs.py": f"import {missing}\nfrom wsside import Handler\n"})
    code, report = run_doctor(tmp_path)
    check = one(report, "handler ws/needs.py")
    assert code == 1 and check["status"] == "fail"
    assert check["message"] == f"ws/needs.py:1: ModuleNotFoundError: No module named '{missing}'"
    assert check["fix"] == (
        f"`{VENV_PYTHON} -m pip install {missing}` (its name on PyPI may differ), "
        "or correct the import at ws/needs.py:1"
    )


def python_with_this_wsside(folder: Path, **modules: str) -> Path:
    """A real virtual environment whose Python sees this one's packages (wsside too) and
    `modules` (name: source) that this one lacks."""
    venv.create(folder, with_pip=False, symlinks=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    own = folder / "only-here"
    write(own, {f"{name}.py": text for name, text in modules.items()})
    mine = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "wsside-test.pth").write_text(
        f"import site; site.addsitedir({mine!r})\n{own}\n", encoding="utf-8"
    )
    return python


# A project folder as people name theirs: a space and a letter outside ASCII. A command the
# doctor gives must paste into a shell as it is.
FOLDERS = ["app", "My Äpp"]


@pytest.mark.parametrize("folder", FOLDERS)
def test_handler_files_are_imported_by_the_python_the_sidecar_will_run(
    tmp_path: Path, folder: str
) -> None:
    """doctor runs on this venv's Python, the plugin would pick the project's .venv: a package
    installed there only imports, and a missing one gets that Python's pip, a command that
    pastes into a shell whatever the folder is called."""
    tmp_path = tmp_path / folder
    basic(
        tmp_path,
        **{
            "ws/there.py": "import only_in_the_sidecars\nfrom wsside import Handler\n"
            "h = Handler('/there')\n",
            "ws/needs.py": "import wsside_no_such_package\n",
        },
    )
    other = python_with_this_wsside(tmp_path / ".venv", only_in_the_sidecars="")
    env = env_for()
    del env["WSSIDE_PYTHON"]
    code, report = run_doctor(tmp_path, env=env)
    assert code == 1  # ws/needs.py
    said = f"(imported with {other}, the Python the sidecar will run)"
    there = one(report, "handler ws/there.py")
    assert there["status"] == "pass", there
    assert there["message"] == f"imports: /there {said}"
    needs = one(report, "handler ws/needs.py")
    assert needs["message"] == (
        f"ws/needs.py:1: ModuleNotFoundError: No module named 'wsside_no_such_package' {said}"
    )
    assert needs["fix"] == (
        f"`{shlex.quote(str(other))} -m pip install wsside_no_such_package` (its name on PyPI "
        "may differ), or correct the import at ws/needs.py:1"
    )
    words = shlex.split(needs["fix"].split("`")[1])
    assert words == [str(other), "-m", "pip", "install", "wsside_no_such_package"]
    assert one(report, "interpreter")["status"] == "pass"


def test_an_import_the_sidecar_s_python_cannot_try_says_whose_it_was(tmp_path: Path) -> None:
    basic(tmp_path, **{"ws/needs.py": "import wsside_no_such_package\n"})
    venv.create(tmp_path / ".venv", with_pip=False, symlinks=True)
    bare = tmp_path / ".venv" / "bin" / "python"
    env = env_for()
    del env["WSSIDE_PYTHON"]
    _, report = run_doctor(tmp_path, env=env)
    needs = one(report, "handler ws/needs.py")
    assert needs["message"] == (
        "ws/needs.py:1: ModuleNotFoundError: No module named 'wsside_no_such_package' "
        f"(imported with this doctor's Python, {VENV_PYTHON})"
    ), needs
    assert one(report, "handler ws/echo.py")["message"] == (
        f"imports: /echo (imported with this doctor's Python, {VENV_PYTHON})"
    )
    # Why the sidecar's Python could not be asked is said once, not beside every file.
    why = one(report, "handler imports")
    assert why["status"] == "warn"
    # The plain cause, not Python's words about the module spec of the doctor's helper.
    assert why["message"] == (
        f"Imported with this doctor's Python, {VENV_PYTHON}: the sidecar will run {bare}, "
        "which could not be asked: it has no wsside installed"
    ), why


@pytest.mark.parametrize(
    ("files", "fix"),
    [
        (
            {},
            "pass `handlers: 'handlers'` to wsside() in vite.config (or set "
            '`handlers = "handlers"` in a wsside.toml beside it) (or move those files into ws/)',
        ),
        (
            {"wsside.toml": 'prefix = "/api"\n'},
            'set `handlers = "handlers"` in wsside.toml (or move those files into ws/)',
        ),
        (
            {
                "vite.config.js": SIMPLE_VITE_CONFIG.replace(
                    "wsside()", "wsside({ handlers: 'py' })"
                )
            },
            "set the `handlers` option of wsside() in vite.config to 'handlers' "
            "(or move those files into py/)",
        ),
    ],
    ids=["no-config", "wsside.toml", "plugin-option"],
)
def test_handler_files_in_another_folder_are_pointed_at(
    tmp_path: Path, files: dict[str, str], fix: str
) -> None:
    write(
        tmp_path,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "handlers/chat.py": ECHO.replace("/echo", "/chat"),
            "handlers/_shared.py": "from wsside import Handler  # Handler( in a helper\n",
            "scripts/build.py": "print('not a handler')\n",
            **files,
        },
    )
    code, report = run_doctor(tmp_path)
    check = one(report, "handlers folder")
    shown = "py" if fix.endswith("into py/)") else "ws"
    assert code == 1 and check["status"] == "fail", check
    assert check["message"] == (
        f"{shown}/ does not exist, but handlers/ has files declaring a Handler (chat.py)"
    )
    assert check["fix"] == fix


def test_an_empty_handlers_folder_points_at_the_one_with_handlers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "ws/README.txt": "",
            "server/handlers/a.py": ECHO,
            "server/handlers/b.py": ECHO.replace("/echo", "/b"),
        },
    )
    _, report = run_doctor(tmp_path)
    check = one(report, "handlers folder")
    assert check["status"] == "warn"
    assert check["message"] == (
        "ws/ has no handler files, but server/handlers/ has files declaring a Handler (a.py, b.py)"
    )
    assert check["fix"].startswith("pass `handlers: 'server/handlers'` to wsside() in vite.config")


def test_handler_importing_a_helper(tmp_path: Path) -> None:
    # `_shared.py` is a helper (not a handler); the handler imports it by its bare name, as it
    # does under Vite and `wsside serve`.
    helper = "GREETING = 'hello'\n"
    greet = "import _shared\nfrom wsside import Handler\n\ngreet = Handler('/greet')\n"
    basic(tmp_path, **{"ws/_shared.py": helper, "ws/greet.py": greet})
    _, report = run_doctor(tmp_path)
    check = one(report, "handler ws/greet.py")
    assert check["status"] == "pass", check["message"]
    assert check["message"] == "imports: /greet"
    assert not [c for c in report["checks"] if c["name"] == "handler ws/_shared.py"]


def test_files_that_fail_for_one_broken_helper_share_one_row(tmp_path: Path) -> None:
    """Five handler files import `_shared.py`, which raises: one row names them and the
    helper's line once, not five rows saying the same; a file failing for its own error keeps
    its row, and one that loads passes."""
    importer = "import _shared\nfrom wsside import Handler\n\nh = Handler('/{}')\n"
    files = {f"ws/h{n}.py": importer.format(f"h{n}") for n in range(5)}
    basic(
        tmp_path,
        **files,
        **{"ws/_shared.py": "X = 1\nraise RuntimeError('no database')\n", "ws/own.py": "1/0\n"},
    )
    _, report = run_doctor(tmp_path)
    rows = [c for c in report["checks"] if c["name"].startswith("handler ws")]
    assert [(c["name"], c["status"]) for c in rows] == [
        ("handler ws/echo.py", "pass"),
        ("handler ws/h0.py and 4 more", "fail"),
        ("handler ws/own.py", "fail"),
    ]
    assert rows[1]["message"] == (
        "ws/_shared.py:2: RuntimeError: no database "
        "(ws/h0.py, ws/h1.py, ws/h2.py and 2 more import it)"
    ), rows[1]["message"]
    assert rows[1]["fix"] == "fix ws/_shared.py:2, then save: the sidecar reloads it"
    assert rows[2]["message"].startswith("ws/own.py:1: ZeroDivisionError"), rows[2]


def test_a_handler_symlink_that_leads_nowhere_is_named_without_a_line(tmp_path: Path) -> None:
    basic(tmp_path)
    os.symlink(tmp_path / "gone.py", tmp_path / "ws" / "dangling.py")
    _, report = run_doctor(tmp_path)
    check = one(report, "handler ws/dangling.py")
    assert check["status"] == "fail"
    assert check["message"].startswith(
        f"ws/dangling.py: a symlink to {tmp_path / 'gone.py'}, which does not exist"
    ), check["message"]
    assert check["fix"] == "fix ws/dangling.py, then save: the sidecar reloads it"


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_root_that_is_not_a_folder(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "nowhere"
    if kind == "file":
        basic(tmp_path)
        root = tmp_path / "vite.config.js"
    problem = "no such folder" if kind == "missing" else "is a file, not a folder"
    done = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "doctor", "--root", str(root)],
        capture_output=True,
        text=True,
        env=env_for(),
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"wsside doctor: --root {root}: {problem} (give the Vite project's folder)"
    ]


def test_invalid_pattern(tmp_path: Path) -> None:
    basic(tmp_path, **{"ws/bad.py": "from wsside import Handler\nh = Handler('/x/{a}/{a}')\n"})
    _, report = run_doctor(tmp_path)
    check = one(report, "handler ws/bad.py")
    assert check["status"] == "fail" and "PatternError" in check["message"]
    assert check["fix"] == "fix the pattern at ws/bad.py:2"


def test_duplicate_patterns(tmp_path: Path) -> None:
    again = "from wsside import Handler\n\nagain = Handler('/echo')\n"
    basic(tmp_path, **{"ws/zz_again.py": again})
    code, report = run_doctor(tmp_path)
    (check,) = [c for c in checks(report, "patterns") if c["status"] == "fail"]
    assert code == 1
    assert check["message"] == "duplicate pattern '/echo': ws/echo.py:3 and ws/zz_again.py:3"
    assert check["fix"] == "rename or remove one of them (ws/zz_again.py:3 is refused at load)"


def test_shadowed_pattern(tmp_path: Path) -> None:
    basic(
        tmp_path,
        **{
            "ws/a_all.py": "from wsside import Handler\nany = Handler('/ws/**')\n",
            "ws/b_chat.py": "from wsside import Handler\nchat = Handler('/ws/chat')\n",
            "ws/c_id.py": "from wsside import Handler\nh = Handler('/x/{id:\\\\d+}')\n",
        },
    )
    _, report = run_doctor(tmp_path)
    (check,) = checks(report, "patterns")
    assert check["status"] == "warn"
    assert "'/ws/chat' (ws/b_chat.py:2) is shadowed by '/ws/**' (ws/a_all.py:2)" in check["message"]
    assert check["fix"].startswith("declare '/ws/chat' before '/ws/**'")


def test_bad_config_key(tmp_path: Path) -> None:
    basic(tmp_path, **{"wsside.toml": 'prefix = "/api"\nprefx = "/ws"\n'})
    code, report = run_doctor(tmp_path)
    check = one(report, "config")
    assert code == 1 and check["status"] == "fail"
    assert check["message"].startswith('wsside.toml:2: key "prefx": ')  # said once, relative
    assert 'key "prefx"' in check["message"] and "unknown key" in check["message"]
    assert check["fix"] == 'edit key "prefx" in wsside.toml:2; the message says what is expected'


@pytest.mark.parametrize("folder", FOLDERS)
@pytest.mark.parametrize("chosen_by", ["WSSIDE_PYTHON", ".venv"])
def test_interpreter_without_wsside(tmp_path: Path, chosen_by: str, folder: str) -> None:
    """A real interpreter that lacks wsside, chosen by the shim's rules as the shim would; the
    pip command for it pastes into a shell whatever the project's folder is called."""
    tmp_path = tmp_path / folder
    basic(tmp_path)
    folder = tmp_path / (".venv" if chosen_by == ".venv" else "bare")
    venv.create(folder, with_pip=False, symlinks=True)
    bare = folder / "bin" / "python"
    env = env_for(WSSIDE_PYTHON=str(bare))
    if chosen_by == ".venv":
        del env["WSSIDE_PYTHON"]
    code, report = run_doctor(tmp_path, env=env)
    check = one(report, "interpreter")
    assert code == 1 and check["status"] == "fail"
    chosen = {
        "WSSIDE_PYTHON": "the WSSIDE_PYTHON variable",
        ".venv": "the .venv beside vite.config",
    }
    assert check["message"].startswith(f"{bare} ({chosen[chosen_by]}) cannot import wsside")
    # What installs this wsside: its source folder (before a release is published, that is
    # how it got here), else the release of the same version.
    command = shlex.split(check["fix"].split("`")[1])
    assert command[:4] == [str(bare), "-m", "pip", "install"], check["fix"]
    repo = Path(__file__).resolve().parents[1]
    assert command[4:] in (["-e", str(repo)], [str(repo)], [f"wsside=={__version__}"]), command


def _old_python() -> tuple[str, str] | None:
    """A real Python older than wsside supports (WSSIDE_OLD_PYTHON, else PY27 or pyenv's
    2.7.18, as tests/compliance/run.sh looks for Autobahn's, else one on PATH or in pyenv) and
    its major.minor, or None."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        os.environ.get("WSSIDE_OLD_PYTHON", ""),
        os.environ.get("PY27", ""),
        str(pyenv / "2.7.18" / "bin" / "python2.7"),
        "python3.9",
        "python3.8",
        "python2.7",
    ]
    if pyenv.is_dir():
        for v in sorted(pyenv.iterdir()):
            numbers = v.name.split(".")[:2]
            if all(n.isdigit() for n in numbers) and tuple(map(int, numbers)) < PYTHON_FLOOR:
                candidates.append(str(v / "bin" / "python"))
    for python in filter(None, candidates):
        try:
            done = subprocess.run(
                [python, "-c", 'import sys; print("%d.%d" % sys.version_info[:2])'],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        version = done.stdout.strip()
        if done.returncode == 0 and tuple(map(int, version.split("."))) < PYTHON_FLOOR:
            return python, version
    return None


def test_interpreter_older_than_wsside_supports(tmp_path: Path) -> None:
    """Named as too old, not given a pip command that would fail."""
    old = _old_python()
    if old is None:
        missing(
            "no Python older than 3.10 here (pyenv's 2.7.18, which the conformance run uses, "
            "or WSSIDE_OLD_PYTHON=/path/to/python)"
        )
    python, version = old
    basic(tmp_path)
    code, report = run_doctor(tmp_path, env=env_for(WSSIDE_PYTHON=python))
    check = one(report, "interpreter")
    assert code == 1 and check["status"] == "fail"
    assert check["message"].startswith(
        f"{python} (the WSSIDE_PYTHON variable) is Python {version}."
    )
    assert check["message"].endswith(", and wsside needs Python 3.10 or later")
    assert check["fix"].startswith(
        "point the WSSIDE_PYTHON variable at a Python 3.10 or later that has wsside installed"
    )
    assert "pip install" not in check["fix"]


def test_interpreter_that_does_not_exist(tmp_path: Path) -> None:
    basic(tmp_path)
    missing = tmp_path / "nowhere" / "python"
    _, report = run_doctor(tmp_path, env=env_for(WSSIDE_PYTHON=str(missing)))
    check = one(report, "interpreter")
    assert check["status"] == "fail"
    assert check["message"] == f"{missing} (the WSSIDE_PYTHON variable) does not exist"
    assert check["fix"] == (
        "point the WSSIDE_PYTHON variable at a Python that has wsside installed"
    )


def test_shim_missing(tmp_path: Path) -> None:
    basic(tmp_path)
    code, report = run_doctor(tmp_path)
    check = one(report, "shim")
    assert code == 1 and check["status"] == "fail"
    assert check["fix"] == "npm install -D vite-plugin-wsside"


def test_shim_version_mismatch(tmp_path: Path) -> None:
    basic(
        tmp_path,
        **{
            "node_modules/vite-plugin-wsside/package.json": json.dumps(
                {"name": "vite-plugin-wsside", "version": "9.0.0"}
            ),
            "node_modules/vite-plugin-wsside/lib/protocol.js": (
                f"export const PROTOCOL_VERSION = {PROTOCOL_VERSION + 1}\n"
            ),
        },
    )
    code, report = run_doctor(tmp_path)
    check = one(report, "shim")
    assert code == 1 and check["status"] == "fail"
    assert check["message"] == (
        f"mismatched versions: vite-plugin-wsside 9.0.0 (control "
        f"protocol {PROTOCOL_VERSION + 1}), wsside {__version__} (control protocol "
        f"{PROTOCOL_VERSION})"
    )
    # Each side's release line, in its own tool's syntax, into the Python doctor runs in.
    line = ".".join(__version__.split(".")[:2])
    assert check["fix"] == (
        f"install matching versions: npm install -D 'vite-plugin-wsside@~{line}.0', or "
        f"{shlex.quote(sys.executable)} -m pip install 'wsside==9.0.*'"
    )


def test_node_is_checked_against_the_shim_s_own_engines(tmp_path: Path) -> None:
    """Vite 6 runs on node 20.10, but the plugin needs what its package.json says."""
    shim = REPO / "node_shim"
    package = json.loads((shim / "package.json").read_text())
    needs = package["engines"]["node"]
    basic(
        tmp_path,
        **{
            "fakebin/node": "#!/bin/sh\necho v20.10.0\n",
            "node_modules/vite/package.json": json.dumps(
                {"name": "vite", "version": "6.4.2", "engines": {"node": "^18.0.0 || >=20.0.0"}}
            ),
            "node_modules/vite-plugin-wsside/package.json": (shim / "package.json").read_text(),
            "node_modules/vite-plugin-wsside/lib/protocol.js": (
                shim / "lib/protocol.js"
            ).read_text(),
        },
    )
    (tmp_path / "fakebin" / "node").chmod(0o755)
    env = env_for(PATH=f"{tmp_path / 'fakebin'}:{env_for()['PATH']}")
    code, report = run_doctor(tmp_path, env=env)
    check = one(report, "node")
    assert code == 1 and check["status"] == "fail"
    assert check["message"] == (
        f"node 20.10.0; vite-plugin-wsside {package['version']} needs {needs}"
    )
    assert check["fix"] == f"install a Node.js version matching {needs}"


def test_vite_with_known_advisories(tmp_path: Path) -> None:
    basic(tmp_path, **{"node_modules/vite/package.json": '{"name": "vite", "version": "6.0.1"}'})
    _, report = run_doctor(tmp_path)
    check = one(report, "vite")
    assert check["status"] == "warn"
    assert "CVE-2025-24010" in check["message"] and "CVE-2026-39363" in check["message"]
    assert check["fix"] == "npm install -D vite@^6"


def test_vite_older_than_the_shim_supports(tmp_path: Path) -> None:
    shim = REPO / "node_shim"
    basic(
        tmp_path,
        **{
            "node_modules/vite/package.json": '{"name": "vite", "version": "5.4.11"}',
            "node_modules/vite-plugin-wsside/package.json": (shim / "package.json").read_text(),
            "node_modules/vite-plugin-wsside/lib/protocol.js": (
                shim / "lib/protocol.js"
            ).read_text(),
        },
    )
    code, report = run_doctor(tmp_path)
    peer = json.loads((shim / "package.json").read_text())["peerDependencies"]["vite"]
    check = one(report, "vite")
    assert code == 1 and check["status"] == "fail"
    assert check["message"] == f"Vite 5.4.11; vite-plugin-wsside supports {peer}"
    # Vite 5's own part of the range: the whole of it would have npm install the newest major.
    assert check["fix"] == "npm install -D 'vite@^5.4.12'"
    assert one(report, "shim")["status"] == "pass"


HMR_UNDER_PREFIX = SIMPLE_VITE_CONFIG.replace(
    "plugins: [wsside()],", "plugins: [wsside()],\n  server: { hmr: { path: '/api/hmr' } },"
)


@pytest.mark.parametrize("major", ["7", "8"])
def test_hmr_path_left_to_vite_reads_the_same_resolved_or_as_text(
    tmp_path: Path, major: str
) -> None:
    # Vite 7 resolves an unset server.hmr to nothing (read as `true`), Vite 8 to an object.
    shim_modules = REPO / "tests" / "shim" / "node_modules"
    vite = shim_modules / ("vite" if major == "8" else f"vite{major}")
    if not (vite / "package.json").is_file():
        pytest.skip("the shim tests' node_modules are not installed (make node-deps)")
    basic(tmp_path)
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "vite").symlink_to(vite.resolve(), target_is_directory=True)
    (modules / "vite-plugin-wsside").symlink_to(REPO / "node_shim", target_is_directory=True)
    link_modules(tmp_path, modules)
    _, report = run_doctor(tmp_path)
    assert f"Vite {major}." in one(report, "vite")["message"]
    assert "resolved by Vite" in one(report, "vite.config")["message"]
    check = one(report, "hmr path")
    assert check["status"] == "pass"
    assert check["message"] == "HMR path(s) / stay clear of /api"


def test_hmr_path_collision_read_as_text(tmp_path: Path) -> None:
    basic(tmp_path, **{"vite.config.js": HMR_UNDER_PREFIX})
    code, report = run_doctor(tmp_path)
    check = one(report, "hmr path")
    assert code == 1 and check["status"] == "fail"
    assert (
        check["message"] == "Vite's HMR socket path '/api/hmr' collides with the wsside "
        "prefix '/api'"
    )
    assert check["fix"].startswith("move server.hmr.path out of '/api'")


def test_hmr_path_collision_resolved_by_vite(tmp_path: Path, vite_modules: Path) -> None:
    basic(
        tmp_path,
        **{"vite.config.js": HMR_UNDER_PREFIX.replace("'/api/hmr'", "['/api', 'hmr'].join('/')")},
    )
    link_modules(tmp_path, vite_modules)
    _, report = run_doctor(tmp_path)
    assert "resolved by Vite" in one(report, "vite.config")["message"]
    assert one(report, "hmr path")["status"] == "fail"


@pytest.mark.parametrize(
    ("key", "status", "said"),
    [
        # wsside leaves to the proxy what a ws: true rule matches: a narrow rule works...
        ("/api/legacy", "pass", "(no handler is there); wsside serves the rest"),
        # ...one that takes an endpoint, or the whole prefix, hides it from wsside.
        ("/api/echo", "fail", "also claims '/api/echo' under the wsside prefix '/api'"),
        ("/api", "fail", "also claims '/api/echo' under the wsside prefix '/api'"),
        ("^/api/.*", "fail", "also claims '/api/echo' under the wsside prefix '/api'"),
    ],
)
def test_proxy_rules_under_the_prefix(tmp_path: Path, key: str, status: str, said: str) -> None:
    config = SIMPLE_VITE_CONFIG.replace(
        "plugins: [wsside()],",
        f"""plugins: [wsside()],
  server: {{ proxy: {{ '{key}': {{ target: 'ws://127.0.0.1:9', ws: true }},
                     '/other': {{ target: 'ws://127.0.0.1:9', ws: true }} }} }},""",
    )
    basic(tmp_path, **{"vite.config.js": config})
    _, report = run_doctor(tmp_path)
    (check,) = checks(report, "proxy")
    assert check["status"] == status and f"server.proxy[{key!r}]" in check["message"]
    assert said in check["message"], check["message"]
    if status == "fail":
        assert check["fix"].startswith(f"narrow server.proxy[{key!r}]")


def with_options(options: str) -> str:
    return SIMPLE_VITE_CONFIG.replace("wsside()", f"wsside({options})")


def test_prefix_only_in_config_file_misses_the_client(tmp_path: Path) -> None:
    # The server follows wsside.toml; the browser client only the plugin's option (else /api).
    basic(tmp_path, **{"wsside.toml": 'prefix = "/rt"\n'})
    check = one(run_doctor(tmp_path)[1], "client prefix")
    assert check["status"] == "warn"
    assert check["message"] == (
        'wsside.toml sets prefix "/rt", but the browser client uses "/api" '
        "(wsside() in vite.config sets no prefix): outside the server's prefix, no one "
        "answers its upgrades under Vite, and its sockets stay connecting"
    )
    assert check["fix"] == (
        "set prefix: '/rt' in wsside() in vite.config (the server follows it too), "
        "or pass url to connect()"
    )


def test_the_config_beside_the_plugins_handlers_folder_is_the_sidecars(tmp_path: Path) -> None:
    """`wsside serve` finds a config in the project, else beside the handlers folder the
    plugin names: doctor reads the same file."""
    write(
        tmp_path,
        {
            "vite.config.js": with_options("{ handlers: 'backend/ws' }"),
            "backend/wsside.toml": 'prefix = "/rt"\n',
            "backend/ws/echo.py": ECHO,
        },
    )
    _, report = run_doctor(tmp_path)
    assert "backend/wsside.toml" in one(report, "config")["message"], one(report, "config")
    check = one(report, "client prefix")
    assert check["status"] == "warn" and 'wsside.toml sets prefix "/rt"' in check["message"]


def test_a_handlers_folder_above_the_project_is_named_without_a_detour(tmp_path: Path) -> None:
    """As the plugin resolves it: `apps/web/../../services/realtime` is
    `services/realtime`, one folder, shown from the project as Vite's terminal shows it."""
    web = tmp_path / "apps" / "web"
    write(web, {"vite.config.js": with_options("{ handlers: '../../services/realtime' }")})
    write(tmp_path, {"services/realtime/echo.py": ECHO})
    _, report = run_doctor(web)
    check = one(report, "handlers folder")
    assert check["message"].startswith("../../services/realtime/: 1 handler file(s)"), check


# The plugin runs the one wsside() call that is code: not the ones in comments, and a `//`
# inside a string, or a `/*` or a quote inside a regular expression, starts nothing.
COMMENTED_OUT = """\
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

/* wsside({ handlers: 'oldest' }) */
const slashes = /[/*]/, quote = /'/  // a regular expression's /* or ' starts nothing
export default defineConfig({
  // was: wsside({ handlers: 'old' }),
  define: { NOTE: JSON.stringify('see // below') }, plugins: [wsside({ handlers: 'api' })],
})
"""
ASTRO_COMMENTED_OUT = """\
import { defineConfig } from 'astro/config'
import wsside from 'vite-plugin-wsside'

export default defineConfig({
  // vite: { plugins: [wsside({ handlers: 'old' })] },
  vite: { plugins: [wsside({ handlers: 'api' })] },
})
"""


def test_wsside_types_reads_the_handlers_option_past_comments(tmp_path: Path) -> None:
    write(tmp_path, {"vite.config.js": COMMENTED_OUT, "api/echo.py": ECHO})
    done = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "types"],
        cwd=tmp_path,
        env=env_for(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "the wsside handlers in api/" in done.stdout, done.stdout


def test_doctor_reads_an_astro_config_past_comments(tmp_path: Path) -> None:
    write(tmp_path, {"astro.config.mjs": ASTRO_COMMENTED_OUT, "api/echo.py": ECHO})
    _, report = run_doctor(tmp_path, "--no-live")
    check = one(report, "handlers folder")
    assert check["message"].startswith("api/: 1 handler file(s)"), check


def test_under_astro_the_fix_names_the_config_that_holds_the_option(tmp_path: Path) -> None:
    """The plugin's options live in astro.config.mjs there: "in vite.config" sent the user
    to a file Astro never reads."""
    config = ASTRO_COMMENTED_OUT.replace("handlers: 'api'", "handlers: 'apii'")
    write(tmp_path, {"astro.config.mjs": config, "api/echo.py": ECHO})
    _, report = run_doctor(tmp_path, "--no-live")
    check = one(report, "handlers folder")
    assert check["fix"].startswith(
        "set the `handlers` option of wsside() in astro.config.mjs to 'api'"
    ), check


RT, API, HANDLERS = 'prefix = "/rt"\n', 'prefix = "/api"\n', 'handlers = "ws"\n'
# id: (config file text, wsside() options, status, text in the message or fix). A text that
# starts with [tool.wsside] goes to pyproject.toml instead of wsside.toml.
CLIENT_PREFIX_CASES = {
    "agree": (API, "", "pass", 'the client\'s "/api" is served'),
    "agree-by-option": (RT, "{ prefix: '/rt/' }", "pass", "'/rt' sets client and server"),
    "no-config-prefix": (HANDLERS, "", "pass", 'no prefix; client and server use "/api"'),
    "no-config-prefix-option": (HANDLERS, "{ prefix: 'rt' }", "pass", 'server use "/rt"'),
    # Several prefixes: the server serves them all, the client uses the plugin's first only.
    "list-with-api": ('prefix = ["/ws", "/api"]\n', "", "pass", '"/api" is served'),
    "list-without-api": ('prefix = ["/rt", "/ws"]\n', "", "warn", "prefix: ['/rt', '/ws'] in"),
    "option-list": (API, "{ prefix: ['/rt', '/ws'] }", "pass", 'over wsside.toml\'s "/api"'),
    "pyproject": (
        "[tool.wsside]\n" + RT,
        "",
        "warn",
        'pyproject.toml [tool.wsside] sets prefix "/rt"',
    ),
    # Prefixes doctor cannot read as text: not compared, rather than a false warning.
    "option-variable": (RT, "{ prefix: base }", "pass", "not a literal"),
    "option-spread": (RT, "{ ...shared }", "pass", "not a literal"),
    "options-variable": (RT, "options", "pass", "not a literal"),
}


@pytest.mark.parametrize(
    "config, options, status, text", CLIENT_PREFIX_CASES.values(), ids=CLIENT_PREFIX_CASES
)
def test_client_prefix_against_the_config_file(
    tmp_path: Path, config: str, options: str, status: str, text: str
) -> None:
    basic(tmp_path, **{"vite.config.js": with_options(options)})
    if config.startswith("[tool.wsside]"):
        (tmp_path / "wsside.toml").unlink()
        write(tmp_path, {"pyproject.toml": config})
    else:
        write(tmp_path, {"wsside.toml": config})
    check = one(run_doctor(tmp_path)[1], "client prefix")
    assert check["status"] == status and text in check["message"] + check["fix"], check


def test_client_prefix_resolved_by_vite(tmp_path: Path, vite_modules: Path) -> None:
    # Vite reads the computed option the text heuristic cannot.
    basic(
        tmp_path,
        **{
            "wsside.toml": 'prefix = "/rt"\n',
            "vite.config.js": with_options("{ prefix: ['/r', 't'].join('') }"),
        },
    )
    link_modules(tmp_path, vite_modules)
    _, report = run_doctor(tmp_path)
    assert "resolved by Vite" in one(report, "vite.config")["message"]
    assert (
        one(report, "client prefix")["message"] == "wsside()'s prefix '/rt' sets client and server"
    )
    write(tmp_path, {"vite.config.js": SIMPLE_VITE_CONFIG})
    check = one(run_doctor(tmp_path)[1], "client prefix")
    assert check["status"] == "warn" and check["message"].startswith(
        'wsside.toml sets prefix "/rt"'
    )


def test_stale_sidecar_found_and_ended(tmp_path: Path) -> None:
    basic(tmp_path)
    pid = spawn_orphan(tmp_path)
    try:
        code, report = run_doctor(tmp_path, "--fix", stdin="n\n")
        check = one(report, "sidecar processes")
        assert code == 1 and check["status"] == "fail" and f"pid {pid}" in check["message"]
        assert check["fix"].startswith("wsside doctor --fix")
        assert psutil.pid_exists(pid), "refusing the prompt must spare the process"

        _, report = run_doctor(tmp_path, "--fix", "--yes")
        assert one(report, "sidecar processes")["status"] == "pass"
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        if psutil.pid_exists(pid):
            psutil.Process(pid).kill()


def test_no_dev_server(tmp_path: Path) -> None:
    port = free_port()
    basic(
        tmp_path,
        **{
            "vite.config.js": SIMPLE_VITE_CONFIG.replace(
                "plugins: [wsside()],", f"plugins: [wsside()],\n  server: {{ port: {port} }},"
            )
        },
    )
    _, report = run_doctor(tmp_path)
    check = one(report, "dev server")
    assert check["status"] == "warn" and "live handshake was skipped" in check["message"]
    assert check["fix"].startswith("start the dev server in this project (`npm run dev`")
    assert not [c for c in report["checks"] if c["name"].startswith("live ")]

    code, report = run_doctor(tmp_path, "--url", f"http://127.0.0.1:{port}")
    check = one(report, "dev server")
    assert code == 1 and check["status"] == "fail"
    assert check["fix"] == "start it (`npm run dev`, or `npx vite`), or fix the --url"


def test_crashing_check_becomes_a_warning(tmp_path: Path) -> None:
    def check_explodes(project: Project) -> Check:
        raise RuntimeError("boom")

    (result,) = run_checks(Project(tmp_path), [check_explodes])
    assert result.name == "explodes" and result.status == "warn"
    assert "RuntimeError: boom" in result.message


HTTPS_VITE_CONFIG = """\
import fs from 'node:fs'
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

export default defineConfig({
  plugins: [wsside()],
  server: { https: { key: fs.readFileSync('key.pem'), cert: fs.readFileSync('cert.pem') } },
})
"""


@pytest.mark.slow
def test_a_running_vite_preview_is_named_as_such_and_probed(
    tmp_path: Path, vite_modules: Path
) -> None:
    # `vite preview` answers /@vite/client with the built index.html (a single-page app's
    # fallback), where the dev server sends its client script.
    basic(tmp_path, **{"dist/index.html": "<!doctype html><title>built</title>"})
    link_modules(tmp_path, vite_modules)
    env = env_for()
    for _ in start_vite(tmp_path, free_port(), env, command=("preview",)):
        _, report = run_doctor(tmp_path, env=env)
        server = one(report, "dev server")
        assert server["status"] == "pass"
        assert "(the `vite preview` process of" in server["message"], server
        assert one(report, "live /api/echo")["message"].startswith("101 in ")


# Endpoints with variables: each on_connect raises (a 1011, so a warning row) unless it got
# the sample path the doctor names, with the doctor's User-Agent.
ROOMS = """\
from wsside import Handler

def expect(**params):
    def on_connect(conn, request):
        if conn.params != params or request.headers.get("user-agent") != "wsside-doctor":
            raise RuntimeError(f"got {conn.params} from {request.headers.get('user-agent')}")
    return on_connect

Handler("/rooms/{id}").on_connect(expect(id="doctor"))
Handler(r"/polls/{poll:\\d+}").on_connect(expect(poll="1"))
Handler("/files/*.txt").on_connect(expect())
Handler("/codes/{code:[A-Z]{3}}")
Handler("/tables/doctor")
Handler("/tables/{table}").on_connect(expect(table="x"))
Handler("/salão/{sala}").on_connect(expect(sala="doctor"))  # sent as a browser encodes it
"""


@pytest.mark.slow
@pytest.mark.parametrize("https", [False, True], ids=["hand-over", "https-pipe"])
def test_healthy_project_passes_live_through_vite(
    tmp_path: Path, vite_modules: Path, https: bool
) -> None:
    basic(tmp_path, **{"ws/room.py": ROOMS})
    if https:
        certificate(tmp_path)
        write(tmp_path, {"vite.config.js": HTTPS_VITE_CONFIG})
    link_modules(tmp_path, vite_modules)
    env = env_for()
    for _ in start_vite(tmp_path, free_port(), env):
        code, report = run_doctor(tmp_path, env=env)
        bad = [c for c in report["checks"] if c["status"] != "pass"]
        assert code == 0 and not bad, bad
        live = one(report, "live /api/echo")
        assert live["message"].startswith("101 in ") and "ping" in live["message"]
        assert live["message"].endswith(", via pipe" if https else ", via handover")
        # A pattern with variables or wildcards is probed at a path it matches, which the row
        # names; one that no sample value fits is not, and the row says why.
        for name, probed in [
            ("/api/rooms/{id}", "/api/rooms/doctor"),
            ("/api/polls/{poll:\\d+}", "/api/polls/1"),
            ("/api/files/*.txt", "/api/files/doctor.txt"),
            # /api/tables/doctor would reach the /tables/doctor declared first.
            ("/api/tables/{table}", "/api/tables/x"),
            ("/api/salão/{sala}", "/api/salão/doctor"),
        ]:
            row = one(report, f"live {name}")["message"]
            assert row.startswith("101 in ") and "ping" in row, (name, row)
            assert row.endswith(f" (probed as {probed})"), (name, row)
        assert one(report, "live /api/codes/{code:[A-Z]{3}}")["message"] == (
            "not probed (no sample value fits {code:[A-Z]{3}})"
        )
        server = one(report, "dev server")["message"]
        assert server.startswith("https://" if https else "http://")
        assert "the dev server process of" in server
        assert one(report, "forwarding")["message"].startswith("pipe" if https else "hand-over")
        assert len(report["checks"]) >= len(CHECKS)


@pytest.mark.slow
def test_a_dev_server_with_a_base_is_found_and_probed(tmp_path: Path, vite_modules: Path) -> None:
    """With `base: '/app/'`, Vite answers /@vite/client with a 404 (its client is at
    /app/@vite/client): the running dev server is still found, by itself and by --url, and
    the endpoints, which stay at the host's root, answer."""
    config = SIMPLE_VITE_CONFIG.replace("defineConfig({", "defineConfig({\n  base: '/app/',")
    basic(tmp_path, **{"vite.config.js": config})
    link_modules(tmp_path, vite_modules)
    env = env_for()
    port = free_port()
    for _ in start_vite(tmp_path, port, env):
        for args in [
            (),
            ("--url", f"http://localhost:{port}"),
            ("--url", f"http://localhost:{port}/app/"),
        ]:
            code, report = run_doctor(tmp_path, *args, env=env)
            server = one(report, "dev server")
            assert server["status"] == "pass", (args, server)
            live = one(report, "live /api/echo")
            assert live["message"].startswith("101 in "), (args, live)
            assert code == 0, report


@pytest.mark.slow
def test_an_endpoint_that_closes_at_once_is_a_warning(tmp_path: Path, vite_modules: Path) -> None:
    """The handshake answers 101, then on_connect raises and the connection closes with 1011:
    the probe says so rather than pass."""
    broken = (
        "from wsside import Handler\n"
        "h = Handler('/broken')\n\n"
        "@h.on_connect\n"
        "def hello(conn, request):\n"
        "    raise RuntimeError('no database')\n"
    )
    basic(tmp_path, **{"ws/broken.py": broken})
    link_modules(tmp_path, vite_modules)
    env = env_for()
    for _ in start_vite(tmp_path, free_port(), env):
        _, report = run_doctor(tmp_path, env=env)
        assert one(report, "live /api/echo")["status"] == "pass"
        live = one(report, "live /api/broken")
        assert live["status"] == "warn", live
        assert live["message"].endswith(
            'then the server closed it at once with 1011 "Internal error": its on_connect '
            "raised, most likely"
        ), live
        assert live["fix"] == "see the error in Vite's terminal (or the overlay) for where"


@pytest.mark.slow
def test_a_dev_server_started_with_host_is_said_to_be_exposed(
    tmp_path: Path, vite_modules: Path
) -> None:
    """`vite --host` overrides a vite.config that keeps the server on loopback: the exposure
    check says what the running server does, not only what the config says. (Vite listens on
    every interface for this test; the doctor only talks to it on localhost.)"""
    basic(tmp_path)
    link_modules(tmp_path, vite_modules)
    env = env_for()
    port = free_port()
    for _ in start_vite(tmp_path, port, env, host="0.0.0.0"):
        _, report = run_doctor(tmp_path, env=env)
        check = one(report, "exposure")
        assert check["status"] == "warn", check
        assert check["message"] == (
            f"the dev server running now (http://localhost:{port}) listens on 0.0.0.0, not on "
            "loopback as server.host in the config has it (`--host` on its command line?): it "
            "and wsside's handlers are reachable from other machines; clients without Origin "
            "are refused"
        )
        assert check["fix"] == "start it without --host unless you need it"
        assert one(report, "live /api/echo")["message"].startswith("101 in ")


@pytest.mark.slow
def test_an_interpreter_other_than_the_running_vite_s_is_a_warning(
    tmp_path: Path, vite_modules: Path
) -> None:
    """Vite started where WSSIDE_PYTHON names the venv; doctor run from a terminal whose
    environment gives the plugin another Python, one without wsside: not a failure of the
    project, but two terminals that disagree, and doctor names the interpreter Vite uses."""
    basic(tmp_path)
    link_modules(tmp_path, vite_modules)
    other = shutil.which("python3", path="/usr/bin")
    if other is None or subprocess.run([other, "-c", "import wsside"]).returncode == 0:
        pytest.skip("needs a /usr/bin/python3 without wsside")
    for vite in start_vite(tmp_path, free_port(), env_for()):
        code, report = run_doctor(tmp_path, env=env_for(WSSIDE_PYTHON=other))
        check = one(report, "interpreter")
        assert check["status"] == "warn", check
        assert check["message"].startswith(
            f"{other} (the WSSIDE_PYTHON variable) cannot import wsside"
        )
        assert check["message"].endswith(
            f"; the Vite running now (pid {vite.pid}) runs its sidecar with {VENV_PYTHON}: "
            "its environment chooses another interpreter than this one"
        )
        assert check["fix"].startswith(f"check that one with WSSIDE_PYTHON={VENV_PYTHON} ")
    # With no Vite running, the same environment is a failure.
    code, report = run_doctor(tmp_path, env=env_for(WSSIDE_PYTHON=other))
    assert (code, one(report, "interpreter")["status"]) == (1, "fail")


@pytest.mark.parametrize(
    "server, name, status, text",
    [
        ("https: { key: k, cert: c }", "forwarding", "pass", "pipe over a Unix socket"),
        ("port: 5999", "forwarding", "pass", "hand-over"),
        ("allowedHosts: true", "exposure", "warn", "DNS rebinding"),
        ("host: '0.0.0.0'", "exposure", "warn", 'server.host is "0.0.0.0"'),
        ("middlewareMode: true", "middleware mode", "warn", "cannot see WebSocket upgrades"),
    ],
)
def test_vite_server_options(
    tmp_path: Path, server: str, name: str, status: str, text: str
) -> None:
    basic(
        tmp_path,
        **{
            "vite.config.js": SIMPLE_VITE_CONFIG.replace(
                "plugins: [wsside()],", f"plugins: [wsside()],\n  server: {{ {server} }},"
            )
        },
    )
    (check,) = checks(run_doctor(tmp_path)[1], name)
    assert check["status"] == status and text in check["message"]


def test_semver_ranges_and_shadowing_samples() -> None:
    from wsside import Handler
    from wsside._runtime.shadowed import shadowings
    from wsside.doctor.samples import sample_paths
    from wsside.doctor.semver import satisfies
    from wsside.pattern import Pattern

    assert satisfies("20.20.2", "^20.19.0 || >=22.12.0") is True
    assert satisfies("20.18.1", "^20.19.0 || >=22.12.0") is False
    assert satisfies("6.0.9", ">=6.0.9") is True and satisfies("0.2.0", "^0.1.0") is False
    assert satisfies("8.3.8", "workspace:*") is None
    assert sample_paths(Pattern("/ws/{id:\\d+}")) == ["/ws/1", "/ws/42"]
    earlier, later = Handler("/a/**/b"), Handler("/a/b")
    [shadowing] = shadowings([earlier, later])
    assert shadowing.earlier is earlier and shadowing.later is later
    assert shadowings([Handler("/ws/{id:\\d+}"), Handler("/ws/{name}")]) == []
    assert shadowings([Handler("/ws/chat"), Handler("/ws/*")]) == []


def test_importing_with_a_timeout_leaves_the_callers_timer_and_handler(tmp_path: Path) -> None:
    import signal

    from wsside.doctor.imports import import_within

    (tmp_path / "ok.py").write_text("from wsside import Handler\nHandler('/ok')\n")

    def theirs(signum: int, frame: object) -> None:
        raise AssertionError("the caller's timer fired during the test")

    before = signal.signal(signal.SIGALRM, theirs)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        result = import_within(tmp_path / "ok.py", tmp_path, 5.0)
        assert result.error is None and [h.pattern.source for h in result.handlers] == ["/ok"]
        assert signal.getsignal(signal.SIGALRM) is theirs
        assert 25.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


def test_the_search_for_the_project_stops_below_a_folder_anyone_may_write(
    tmp_path: Path,
) -> None:
    """Run from a folder with no vite.config of its own inside a shared /tmp, the doctor
    looked upwards and ran what another user planted there: their vite.config, their handler
    files. The search stops below a world-writable folder (and one another user owns)."""
    shared = tmp_path / "shared"
    marker = tmp_path / "ran"
    write(
        shared,
        {
            "vite.config.js": "export default {}\n",
            "ws/planted.py": f"open({str(marker)!r}, 'w').close()\n",
        },
    )
    shared.chmod(0o1777)  # as /tmp is
    mine = shared / "mine" / "sub"
    mine.mkdir(parents=True)
    _, report = run_doctor(mine)
    assert report["root"] == str(mine)
    assert not marker.exists()
    # The same project, in a folder only its owner may write, is found from below.
    shared.chmod(0o755)
    _, report = run_doctor(mine)
    assert report["root"] == str(shared)
    assert marker.exists()
