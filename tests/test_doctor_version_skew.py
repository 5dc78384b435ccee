"""`wsside doctor`'s shim check compares the plugin with the wsside of the interpreter Vite will
run the sidecar with (the project's .venv), not with the doctor's own: run from another
environment (pipx, another venv), it names the mismatch Vite will meet."""

from __future__ import annotations

import json
import shutil
import sysconfig
import venv
from pathlib import Path

import pytest

from doctor_projects import REPO, SIMPLE_VITE_CONFIG, env_for, one, run_doctor, write
from wsside import __version__
from wsside._edge.control import PROTOCOL_VERSION

SHIM = REPO / "node_shim"
PLUGIN = json.loads((SHIM / "package.json").read_text())["version"]


def _other_line() -> str:
    major, minor = (int(n) for n in __version__.split(".")[:2])
    return f"{major}.{minor + 1}.0"


def _line(version: str) -> str:
    """The release line of `version`: `0.1` of `0.1.0`."""
    return ".".join(version.split(".")[:2])


def _project(root: Path, version: str, protocol: int) -> Path:
    """A project with the shim of this repository installed and a .venv beside vite.config whose
    wsside is a copy of this one at `version`, speaking `protocol` (the rest of its packages
    are this venv's). Returns that .venv's python."""
    write(
        root,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "ws/echo.py": 'from wsside import Handler\n\necho = Handler("/echo")\n',
            "node_modules/vite-plugin-wsside/package.json": (SHIM / "package.json").read_text(),
            "node_modules/vite-plugin-wsside/lib/protocol.js": (
                SHIM / "lib" / "protocol.js"
            ).read_text(),
        },
    )
    src = root / "other-wsside"
    shutil.copytree(
        REPO / "sidecar" / "wsside", src / "wsside", ignore=shutil.ignore_patterns("__pycache__")
    )
    init = src / "wsside" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{__version__}"', f'"{version}"', 1))
    control = src / "wsside" / "_edge" / "control.py"
    control.write_text(
        control.read_text().replace(
            f"PROTOCOL_VERSION = {PROTOCOL_VERSION}", f"PROTOCOL_VERSION = {protocol}", 1
        )
    )
    folder = root / ".venv"
    venv.create(folder, with_pip=False, symlinks=True)
    (site,) = (folder / "lib").glob("python*/site-packages")
    # The copy first; then this venv's packages (aiohttp...), whose .pth files are not read.
    (site / "other.pth").write_text(f"{src}\n{sysconfig.get_paths()['purelib']}\n")
    return folder / "bin" / "python"


def _doctor(root: Path) -> dict[str, str]:
    env = env_for()
    del env["WSSIDE_PYTHON"]  # the .venv beside vite.config, as the plugin finds it
    _, report = run_doctor(root, env=env)
    return one(report, "shim")


def test_another_protocol_in_the_project_s_venv_fails_though_the_doctor_s_own_matches(
    tmp_path: Path,
) -> None:
    theirs = _other_line()
    python = _project(tmp_path, theirs, PROTOCOL_VERSION + 1)
    check = _doctor(tmp_path)
    assert check["status"] == "fail", check
    assert check["message"] == (
        f"mismatched versions: vite-plugin-wsside {PLUGIN} (control protocol "
        f"{PROTOCOL_VERSION}), wsside {theirs} (control protocol {PROTOCOL_VERSION + 1}) "
        f"of {python}, which Vite's sidecar will run"
    )
    assert check["fix"] == (
        f"install matching versions: npm install -D 'vite-plugin-wsside@~{theirs}', "
        f"or {python} -m pip install 'wsside=={_line(PLUGIN)}.*'"
    )


