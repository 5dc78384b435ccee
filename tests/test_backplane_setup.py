"""A backplane that cannot be used as set up: redis-py not installed (the `wsside[redis]`
extra left out), or a misspelt option in the URL. `wsside serve`, `wsside doctor --serve` and
the sidecar under Vite each say what is wrong, where it was set, and what to do."""

from __future__ import annotations

import subprocess
from pathlib import Path

from doctor_projects import (
    CHAT_HANDLER,
    REPO,
    VENV_PYTHON,
    doctor_process,
    env_for,
    run_doctor,
    write,
)
from serve_process import free_port

# The tests' wsside is this repository's, installed editable: the command installs the extra
# from it (a release from PyPI would replace it) into the Python that serves.
INSTALL_REDIS = f"{VENV_PYTHON} -m pip install -e '{REPO}[redis]'"
NEEDS_REDIS_PY = f"a redis:// backplane needs redis-py: {INSTALL_REDIS}"


def without_redis_py(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python has no redis-py, as without the extra: imported first,
    the `sitecustomize` on PYTHONPATH marks the package as missing."""
    site = tmp_path / "no-redis"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text("import sys\n\nsys.modules['redis'] = None\n")
    return env_for(PYTHONPATH=str(site))


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """`wsside serve ARGS` that refuses to start: its one line."""
    done = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "serve", "--port", str(free_port()), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2, done
    (line,) = done.stderr.splitlines()
    return line


def test_serve_names_the_config_file_line_of_a_backplane_redis_py_cannot_serve(
    tmp_path: Path,
) -> None:
    url = "redis://:secret@127.0.0.1:6379/0"
    write(tmp_path, {**CHAT_HANDLER, "wsside.toml": f'workers = 2\nbackplane = "{url}"\n'})
    line = serve(tmp_path, env=without_redis_py(tmp_path))
    assert line == f'wsside: {tmp_path / "wsside.toml"}:2: key "backplane": {NEEDS_REDIS_PY}'
    # From the flag, the flag's line (what was typed is on screen already).
    line = serve(tmp_path, "--backplane", url, env=without_redis_py(tmp_path))
    assert line == f"wsside: backplane: {NEEDS_REDIS_PY}"


def test_doctor_fails_the_backplane_check_with_the_install_as_its_fix(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    write(tmp_path, {**CHAT_HANDLER, "wsside.toml": f'backplane = "{url}"\n'})
    env = without_redis_py(tmp_path)
    for args in ((), ("--", "--backplane", url)):
        code, report = run_doctor(tmp_path, "--serve", *args, env=env)
        [check] = [c for c in report["checks"] if c["name"] == "backplane"]
        assert (code, check["status"], check["message"], check["fix"]) == (
            1,
            "fail",
            f"backplane: {NEEDS_REDIS_PY}",
            INSTALL_REDIS,
        ), args


def test_a_misspelt_url_option_is_named_with_the_one_meant(tmp_path: Path) -> None:
    write(tmp_path, CHAT_HANDLER)
    said = "unknown option 'chanel' in the URL: did you mean 'channel'?"
    url = f"redis://127.0.0.1:{free_port()}/0?chanel=shop"
    assert serve(tmp_path, "--backplane", url) == f"wsside: backplane: {said}"
    done = doctor_process(tmp_path, "--serve", "--", "--backplane", url)
    assert (done.returncode, done.stderr) == (2, f"wsside doctor: backplane: {said}\n")
    misspelt = url.replace("chanel=shop", "socket_timout=3")
    (tmp_path / "wsside.toml").write_text(f'backplane = "{misspelt}"\n')
    assert serve(tmp_path) == (
        f'wsside: {tmp_path / "wsside.toml"}:1: key "backplane": unknown option '
        "'socket_timout' in the URL: did you mean 'socket_timeout'?"
    )
