"""`wsside doctor` as a newcomer meets it: a dev server without the plugin does not make
every live probe wait its whole timeout, `--no-live` opens no connection to the handlers, a
handler outside the handlers folder is named, and doctor run above the project says so once.
Real Vite dev servers, real `wsside doctor` processes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from doctor_projects import (
    SIMPLE_VITE_CONFIG,
    VENV_PYTHON,
    env_for,
    free_port,
    link_modules,
    one,
    run_doctor,
    start_vite,
    vite_modules,
    write,
)
from wsside.doctor.checks_live import NO_ANSWER_FIX, PROBE_SAYS, SKIPPED_SAYS
from wsside.doctor.probe import handshake

__all__ = ["vite_modules"]  # the session fixture, imported for pytest

NO_PLUGIN_CONFIG = "import { defineConfig } from 'vite'\n\nexport default defineConfig({})\n"


def handler(path: str) -> str:
    return f"from wsside import Handler\n\nh = Handler({path!r})\n"


def three_handlers(root: Path, config: str) -> Path:
    return write(
        root,
        {
            "vite.config.js": config,
            "wsside.toml": 'prefix = "/api"\n',
            "ws/a.py": handler("/a"),
            "ws/b.py": handler("/b"),
            "ws/c.py": handler("/c"),
        },
    )


def timed_doctor(root: Path, *args: str) -> tuple[float, int, dict[str, object]]:
    started = time.monotonic()
    code, report = run_doctor(root, *args)
    return time.monotonic() - started, code, report


@pytest.mark.slow
def test_without_the_plugin_the_probes_do_not_wait_one_after_another(
    tmp_path: Path, vite_modules: Path
) -> None:
    """The audit's case: wsside() gone from vite.config while Vite runs. Each probe used to
    wait its whole timeout, one after another; now the vite.config check's answer is enough,
    and a project whose config does use the plugin, probed at a Vite that does not run it,
    waits for the first probe only, whose fix says what is likely."""
    served = three_handlers(tmp_path / "served", NO_PLUGIN_CONFIG)
    link_modules(served, vite_modules)
    port = free_port()
    # A Vite without wsside() leaves other upgrades unanswered; it is ready once it prints
    # its URL.
    for _ in start_vite(served, port, env_for(), ready=f":{port}/"):
        took, code, report = timed_doctor(served, "--timeout", "8")
        assert code == 1 and one(report, "vite.config")["status"] == "fail"
        live = one(report, "live not probed")
        assert live["status"] == "warn", live
        assert live["message"] == (
            "3 endpoint(s) not probed (/api/a, /api/b, /api/c): vite.config.js does not use "
            "wsside() (see the vite.config check), so Vite answers no upgrade"
        )
        assert not [c for c in report["checks"] if str(c["name"]).startswith("live /")]
        assert took < 8, f"doctor took {took:.1f} s"

        other = three_handlers(tmp_path / "other", SIMPLE_VITE_CONFIG)
        url = f"http://127.0.0.1:{port}"
        took, code, report = timed_doctor(other, "--url", url, "--timeout", "4")
        first = one(report, "live /api/a")
        assert first["status"] == "fail" and first["message"] == "no answer: timed out"
        assert first["fix"] == NO_ANSWER_FIX
        assert NO_ANSWER_FIX.startswith(
            "Vite did not answer the upgrade: is wsside() in vite.config's plugins?"
        )
        rest = one(report, "live not probed")
        assert rest["message"] == (
            "2 endpoint(s) not probed (/api/b, /api/c): the first probe got no answer in 4 s, "
            "and each would wait as long"
        )
        # Three probes one after another wait 3 x 4 s at least; one probe, 4 s and the
        # doctor's own work, which a loaded host stretches (8.2 s seen under CI's load).
        assert took < 4 * 3, f"doctor took {took:.1f} s"


RECORDER = """\
from pathlib import Path
from wsside import Handler

h = Handler("/echo")

@h.on_connect
async def seen(conn):
    with open(Path(__file__).parent.parent / "connects.txt", "a") as f:
        f.write(conn.headers.get("user-agent", "?") + "\\n")