def test_another_release_line_in_the_project_s_venv_warns_with_both_commands(
    tmp_path: Path,
) -> None:
    theirs = _other_line()
    python = _project(tmp_path, theirs, PROTOCOL_VERSION)
    check = _doctor(tmp_path)
    assert check["status"] == "warn", check
    assert check["message"] == (
        f"different release lines: vite-plugin-wsside {PLUGIN} (control protocol "
        f"{PROTOCOL_VERSION}), wsside {theirs} (control protocol {PROTOCOL_VERSION}) "
        f"of {python}, which Vite's sidecar will run"
    )
    assert check["fix"] == (
        f"npm install -D 'vite-plugin-wsside@~{theirs}', "
        f"or {python} -m pip install 'wsside=={_line(PLUGIN)}.*'"
    )


def test_the_same_wsside_in_the_project_s_venv_passes_and_says_whose(tmp_path: Path) -> None:
    python = _project(tmp_path, __version__, PROTOCOL_VERSION)
    check = _doctor(tmp_path)
    assert check["status"] == "pass", check
    assert check["message"] == (
        f"vite-plugin-wsside {PLUGIN} (control protocol {PROTOCOL_VERSION}), wsside "
        f"{__version__} (control protocol {PROTOCOL_VERSION}) of {python}, which Vite's "
        "sidecar will run"
    )


def test_an_interpreter_that_cannot_be_asked_is_said_so(tmp_path: Path) -> None:
    """A .venv without wsside: compared with this doctor's, saying so (the interpreter check
    says why that one cannot run the sidecar)."""
    python = _project(tmp_path, __version__, PROTOCOL_VERSION)
    (next((tmp_path / ".venv" / "lib").glob("python*/site-packages")) / "other.pth").unlink()
    check = _doctor(tmp_path)
    assert check["message"] == (
        f"vite-plugin-wsside {PLUGIN} (control protocol {PROTOCOL_VERSION}), wsside "
        f"{__version__} (control protocol {PROTOCOL_VERSION}) of this doctor: {python}, which "
        "Vite's sidecar will run, could not be asked (see the interpreter check)"
    )


def test_a_newer_wsside_in_the_venv_is_not_told_to_install_the_doctor_s_older_one(
    tmp_path: Path,
) -> None:
    # `pip install -U` of the doctor's own release would have been a downgrade.
    theirs = _other_line()
    python = _project(tmp_path, theirs, PROTOCOL_VERSION)
    env = env_for()
    del env["WSSIDE_PYTHON"]
    _, report = run_doctor(tmp_path, env=env)
    check = one(report, "interpreter")
    assert check["status"] == "warn", check
    assert check["message"].endswith(
        f"with wsside {theirs}, but this doctor is wsside {__version__}"
    )
    assert check["fix"] == (
        f"run that interpreter's own doctor, which is newer: `{python} -m wsside doctor`"
    ), check


PEER = json.loads((SHIM / "package.json").read_text())["peerDependencies"]["vite"]


def _alternative(major: str) -> str:
    (found,) = (a.strip() for a in PEER.split("||") if a.strip().startswith(f"^{major}."))
    return found


@pytest.mark.parametrize(
    ("vite", "wanted"),
    [("5.4.11", _alternative("5")), ("6.0.8", _alternative("6")), ("4.5.3", PEER)],
)
def test_a_vite_outside_the_peer_range_is_told_the_range_of_its_own_major(
    tmp_path: Path, vite: str, wanted: str
) -> None:
    # The whole range would have npm install the newest major (Vite 8 for a Vite 5 user).
    write(
        tmp_path,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "ws/echo.py": 'from wsside import Handler\n\necho = Handler("/echo")\n',
            "node_modules/vite/package.json": json.dumps({"name": "vite", "version": vite}),
            "node_modules/vite-plugin-wsside/package.json": (SHIM / "package.json").read_text(),
        },
    )
    _, report = run_doctor(tmp_path, "--no-live")
    check = one(report, "vite")
    assert check["status"] == "fail", check
    assert check["message"] == f"Vite {vite}; vite-plugin-wsside supports {PEER}"
    assert check["fix"] == f"npm install -D 'vite@{wanted}'"
