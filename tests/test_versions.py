"""The dependency ranges: pyproject.toml, the checks in the code and the floor run agree, and an
unsupported aiohttp or typer ends `wsside` with one line naming the supported range.

The unsupported versions are faked inside a real `wsside` process, in front of the code that
reads them: the installed metadata of aiohttp and typer (read by `cli.main` before either is
imported) and aiohttp's `__version__` (read by `_io/engine.py` at import).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import wsside
from wsside._io import SUPPORTED, SUPPORTED_TEXT
from wsside.cli import TYPER_SUPPORTED, TYPER_SUPPORTED_TEXT
from wsside.doctor.checks_python import PYTHON_FLOOR

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def ranges(specs: list[str]) -> dict[str, str]:
    return {re.split(r"[<>=;\s]", spec, maxsplit=1)[0].lower(): spec for spec in specs}


RANGES = ranges(PROJECT["dependencies"])


def test_the_ranges_in_the_code_are_the_declared_ones() -> None:
    assert RANGES["aiohttp"] == f"aiohttp{SUPPORTED_TEXT}"
    assert RANGES["typer"] == f"typer{TYPER_SUPPORTED_TEXT}"


def _bounds(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """`>=3.14.4,<3.15` as ((3, 14, 4), (3, 15, 0))."""
    m = re.fullmatch(r">=([\d.]+),<([\d.]+)", text)
    assert m, text
    low, high = (tuple(int(n) for n in v.split(".")) for v in m.groups())
    return low + (0,) * (3 - len(low)), high + (0,) * (3 - len(high))


def test_the_ranges_checked_are_the_ranges_named() -> None:
    # The version checks compare with the tuples; their messages and pyproject.toml say the text.
    assert _bounds(SUPPORTED_TEXT) == SUPPORTED
    assert _bounds(TYPER_SUPPORTED_TEXT) == TYPER_SUPPORTED


def test_the_python_floor_in_the_code_is_the_declared_one() -> None:
    """`wsside doctor` and the plugin name an interpreter below it as too old."""
    declared = re.fullmatch(r">=(\d+)\.(\d+)", PROJECT["requires-python"])
    assert declared, PROJECT["requires-python"]
    floor = (int(declared[1]), int(declared[2]))
    assert floor == PYTHON_FLOOR
    shim = (ROOT / "node_shim" / "lib" / "interpreter.js").read_text(encoding="utf-8")
    assert f"export const PYTHON_FLOOR = [{floor[0]}, {floor[1]}]" in shim


def test_the_floor_run_pins_every_floor() -> None:
    """Of the dependencies and of the extras the floor run installs."""
    text = (ROOT / "tests" / "floor-constraints.txt").read_text(encoding="utf-8")
    pins = dict(line.split("==") for line in text.splitlines() if line and not line.startswith("#"))
    # The extras `make test-floor` installs too: `$(call CORE_REQS,EXTRA ...) | ... -c
    # tests/floor-constraints.txt`.
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installed = re.search(
        r"CORE_REQS,([\w ]+)\) \| \S+ -m pip install -q -c tests/floor-c", makefile
    )
    assert installed, "Makefile: test-floor installs no extras with the floor constraints"
    walked = dict(RANGES)
    for extra in installed[1].split():
        walked.update(ranges(PROJECT["optional-dependencies"][extra]))
    for name, spec in walked.items():
        if "python_version" in spec:  # tomli: Python 3.10 only, where `make test-py310` runs
            continue
        floor = re.search(r">=([0-9.]+)", spec)
        assert floor, f"pyproject.toml: {spec!r} has no floor"
        assert pins.get(name) == floor.group(1), (
            f"tests/floor-constraints.txt pins {name}=={pins.get(name)}, "
            f"pyproject.toml's floor is {floor.group(1)}"
        )


def _wsside(*args: str, before: str = "") -> subprocess.CompletedProcess[str]:
    """`wsside ARGS` through its entry point, `cli.main`, after running `before`."""
    code = textwrap.dedent(before) + textwrap.dedent(
        f"""
        import sys
        sys.argv = ["wsside", *{list(args)!r}]
        from wsside.cli import main
        try:
            main()
        finally:
            print("typer loaded:", "typer" in sys.modules)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [(["version"], wsside.__version__), (["--help"], "serve"), (["serve", "--help"], "--port")],
)
def test_the_installed_command_answers(args: list[str], says: str) -> None:
    # The console script pip installed beside this interpreter (`make test` runs this with
    # the newest typer, `make test-floor` with its floor).
    command = Path(sys.executable).with_name("wsside")
    done = subprocess.run([command, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert says in done.stdout


def _aiohttp_line() -> list[str]:
    return [
        # pip into the Python that ran wsside, not whichever `pip` is first on PATH
        f"wsside needs aiohttp {SUPPORTED_TEXT}, found 3.12.0: "
        f"{shlex.quote(sys.executable)} -m pip install 'aiohttp{SUPPORTED_TEXT}'"
    ]


OLD_AIOHTTP_INSTALLED = (
    "from importlib import metadata\nreal = metadata.version\n"
    "metadata.version = lambda name: '3.12.0' if name == 'aiohttp' else real(name)\n"
)


@pytest.mark.parametrize("args", [("serve", "--help"), ("doctor", "--help"), ()])
def test_an_unsupported_aiohttp_is_one_line(args: tuple[str, ...]) -> None:
    """Read from its metadata before any command is loaded: `doctor` and `init` never import
    aiohttp, and are refused all the same."""
    done = _wsside(*args, before=OLD_AIOHTTP_INSTALLED)
    assert done.returncode == 1
    assert done.stderr.splitlines() == _aiohttp_line()
    assert "typer loaded: False" in done.stdout


def test_an_aiohttp_whose_own_version_is_unsupported_is_one_line_when_served(
    tmp_path: Path,
) -> None:
    """The engine's own check, as it imports aiohttp, when the metadata said otherwise."""
    before = "import aiohttp\naiohttp.__version__ = '3.12.0'\n"
    done = _wsside("serve", "--handlers", str(tmp_path), before=before)
    assert done.returncode == 1
    assert done.stderr.splitlines() == _aiohttp_line()


@pytest.mark.parametrize("args", [("--version",), ("version",)])
@pytest.mark.parametrize(
    "before",
    [
        OLD_AIOHTTP_INSTALLED,
        "from importlib import metadata\nreal = metadata.version\n"
        "metadata.version = lambda name: '0.15.4' if name == 'typer' else real(name)\n",
    ],
)
def test_the_version_answers_whatever_aiohttp_and_typer_are(
    args: tuple[str, ...], before: str
) -> None:
    # Asked which wsside an environment has, it says so; every other command stops.
    done = _wsside(*args, before=before)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == wsside.__version__


@pytest.mark.parametrize(
    ("fake", "found"),
    [
        ("lambda name: '0.15.4' if name == 'typer' else real(name)", "0.15.4"),
        ("lambda name: '0.30.0' if name == 'typer' else real(name)", "0.30.0"),
        ("lambda name: gone(name) if name == 'typer' else real(name)", "none"),
    ],
)
def test_an_unsupported_typer_is_one_line_and_never_imported(fake: str, found: str) -> None:
    before = f"""
        from importlib import metadata
        real = metadata.version
        def gone(name):
            raise metadata.PackageNotFoundError(name)
        metadata.version = {fake}
        """
    done = _wsside("serve", "--help", before=before)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"wsside needs typer {TYPER_SUPPORTED_TEXT}, found {found}: "
        f"{shlex.quote(sys.executable)} -m pip install 'typer{TYPER_SUPPORTED_TEXT}'"
    ]
    assert done.stdout.splitlines() == ["typer loaded: False"]
