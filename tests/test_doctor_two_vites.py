"""Two Vite dev servers of one project at once (Vite 7, or Vite 8 with --bypass-lock): each
starts its own sidecar, so rooms and broadcasts do not cross between them, and `wsside
doctor` says so. Real Vite processes, real sidecars."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster import RedisServer
from doctor_projects import (
    SIMPLE_VITE_CONFIG,
    env_for,
    free_port,
    link_modules,
    one,
    run_doctor,
    start_vite,
    vite_modules,
    write,
)

__all__ = ["vite_modules"]  # the session fixture, imported for pytest


def own(message: str) -> str:
    """The row's message without the count that orphaned sidecars of other projects add: of
    another test running at the same time (`spawn_orphan`), as on a user's machine."""
    return re.sub(r"; \d+ orphaned sidecar\(s\) of other projects left alone$", "", message)


def chat_project(folder: Path, modules: Path, extra: dict[str, str] | None = None) -> Path:
    """A Vite project with the plugin and one handler file (and `extra` files) in `folder`."""
    chat = "from wsside import Handler\nchat = Handler('/ws/chat')\n"
    root = write(
        folder, {"vite.config.js": SIMPLE_VITE_CONFIG, "ws/chat.py": chat, **(extra or {})}
    )
    link_modules(root, modules)
    return root


