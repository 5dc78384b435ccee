"""Plain `wsside doctor` in a Python-only project: a folder of handler files with no Vite project
in it, above it or below it, whose handlers run in `wsside serve` in development too. It checks
what `wsside doctor --serve` checks, after a row saying so, so that its exit status means the
Python side (not a missing `vite`). A folder with a vite.config, or a package.json (here or
above), keeps the Vite checks; a monorepo's root keeps naming the project below. Real
`wsside doctor` processes, and a real `wsside serve`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from doctor_projects import CHAT_HANDLER, SIMPLE_VITE_CONFIG, one, run_doctor, write
from serve_process import ServeProcess, free_port

SAYS = "no Vite project here: checking for wsside serve (as wsside doctor --serve)"
BAD = {"ws/bad.py": "x = (\n"}


def names(report: dict[str, Any]) -> list[str]:
    return [check["name"] for check in report["checks"]]


def test_a_python_only_project_is_checked_as_with_serve(tmp_path: Path) -> None:
    """Before, exit 1 for `npm install -D vite`, the shim, a vite.config and no dev server,
    with Vite rows passing on "no vite.config to read"."""
    write(tmp_path, CHAT_HANDLER)
    code, report = run_doctor(tmp_path, "--no-live")
    _, served = run_doctor(tmp_path, "--serve", "--no-live")
    assert code == 0, report
    assert report["checks"][0] == {
        "name": "vite project",
        "status": "pass",
        "message": SAYS,
        "fix": "",
    }
    assert report["checks"][1:] == served["checks"]
    assert not {"node", "vite", "shim", "vite.config", "dev server"} & set(names(report))


def test_its_exit_status_is_the_python_side_s(tmp_path: Path) -> None:
    """What README says of CI (`wsside doctor --no-live` stops the job at a Python error) holds
    for a project without Vite: 1 for a handler file that does not import, and only for it."""
    write(tmp_path, {**CHAT_HANDLER, **BAD})
    code, report = run_doctor(tmp_path, "--no-live")
    assert code == 1
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in failed] == ["handler ws/bad.py"], failed
    assert failed[0]["fix"] == (
        "fix ws/bad.py:1, then save: wsside serve reloads it (with --no-reload or "
        "reload = false, start it again)"
    )
    (tmp_path / "ws" / "bad.py").unlink()
    code, report = run_doctor(tmp_path, "--no-live")
    assert code == 0, report


def test_a_running_wsside_serve_is_not_asked_for_a_vite_dev_server(tmp_path: Path) -> None:
    """Before, the `dev server` row failed (start the dev server: npm run dev) beside a
    `sidecar processes` row that listed the `wsside serve` running there."""
    write(tmp_path, CHAT_HANDLER)

    async def with_serve() -> tuple[int, dict[str, Any]]:
        serve = await ServeProcess.start("--port", str(free_port()), cwd=tmp_path)
        try:
            await serve.expect("serving on")
            return await asyncio.to_thread(run_doctor, tmp_path)
        finally:
            await serve.stop()

    code, report = asyncio.run(with_serve())
    assert code == 0, report
    assert names(report)[0] == "vite project"
    assert not {"sidecar processes", "dev server", "live"} & set(names(report))


def test_any_package_json_keeps_the_vite_checks(tmp_path: Path) -> None:
    """A Nuxt project needs neither a nuxt.config nor vite among its dependencies (`nuxi dev`
    as its dev script): a package.json here or above is taken for a Node project."""
    write(tmp_path, {**CHAT_HANDLER, "package.json": json.dumps({"scripts": {"dev": "nuxt dev"}})})
    _, report = run_doctor(tmp_path, "--no-live")
    assert "vite project" not in names(report) and "vite.config" in names(report), report


def test_a_vite_project_keeps_the_vite_checks(tmp_path: Path) -> None:
    """A vite.config, or a package.json (`npm create vite`'s templates have no vite.config),
    here or above: the Vite checks, as before."""
    config = write(tmp_path / "config", {**CHAT_HANDLER, "vite.config.js": SIMPLE_VITE_CONFIG})
    manifest = {"devDependencies": {"vite": "^7.0.0"}}
    package = write(tmp_path / "package", {**CHAT_HANDLER, "package.json": json.dumps(manifest)})
    write(tmp_path / "above", {"package.json": json.dumps(manifest)})
    inside = write(tmp_path / "above" / "api", CHAT_HANDLER)
    for root in (config, package, inside):
        _, report = run_doctor(root, "--no-live")
        assert "vite project" not in names(report), (root, report)
        assert {"node", "vite", "vite.config"} <= set(names(report)), (root, report)
        assert one(report, "handler ws/chat.py")["status"] == "pass"


def test_a_monorepo_root_still_names_the_project_below(tmp_path: Path) -> None:
    """Handler files here and a Vite project below: the monorepo's root, as before."""
    write(tmp_path, CHAT_HANDLER)
    write(tmp_path / "web", {"vite.config.js": SIMPLE_VITE_CONFIG})
    code, report = run_doctor(tmp_path, "--no-live")
    assert code == 1
    assert names(report) == ["python", "packages", "node", "vite.config"], report


def test_url_and_fix_are_about_vite_and_keep_its_checks(tmp_path: Path) -> None:
    write(tmp_path, CHAT_HANDLER)
    _, report = run_doctor(tmp_path, "--no-live", "--url", f"http://127.0.0.1:{free_port()}")
    assert "vite project" not in names(report) and "vite.config" in names(report), report
    _, report = run_doctor(tmp_path, "--no-live", "--fix", "--yes")
    assert "vite project" not in names(report) and "vite.config" in names(report), report


def test_a_handler_error_under_serve_says_how_wsside_serve_picks_the_fix_up(
    tmp_path: Path,
) -> None:
    """Before, `then save: the sidecar reloads it`: there is no sidecar under `wsside serve`,
    and with --no-reload (or reload = false) the file is read at the next start only."""
    write(tmp_path, {**CHAT_HANDLER, **BAD})
    _, report = run_doctor(tmp_path, "--serve", "--no-live")
    assert one(report, "handler ws/bad.py")["fix"] == (
        "fix ws/bad.py:1, then save: wsside serve reloads it (with --no-reload or "
        "reload = false, start it again)"
    )
    _, report = run_doctor(tmp_path, "--serve", "--no-live", "--", "--no-reload")
    assert one(report, "handler ws/bad.py")["fix"] == (
        "fix ws/bad.py:1, then start wsside serve again: with --no-reload, a handler file "
        "that does not load stops its start"
    )
    write(tmp_path, {"wsside.toml": "reload = false\n"})
    _, report = run_doctor(tmp_path, "--serve", "--no-live")
    assert one(report, "handler ws/bad.py")["fix"] == (
        "fix ws/bad.py:1, then start wsside serve again: with reload = false in wsside.toml, "
        "a handler file that does not load stops its start"
    )


def test_middleware_mode_says_when_there_is_no_package_json(tmp_path: Path) -> None:
    """A Vite project can lack package.json (Vite installed above, or globally): the row said
    `package.json has no dev script`."""
    write(tmp_path, {**CHAT_HANDLER, "vite.config.js": SIMPLE_VITE_CONFIG})
    _, report = run_doctor(tmp_path, "--no-live")
    assert one(report, "middleware mode")["message"] == (
        "not set in vite.config.js; there is no package.json here, so no dev script was read "
        "for a server of your own that creates Vite in middleware mode"
    )
