"""A handler file that imports a module which cannot be found: the load error says which
Python runs the handlers and how to install into it, or, for a misspelt helper of the handlers
folder, where it was looked for. Through a real `wsside serve` and a real Vite."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from doctor_projects import (
    SIMPLE_VITE_CONFIG,
    env_for,
    link_modules,
    start_vite,
    vite_modules,
    write,
)
from serve_process import ServeProcess, free_port
from wsside.testing import serve

__all__ = ["vite_modules"]  # the session fixture, imported for pytest

MISSING = "wsside_no_such_package"
DECLARE = "from wsside import Handler\nh = Handler('/{name}')\n"
INSTALL = (
    f"No module named '{MISSING}': `{MISSING}` is not installed for the Python that runs the "
    f"handlers ({sys.executable}): `{sys.executable} -m pip install {MISSING}` (the package's "
    "name on PyPI may differ from the module's)"
)


async def load_error(project: Path, file: str) -> list[str]:
    """What `wsside serve` prints for the load error of `file`: its traceback, whose last line
    is the error's."""
    server = await ServeProcess.start("--port", str(free_port()), cwd=project)
    try:
        await server.expect(f"cannot load {file}:")
        start = len(server.lines)
        await server.expect("ModuleNotFoundError")
        return [line.rstrip("\n") for line in server.lines[start:]]
    finally:
        await server.stop()


async def test_a_package_not_installed_names_this_python_and_its_pip(tmp_path: Path) -> None:
    write(tmp_path, {"ws/needs.py": f"import {MISSING}\n" + DECLARE.format(name="needs")})
    printed = await load_error(tmp_path, "ws/needs.py")
    assert printed[-1] == f"ModuleNotFoundError: {INSTALL}"
    assert 'ws/needs.py", line 1' in printed[-3]


async def test_a_module_whose_package_has_another_name_gets_the_package_s_name(
    tmp_path: Path,
) -> None:
    """`import MySQLdb` is installed as mysqlclient (as `yaml` is PyYAML): the command names
    the package, without the "may differ" aside."""
    write(tmp_path, {"ws/db.py": "import MySQLdb\n" + DECLARE.format(name="db")})
    printed = await load_error(tmp_path, "ws/db.py")
    assert printed[-1] == (
        "ModuleNotFoundError: No module named 'MySQLdb': `MySQLdb` is not installed for the "
        f"Python that runs the handlers ({sys.executable}): `{sys.executable} -m pip install "
        "mysqlclient`"
    )


async def test_a_package_missing_in_a_helper_is_a_package_too(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "ws/_db.py": f"import {MISSING}\n",
            "ws/needs.py": "import _db\n" + DECLARE.format(name="needs"),
        },
    )
    # The helper did not load: the error is its own, at its line (needs.py did not load for it).
    printed = await load_error(tmp_path, "ws/_db.py")
    assert printed[-1] == f"ModuleNotFoundError: {INSTALL}"


@pytest.mark.parametrize(
    ("files", "said"),
    [
        (
            {"ws/_shared.py": "X = 1\n", "ws/greet.py": "import _sharde\n"},
            "No module named '_sharde': no `_sharde` in the handlers folder (ws): "
            "did you mean `_shared`?",
        ),
        (
            {"ws/greet.py": "import _nowhere\n"},
            "No module named '_nowhere': `_nowhere` is neither a helper in the handlers folder "
            f"(ws) nor installed for the Python that runs the handlers ({sys.executable}): "
            "check its name",
        ),
        (
            {"ws/_lib/__init__.py": "", "ws/greet.py": "import _lib.dbb\n"},
            "No module named '_lib.dbb': `_lib` is in the handlers folder (ws), `_lib.dbb` is "
            "not: check the import's spelling",
        ),
        (
            {"ws/rooms/_util.py": "X = 1\n", "ws/rooms/greet.py": "import _util\n"},
            "No module named '_util': `_util` is beside greet.py, but only the handlers folder "
            "(ws) is on the import path: `import rooms._util`",
        ),
        (
            {"utils.py": "X = 1\n", "ws/greet.py": "import util\n"},
            "No module named 'util': `util` is not installed for the Python that runs the "
            "handlers, nor in the current folder, which has `utils`: did you mean `utils`?",
        ),
    ],
    ids=["misspelt-helper", "unknown-helper", "local-package", "beside-the-file", "app-module"],
)
async def test_a_module_of_the_handlers_folder_gets_no_pip_command(
    tmp_path: Path, files: dict[str, str], said: str
) -> None:
    handler = next(name for name in files if name.endswith("greet.py"))
    files[handler] += DECLARE.format(name="greet")
    write(tmp_path, files)
    printed = await load_error(tmp_path, handler)
    assert printed[-1] == f"ModuleNotFoundError: {said}"


APP_MODULE = {
    "auth.py": "def user_for(token):\n    return token\n",
    "ws/chat.py": "from auth import user_for\n" + DECLARE.format(name="chat"),
}