@contextlib.contextmanager
def serving(root: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`wsside serve` started in `root`, once it serves: the process and its port."""
    serve_port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "wsside", "serve", "--port", str(serve_port), "--no-reload"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stderr is not None
        for line in serve.stderr:  # ready once it says so (bounded: it serves or exits)
            if "serving on" in line:
                break
        yield serve, serve_port
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        if serve.stderr is not None:
            serve.stderr.close()


@pytest.mark.slow
def test_two_dev_servers_of_one_project_are_a_warning(tmp_path: Path, vite_modules: Path) -> None:
    root = chat_project(tmp_path, vite_modules)
    env = env_for()
    first, second = free_port(), free_port()
    for one_vite in start_vite(root, first, env):
        _, report = run_doctor(root, "--no-live", env=env)
        assert one(report, "sidecar processes")["status"] == "pass"
        for other in start_vite(root, second, env, command=("--bypass-lock",)):
            _, report = run_doctor(root, "--no-live", env=env)
            check = one(report, "sidecar processes")
            assert check["status"] == "warn", check
            low, high = sorted([(one_vite.pid, first), (other.pid, second)])
            assert check["message"].startswith(
                f"2 Vite dev servers of this project run at once: Vite pid {low[0]} (port "
                f"{low[1]}; sidecar pid "
            ), check
            assert f"Vite pid {high[0]} (port {high[1]}; sidecar pid " in check["message"]
            assert own(check["message"]).endswith(
                "; each dev server has its own Python process, so rooms and broadcasts do not "
                "cross between them (a page of one never gets the other's broadcasts)"
            )
            assert check["fix"] == (
                f"stop one of them (Ctrl+C in its terminal, or kill {high[0]}), and open every "
                "page on the one left"
            )


@pytest.mark.slow
def test_a_vite_preview_beside_the_dev_server_is_no_second_dev_server(
    tmp_path: Path, vite_modules: Path
) -> None:
    """`vite preview` (the built app, with a sidecar of its own: the plugin's `preview` option)
    while `vite` runs: told apart by its command line, and named as a preview, not counted as a
    second dev server to stop. A second dev server beside them still is."""
    root = chat_project(
        tmp_path, vite_modules, {"dist/index.html": "<!doctype html><title>built</title>"}
    )
    env = env_for()
    for dev in start_vite(root, free_port(), env):
        for preview in start_vite(root, free_port(), env, command=("preview",)):
            _, report = run_doctor(root, "--no-live", env=env)
            check = one(report, "sidecar processes")
            assert check["status"] == "pass", check
            assert f"(Vite pid {dev.pid})" in check["message"], check
            assert f"(Vite pid {preview.pid}, vite preview)" in check["message"], check
            second_port = free_port()
            for other in start_vite(root, second_port, env, command=("--bypass-lock",)):
                _, report = run_doctor(root, "--no-live", env=env)
                check = one(report, "sidecar processes")
                assert check["status"] == "warn", check
                assert check["message"].startswith("2 Vite dev servers of this project"), check
                assert f"; also a `vite preview`: Vite pid {preview.pid} (port " in check["message"]
                assert f"Vite pid {other.pid} (port {second_port}; " in check["message"]


@pytest.mark.slow
def test_wsside_serve_beside_the_dev_server_is_a_warning(
    tmp_path: Path, vite_modules: Path
) -> None:
    """`wsside serve` started beside `vite` on the same handlers (a newcomer's slip): the
    pages reach Vite's sidecar only, and the two processes' rooms never meet. Alone, without
    a dev server, it is only named."""
    root = chat_project(tmp_path, vite_modules)
    env = env_for()
    with serving(root, env) as (serve, serve_port):
        _, report = run_doctor(root, "--no-live", env=env)
        check = one(report, "sidecar processes")
        assert check["status"] == "pass", check
        assert f"; `wsside serve` pid {serve.pid} (port {serve_port})" in check["message"]
        for _vite in start_vite(root, free_port(), env):
            _, report = run_doctor(root, "--no-live", env=env)
            check = one(report, "sidecar processes")
            assert check["status"] == "warn", check
            assert check["message"].startswith(
                f"`wsside serve` (pid {serve.pid} (port {serve_port})) runs in this project "
                "beside the Vite dev server, whose sidecar (pid "
            ), check
            assert check["fix"] == (
                f"stop `wsside serve` (Ctrl+C in its terminal, or kill {serve.pid}): under Vite "
                "the plugin runs the handlers"
            )


@pytest.mark.slow
def test_wsside_serve_beside_the_dev_server_on_one_backplane_passes(
    tmp_path: Path, vite_modules: Path, redis: RedisServer
) -> None:
    """With a backplane in wsside.toml, which Vite's sidecar and a `wsside serve` started
    here both read, their rooms are linked (a dev server beside a production-like process):
    the row says so and passes, where without it the same pair is a warning (above)."""
    root = chat_project(tmp_path, vite_modules, {"wsside.toml": f'backplane = "{redis.url}"\n'})
    env = env_for()
    with serving(root, env) as (serve, serve_port):
        for _vite in start_vite(root, free_port(), env):
            _, report = run_doctor(root, "--no-live", env=env)
            check = one(report, "sidecar processes")
            assert check["status"] == "pass", check
            assert own(check["message"]).endswith(
                f"; `wsside serve` (pid {serve.pid} (port {serve_port})) beside it, both on the "
                f"backplane {redis.url}: broadcasts cross between them, and each process has "
                "its own connections and background tasks"
            ), check


@pytest.mark.slow
def test_two_dev_servers_on_one_backplane_say_what_crosses(
    tmp_path: Path, vite_modules: Path, redis: RedisServer
) -> None:
    """Linked by a backplane, two dev servers' broadcasts do cross: still a warning (each runs
    every background task), with words that do not say otherwise."""
    root = chat_project(tmp_path, vite_modules, {"wsside.toml": f'backplane = "{redis.url}"\n'})
    env = env_for()
    for _one in start_vite(root, free_port(), env):
        for _other in start_vite(root, free_port(), env, command=("--bypass-lock",)):
            _, report = run_doctor(root, "--no-live", env=env)
            check = one(report, "sidecar processes")
            assert check["status"] == "warn", check
            assert own(check["message"]).endswith(
                f"; each dev server has its own Python process; the backplane {redis.url} "
                "carries broadcasts between them, but each runs every background task (a loop "
                "that pushes does so from each)"
            ), check
