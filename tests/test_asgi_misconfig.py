"""A misconfigured `ASGIApp` stops a real uvicorn at start with one line saying what is wrong
(the last line uvicorn prints of the traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from asgi_server import free_port, write_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _last_line_of_a_failed_start(folder: Path) -> str:
    address = ["--host", "127.0.0.1", "--port", str(free_port())]
    run = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app:app", *address],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0, run.stderr
    return run.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("given", ['"."', '""'])
def test_a_handlers_folder_holding_the_app_itself(tmp_path: Path, given: str) -> None:
    write_files(
        tmp_path,
        {
            "app.py": f"""
                from wsside import ASGIApp

                app = ASGIApp({given})
            """,
            "chat.py": """
                from wsside import Handler

                chat = Handler("/ws/chat")
            """,
        },
    )
    assert _last_line_of_a_failed_start(tmp_path) == (
        f"ImportError: ASGIApp: the handlers folder {tmp_path} holds app.py, the module that "
        "makes this ASGIApp (app), and would import it again: put the handler files in a "
        "folder of their own, e.g. ws/"
    )