"""


@pytest.mark.slow
def test_no_live_opens_no_connection_and_the_probe_says_it_does(
    tmp_path: Path, vite_modules: Path
) -> None:
    write(tmp_path, {"vite.config.js": SIMPLE_VITE_CONFIG, "ws/echo.py": RECORDER})
    link_modules(tmp_path, vite_modules)
    env = env_for()
    record = tmp_path / "connects.txt"
    for _ in start_vite(tmp_path, free_port(), env):
        code, report = run_doctor(tmp_path, "--no-live", env=env)
        assert code == 0, report
        assert one(report, "live probes") == {
            "name": "live probes",
            "status": "pass",
            "message": SKIPPED_SAYS,
            "fix": "",
        }
        assert not [c for c in report["checks"] if str(c["name"]).startswith("live /")]
        assert not record.exists(), "--no-live must not connect to the handler"

        code, report = run_doctor(tmp_path, env=env)
        server = one(report, "dev server")["message"].split(" ")[0]
        assert one(report, "live probes")["message"] == PROBE_SAYS.format(url=server)
        assert "real WebSocket connection" in PROBE_SAYS and "wsside-doctor" in PROBE_SAYS
        assert one(report, "live /api/echo")["message"].startswith("101 in ")
        # The probe is a real connection: on_connect ran, with the doctor's User-Agent.
        assert record.read_text().splitlines() == ["wsside-doctor"]
        assert code == 0


def test_the_help_says_a_probe_is_a_real_connection() -> None:
    done = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "doctor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = " ".join(done.stdout.split())
    assert "--no-live" in text and "real WebSocket connection" in text
    assert "on_connect and on_close" in text and "wsside-doctor" in text


# Files that declare a Handler, or look as if, where no handler is meant to be.
NOT_STRAYS = {
    "node_modules/pkg/chat.py": handler("/x"),
    "venv/lib/chat.py": handler("/x"),
    "env2/pyvenv.cfg": "home = /usr/bin\n",
    "env2/lib/chat.py": handler("/x"),
    ".git/hooks/chat.py": handler("/x"),
    "dist/chat.py": handler("/x"),
    "build/lib/chat.py": handler("/x"),
    ".cache/chat.py": handler("/x"),
    "tests/test_chat.py": handler("/x"),
    "server/test_chat.py": handler("/x"),
    "scripts/words.py": "# wsside: a Handler( in a comment, no import\n",
    "scripts/_helper.py": handler("/x"),
}


@pytest.mark.parametrize(
    "stray, fix",
    [
        (
            "src/ws/chat.py",
            "move it into ws/, or pass `handlers: 'src/ws'` to wsside() in vite.config (or set "
            '`handlers = "src/ws"` in a wsside.toml beside it)',
        ),
        ("chat.py", "move it into ws/"),
    ],
)
def test_a_handler_outside_the_handlers_folder_is_named(
    tmp_path: Path, stray: str, fix: str
) -> None:
    """`wsside init` wrote ws/echo.py; the newcomer's own handler went elsewhere. The sidecar
    loads only ws/, so the doctor names the stray file, and nothing in the folders that
    hold no handlers."""
    write(
        tmp_path,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "ws/echo.py": handler("/echo"),
            stray: handler("/chat"),
            **NOT_STRAYS,
        },
    )
    _, report = run_doctor(tmp_path, "--no-live")
    check = one(report, "handlers folder")
    assert check["status"] == "warn", check
    assert check["message"] == (
        f"ws/: 1 handler file(s); but {stray} declares a Handler outside ws/, where the "
        "sidecar never loads it"
    )
    assert check["fix"] == fix


def test_a_handler_outside_the_handlers_folder_under_serve_names_wsside_serve(
    tmp_path: Path,
) -> None:
    """With no Vite project, the folder that never loads the stray file is `wsside serve`'s,
    and the row says so (it said "the sidecar", a word of the Vite side)."""
    write(tmp_path, {"ws/echo.py": handler("/echo"), "chat.py": handler("/chat")})
    _, report = run_doctor(tmp_path, "--no-live")
    check = one(report, "handlers folder")
    assert check["status"] == "warn", check
    assert check["message"] == (
        "ws/: 1 handler file(s); but chat.py declares a Handler outside ws/, where wsside "
        "serve never loads it"
    )


@pytest.mark.slow
def test_a_client_outside_the_server_s_prefix_is_left_connecting_as_doctor_says(
    tmp_path: Path, vite_modules: Path
) -> None:
    """The client-prefix warning used to say such connections get 404; under a real Vite no
    one answers the upgrade at all, and the warning says so."""
    write(
        tmp_path,
        {
            "vite.config.js": SIMPLE_VITE_CONFIG,
            "wsside.toml": 'prefix = "/rt"\n',
            "ws/echo.py": handler("/echo"),
        },
    )
    link_modules(tmp_path, vite_modules)
    env = env_for()
    port = free_port()
    for _ in start_vite(tmp_path, port, env):
        _, report = run_doctor(tmp_path, "--no-live", env=env)
        check = one(report, "client prefix")
        assert check["status"] == "warn", check
        assert check["message"].endswith(
            "outside the server's prefix, no one answers its upgrades under Vite, and its "
            "sockets stay connecting"
        )
        url = f"http://127.0.0.1:{port}"
        assert handshake(url, "/rt/echo", 10).status == 101  # the server's prefix
        client = handshake(url, "/api/echo", 2)  # where the browser client connects
        assert (client.status, client.reason) == (None, "no answer: timed out")


def test_run_above_the_project_says_so_once(tmp_path: Path, vite_modules: Path) -> None:
    """In the parent of a working Vite app, the doctor used to fail `vite` and `shim` with
    npm install commands (and ws/ with `wsside init`) beside the real fix, --root app."""
    app = write(
        tmp_path / "app",
        {"vite.config.js": SIMPLE_VITE_CONFIG, "ws/echo.py": handler("/echo")},
    )
    link_modules(app, vite_modules)
    code, report = run_doctor(tmp_path, "--no-live")
    assert code == 1
    assert [c["name"] for c in report["checks"]] == ["python", "packages", "node", "vite.config"]
    check = one(report, "vite.config")
    assert check["message"].endswith(
        "the Vite project below it: app (the checks that need the project, from handlers to "
        "the dev server, were skipped)"
    )
    assert check["fix"].startswith("run `wsside doctor --root app`")
    assert [c for c in report["checks"] if c["status"] == "fail"] == [check]
    code, report = run_doctor(app, "--no-live")
    assert code == 0, [c for c in report["checks"] if c["status"] != "pass"]


def test_a_handler_beside_vite_config_is_named_when_ws_is_missing(tmp_path: Path) -> None:
    write(tmp_path, {"vite.config.js": SIMPLE_VITE_CONFIG, "chat.py": handler("/chat")})
    code, report = run_doctor(tmp_path, "--no-live")
    check = one(report, "handlers folder")
    assert code == 1 and check["status"] == "fail", check
    assert check["message"] == "ws/ does not exist, but chat.py declares a Handler"
    assert check["fix"] == "move it into ws/ (create it)"
