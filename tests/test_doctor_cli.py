"""`wsside doctor` as a command: what a person at a terminal sees while the checks run (stderr
a real pty), and `--fix` run above the project. Real `wsside doctor` processes, real orphaned
sidecar-looking processes."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import threading
from pathlib import Path

import psutil
import pytest

from doctor_projects import (
    CHAT_HANDLER,
    SIMPLE_VITE_CONFIG,
    VENV_PYTHON,
    doctor_process,
    env_for,
    spawn_orphan,
    write,
)
from wsside.doctor import SERVE_CHECKS
from wsside.doctor.checks_serve import check_backplane_reachable

# What each check is called while it runs: its function's name.
SERVE_CHECK_NAMES = [fn.__name__.removeprefix("check_").replace("_", " ") for fn in SERVE_CHECKS]
ERASE = "\r\x1b[2K"


def on_a_terminal(root: Path, *args: str) -> tuple[int, str, str]:
    """`wsside doctor` with stderr a terminal (a pty) and stdout a pipe: (exit code, stdout,
    what the terminal received)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [VENV_PYTHON, "-m", "wsside", "doctor", "--root", str(root), "--timeout", "30", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env_for(),
        text=True,
    )
    os.close(follower)
    screen = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: every writer of the terminal is gone
                return
            if not chunk:
                return
            screen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
        os.close(leader)
    return proc.returncode, out, screen.decode()


def shown_checks(screen: str) -> list[tuple[str, int, int]]:
    """Each `checking NAME (I/N)...` line the terminal was given: (NAME, I, N)."""
    found = re.findall(re.escape(ERASE) + r"wsside doctor: checking (.+?) \((\d+)/(\d+)\)", screen)
    return [(name, int(i), int(n)) for name, i, n in found]


@pytest.mark.parametrize("json_output", [False, True], ids=["table", "json"])
def test_a_terminal_sees_each_check_as_it_runs_and_the_results_are_unchanged(
    tmp_path: Path, json_output: bool
) -> None:
    write(tmp_path, {**CHAT_HANDLER, "wsside.toml": "workers = 2\n"})
    args = ("--serve", *(("--json",) if json_output else ()))
    piped = doctor_process(tmp_path, *args)
    code, out, screen = on_a_terminal(tmp_path, *args)

    assert (code, out) == (piped.returncode, piped.stdout)
    if json_output:
        assert [c["name"] for c in json.loads(out)["checks"]][:3] == [
            "python",
            "packages",
            "config",
        ]
    else:  # (a long folder goes on a line of its own)
        assert " ".join(out.split()).startswith(f"wsside doctor: {tmp_path.resolve()}"), out
    total = len(SERVE_CHECK_NAMES)
    expected = [(name, i, total) for i, name in enumerate(SERVE_CHECK_NAMES, 1)]
    assert shown_checks(screen) == expected, screen
    # `expected` is derived from the functions' names: one spelled out as a person reads it,
    # found by that name (adding a check moves it, and changes nothing here).
    shown = {name: (i, n) for name, i, n in shown_checks(screen)}
    place = SERVE_CHECKS.index(check_backplane_reachable) + 1
    assert shown.get("backplane reachable") == (place, total), (
        f"check_backplane_reachable is not shown as `checking backplane reachable "
        f"({place}/{total})`; shown: {shown}"
    )
    assert screen.endswith(ERASE), "the line is erased once the checks are done"
    # stderr not a terminal (a log, a script): not a line more than before.
    assert piped.stderr == ""


def test_a_terminal_is_told_of_the_slow_steps_inside_a_check(tmp_path: Path) -> None:
    """Asking Vite (through node) for its config and looking for the dev server take seconds:
    the line says which is under way, beside the check that needed it."""
    write(tmp_path, {**CHAT_HANDLER, "vite.config.js": SIMPLE_VITE_CONFIG})
    _, out, screen = on_a_terminal(tmp_path, "--no-live")
    # (a long folder goes on a line of its own)
    assert " ".join(out.split()).startswith(f"wsside doctor: {tmp_path.resolve()}"), out
    # Asked before the first check: which checks apply depends on the answer.
    assert f"{ERASE}wsside doctor: asking Vite for the resolved vite.config...{ERASE}" in screen
    assert re.search(
        r"checking [\w ]+ \(\d+/\d+\): looking for the running dev server\.\.\.", screen
    ), screen
    assert screen.endswith(ERASE)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def end(*pids: int) -> None:
    for pid in pids:
        if not gone(pid):
            psutil.Process(pid).kill()


def test_fix_above_the_project_acts_on_the_project_it_names(tmp_path: Path) -> None:
    """Run in the folder above a Vite app, the doctor diagnoses the app below (its vite.config
    check names it): --fix ends that project's stale sidecars, says so with its folder, and
    leaves alone one working in another folder under where it was run."""
    web = write(tmp_path / "web", {"vite.config.js": SIMPLE_VITE_CONFIG})
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    mine, other = spawn_orphan(web), spawn_orphan(scripts)
    try:
        done = doctor_process(tmp_path, "--json", "--no-live", "--fix", "--yes")
        assert json.loads(done.stdout)["root"] == str(tmp_path.resolve())
        assert done.stderr == (
            f"wsside doctor --fix: in {web.resolve()}, ended stale sidecar(s): pid {mine}\n"
        )
        assert gone(mine)
        assert not gone(other), "a process outside the diagnosed project was ended"
    finally:
        end(mine, other)


def test_fix_above_several_projects_ends_nothing_and_says_why(tmp_path: Path) -> None:
    first = write(tmp_path / "admin", {"vite.config.js": SIMPLE_VITE_CONFIG})
    write(tmp_path / "site", {"vite.config.js": SIMPLE_VITE_CONFIG})
    orphan = spawn_orphan(first)
    try:
        done = doctor_process(tmp_path, "--json", "--no-live", "--fix", "--yes")
        assert done.returncode == 1 and json.loads(done.stdout)["checks"]
        assert done.stderr == (
            f"wsside doctor --fix: 2 Vite projects below {tmp_path.resolve()} (admin, site): "
            "nothing ended; give --root PROJECT to act on one\n"
        )
        assert not gone(orphan)
    finally:
        end(orphan)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--timeout", "-1"), "--timeout -1: expected seconds > 0"),
        (("--timeout", "0"), "--timeout 0: expected seconds > 0"),
        (("--timeout", "nan"), "--timeout nan: expected seconds > 0"),
        (
            ("--serve", "--url", "http://x:1"),
            "--url http://x:1 names a Vite dev server to probe: it does not go with --serve",
        ),
        (
            ("--serve", "--fix"),
            "--fix ends stale sidecars of a Vite project: it does not go with --serve",
        ),
        (("-y",), "--yes answers the questions of --fix: it goes with --fix"),
    ],
)
def test_a_flag_that_cannot_be_used_as_given_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    """Each of these ran every check and crashed it (a timeout of -1 s), or was ignored."""
    write(tmp_path, {"package.json": "{}\n"})
    done = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "doctor", "--root", str(tmp_path), *args],
        capture_output=True,
        text=True,
        env=env_for(),
        timeout=90,
    )
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"wsside doctor: {said}\n")