async def test_the_app_s_own_module_beside_the_handlers_folder_imports_under_wsside_serve(
    tmp_path: Path,
) -> None:
    """As under `python -m wsside` (Vite's sidecar) and uvicorn, the `wsside` command puts the
    folder it runs in on the import path."""
    write(tmp_path, APP_MODULE)
    command = Path(sys.executable).with_name("wsside")
    proc = await asyncio.create_subprocess_exec(
        command,
        "serve",
        "--port",
        str(free_port()),
        "--no-reload",
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = ServeProcess(proc)
    try:
        await server.expect("serving on")
        assert not [line for line in server.lines if "cannot load" in line], server.lines
    finally:
        await server.stop()


async def test_the_app_s_own_module_off_the_import_path_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under pytest (whose import path has no project folder unless its ini says so) the
    load error names the folder, not a `pip install auth`."""
    write(tmp_path, APP_MODULE)
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path) not in sys.path
    with pytest.raises(ImportError) as refused:
        async with serve():
            raise AssertionError("not reached")
    assert (
        str(refused.value)
        .rstrip()
        .endswith(
            "No module named 'auth': `auth` is in the current folder, which is not on the import "
            "path here: under pytest, add `pythonpath = .` to its ini file (`wsside serve`, "
            "`python -m` and uvicorn put the folder they run in on it)"
        )
    ), refused.value


async def test_the_app_s_own_module_beside_a_handlers_folder_elsewhere_names_that_folder(
    tmp_path: Path,
) -> None:
    write(tmp_path, {f"app/{name}": text for name, text in APP_MODULE.items()})
    server = await ServeProcess.start(
        "--port", str(free_port()), "--handlers", "app/ws", cwd=tmp_path
    )
    try:
        line = await server.expect("ModuleNotFoundError: No module named 'auth'")
    finally:
        await server.stop()
    assert line.rstrip().endswith(
        "`auth` is in app, which is not on the import path here: run from that folder "
        "(`wsside serve`, `python -m` and uvicorn put the folder they run in on it)"
    ), line


async def test_a_submodule_an_installed_package_lacks_is_left_as_python_says(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"ws/greet.py": "import json.nope\n" + DECLARE.format(name="greet")})
    printed = await load_error(tmp_path, "ws/greet.py")
    assert printed[-1] == "ModuleNotFoundError: No module named 'json.nope'"


@pytest.mark.slow
def test_vite_s_terminal_says_it(tmp_path: Path, vite_modules: Path) -> None:
    """The hint is in the load error's message, which the shim prints and puts on the
    overlay (node_shim/lib/report.js)."""
    write(
        tmp_path,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "ws/needs.py": f"import {MISSING}\n" + DECLARE.format(name="needs"),
            "ws/echo.py": DECLARE.format(name="echo"),
        },
    )
    link_modules(tmp_path, vite_modules)
    log: list[str] = []
    for _ in start_vite(tmp_path, free_port(), env_for(), log):
        said = [line for line in log if "cannot load ws/needs.py:1" in line]
        assert said, "".join(log)
        assert (
            said[0].rstrip().endswith(f"cannot load ws/needs.py:1: ModuleNotFoundError: {INSTALL}")
        )


async def test_misspelt_handler_options_are_all_named_with_what_they_likely_mean(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "ws/chat.py": "from wsside import Handler\n\nh = Handler(\n    '/ws/chat',\n"
            "    default_rom='lobby',\n    hearbeat=30,\n    zzz=1,\n)\n",
            "ws/one.py": "from wsside import Handler\nh = Handler('/one', hearbeat=30)\n",
            "ws/other.py": "class A:\n    pass\n\n\nA(x=1)\n",
            # websockets' names, which no spelling of wsside's is near
            "ws/theirs.py": "from wsside import Handler\nh = Handler('/t', compression=None, "
            "max_size=9)\n",
        },
    )
    server = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path)
    try:
        lines = await server.expect_all(
            "cannot load ws/chat.py:3:",
            "cannot load ws/one.py:2:",
            "cannot load ws/other.py:5:",
            "cannot load ws/theirs.py:2:",
        )
    finally:
        await server.stop()
    said = {
        line.split("wsside: ", 1)[1].split(":")[0]: line.split("wsside: ", 1)[1].rstrip()
        for line in lines
    }
    assert said["cannot load ws/chat.py"] == (
        'cannot load ws/chat.py:3: TypeError: Handler() has no options "default_rom" (did you '
        'mean "default_room"?), "hearbeat" (did you mean "heartbeat"?) and "zzz": see README '
        '"Handler API" for the options'
    )
    assert said["cannot load ws/one.py"] == (
        'cannot load ws/one.py:2: TypeError: Handler() has no option "hearbeat" (did you mean '
        '"heartbeat"?): see README "Handler API" for the options'
    )
    assert said["cannot load ws/theirs.py"] == (
        'cannot load ws/theirs.py:2: TypeError: Handler() has no options "compression" (wsside '
        'calls it "per_message_deflate") and "max_size" (wsside calls it "max_message_size"): '
        'see README "Handler API" for the options'
    )
    # Another class's TypeError is left as Python words it.
    assert said["cannot load ws/other.py"].endswith("TypeError: A() takes no arguments")


async def test_a_javascript_options_object_gets_the_call_that_says_it_in_one_line(
    tmp_path: Path,
) -> None:
    """A port from the JavaScript plugin that kept its options objects: the keyword call to
    write instead, and no traceback (a dataclass's generated __init__ is no frame of yours)."""
    write(
        tmp_path,
        {
            "ws/echo.py": "from wsside import Handler, Response\n\nh = Handler('/ws/echo', "
            "responses=[\n    Response(match={'type': 'x'}, response='y', broadcast={'room': "
            "'lobby', 'includeSelf': True}),\n])\n",
            "ws/big.py": "from wsside import Handler\n\nh = Handler('/ws/big', "
            "per_message_deflate={'serverMaxWindowBits': 13, 'strict': True})\n",
        },
    )
    server = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path)
    try:
        lines = await server.expect_all("cannot load ws/echo.py:", "cannot load ws/big.py:")
        await server.expect("serving on")
    finally:
        await server.stop()
    (echo,) = [line for line in lines if "ws/echo.py" in line]
    (big,) = [line for line in lines if "ws/big.py" in line]
    assert echo.rstrip().endswith(
        "cannot load ws/echo.py:4: TypeError: Response(broadcast=...): expected True, False or "
        "Broadcast(...), here Broadcast(room='lobby', include_self=True)"
    ), echo
    assert big.rstrip().endswith(
        "cannot load ws/big.py:3: TypeError: per_message_deflate: expected True, False or "
        "Deflate(...), here Deflate(server_max_window_bits=13, strict=True)"
    ), big
    assert not [line for line in server.lines if "Traceback" in line], server.lines


async def test_a_wsside_module_called_as_its_class_names_the_import_to_write(
    tmp_path: Path,
) -> None:
    """`from wsside import handler` imports the module wsside.handler: calling it is Python's
    "'module' object is not callable", which the load error completes."""
    write(
        tmp_path,
        {"ws/lobby.py": "from wsside import handler\n\nlobby = handler('/ws/lobby')\n"},
    )
    printed = await load_error_line(tmp_path, "ws/lobby.py")
    assert printed.endswith(
        "cannot load ws/lobby.py:3: TypeError: 'module' object is not callable: `handler` is "
        "the module wsside.handler: `from wsside import Handler`, then Handler(...)"
    ), printed


async def test_a_variable_missing_from_the_environment_says_where_to_give_it(
    tmp_path: Path,
) -> None:
    """`os.environ["SESSION_SECRET"]` at import, with the variable unset (under Vite, most
    often kept in a .env file, which never reaches Python): the bare `KeyError:
    'SESSION_SECRET'` gets where to give it. A KeyError of the file's own dict gets nothing."""
    unset = "WSSIDE_TEST_NEVER_SET"
    assert unset not in os.environ
    write(
        tmp_path,
        {
            "ws/auth.py": f"import os\n\nSECRET = os.environ[{unset!r}]\n"
            + DECLARE.format(name="auth"),
            "ws/table.py": "ROOMS = {}\nROOMS['lobby']\n" + DECLARE.format(name="table"),
        },
    )
    server = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path)
    try:
        auth = (await server.expect("cannot load ws/auth.py:")).rstrip()
        table = (await server.expect("cannot load ws/table.py:")).rstrip()
    finally:
        await server.stop()
    assert auth.endswith(
        f"cannot load ws/auth.py:3: KeyError: '{unset}': not in this process's environment: "
        "under Vite, pass it with the plugin's env option (Vite reads a .env file for the page, "
        'not for Python: README "Secrets in .env"); for wsside serve, wsside types or uvicorn, '
        "set it where they run"
    ), auth
    assert table.endswith("cannot load ws/table.py:2: KeyError: 'lobby'"), table


async def load_error_line(project: Path, file: str) -> str:
    server = await ServeProcess.start("--port", str(free_port()), cwd=project)
    try:
        return (await server.expect(f"cannot load {file}:")).rstrip()
    finally:
        await server.stop()


# A name typing lacks on this Python and typing_extensions has (NotRequired on 3.10).
NEWER = next(
    name
    for name in ("NotRequired", "override", "TypeIs", "Doc", "TypeForm")
    if not hasattr(__import__("typing"), name) and hasattr(__import__("typing_extensions"), name)
)


async def test_a_typing_name_of_a_newer_python_points_at_typing_extensions(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"ws/new.py": f"from typing import {NEWER}\n" + DECLARE.format(name="new")})
    server = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path)
    try:
        line = await server.expect(f"ImportError: cannot import name '{NEWER}' from 'typing'")
    finally:
        await server.stop()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert line.rstrip().endswith(
        f": typing has no {NEWER} on Python {version}: from typing_extensions import {NEWER}"
    ), line
