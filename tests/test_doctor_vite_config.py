"""`wsside doctor` on a vite.config that Vite itself cannot load (a parse error, a package not
installed): a failing check carrying Vite's cause and place, with rolldown (Vite 8) and esbuild
(Vite 5) alike; a config doctor could not hand to Vite stays a warning; and `--no-live` without
a dev server is a skip, not a warning. Real Vite installs (tests/shim's), real `wsside doctor`
processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from doctor_projects import REPO, SIMPLE_VITE_CONFIG, free_port, one, run_doctor, write

SHIM_MODULES = REPO / "tests" / "shim" / "node_modules"
# tests/shim installs each Vite major under its own name (package.json: npm aliases).
VITE_PACKAGES = {5: "vite5", 8: "vite"}

HANDLER = "from wsside import Handler\n\nh = Handler('/echo')\n"

TWICE_IMPORTED = SIMPLE_VITE_CONFIG.replace(
    "import wsside from 'vite-plugin-wsside'\n",
    "import wsside from 'vite-plugin-wsside'\nimport wsside from 'vite-plugin-wsside'\n",
)
UNCLOSED = SIMPLE_VITE_CONFIG.removesuffix("})\n")
NOT_INSTALLED = SIMPLE_VITE_CONFIG.replace(
    "import wsside from 'vite-plugin-wsside'\n",
    "import wsside from 'vite-plugin-wsside'\nimport legacy from 'not-installed-plugin'\n",
).replace("plugins: [wsside()]", "plugins: [wsside(), legacy()]")


def project(root: Path, config: str, major: int | None = 8) -> Path:
    """A healthy project but for `config` (vite.config.ts), on tests/shim's Vite `major` (None:
    no node_modules at all)."""
    write(
        root,
        {
            "vite.config.ts": config,
            "package.json": '{"name": "app", "private": true, "type": "module"}',
            "ws/echo.py": HANDLER,
        },
    )
    if major is not None:
        vite = SHIM_MODULES / VITE_PACKAGES[major]
        if not (vite / "package.json").is_file():
            pytest.fail(f"{vite} is not installed: run `make node-deps`")
        (root / "node_modules").mkdir()
        (root / "node_modules" / "vite").symlink_to(vite, target_is_directory=True)
        (root / "node_modules" / "vite-plugin-wsside").symlink_to(
            REPO / "node_shim", target_is_directory=True
        )
    return root


@pytest.mark.parametrize(
    ("major", "config", "cause", "place"),
    [
        (8, TWICE_IMPORTED, "[PARSE_ERROR] Identifier `wsside` has already been declared", ":2:8"),
        (8, UNCLOSED, "[PARSE_ERROR] Expected `}` but found `EOF`", ":5:"),
        (5, UNCLOSED, "ERROR: Expected identifier but found end of file", ":6:0"),
    ],
    ids=["vite8-declared-twice", "vite8-unclosed", "vite5-unclosed"],
)
def test_a_config_vite_cannot_parse_fails_with_its_cause_and_place(
    tmp_path: Path, major: int, config: str, cause: str, place: str
) -> None:
    code, report = run_doctor(project(tmp_path, config, major), "--no-live")
    check = one(report, "vite.config")
    assert code == 1 and check["status"] == "fail", check
    message = check["message"]
    assert message.startswith("Vite cannot load vite.config.ts, so the dev server would not start")
    assert cause in message and f"vite.config.ts{place}" in message, message
    # One line: no code excerpt, frame or stack from Vite's report.
    assert "\n" not in message and " at " not in message and "│" not in message
    assert check["fix"] == "fix vite.config.ts where Vite says (`npx vite` prints the same error)"
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["vite.config"]


def test_a_config_importing_a_package_not_installed_fails_naming_it(tmp_path: Path) -> None:
    code, report = run_doctor(project(tmp_path, NOT_INSTALLED), "--no-live")
    check = one(report, "vite.config")
    assert code == 1 and check["status"] == "fail", check
    assert check["message"].endswith(
        ": Cannot find package 'not-installed-plugin' imported from vite.config.ts"
    )
    assert check["fix"] == (
        "npm install -D not-installed-plugin (or take its import out of vite.config.ts)"
    )


def test_a_config_doctor_could_not_hand_to_vite_stays_a_warning(tmp_path: Path) -> None:
    """Without Vite installed, doctor cannot ask it: the vite check fails for that; the config,
    read as text, uses wsside() and is not said to be broken."""
    _, report = run_doctor(project(tmp_path, SIMPLE_VITE_CONFIG, major=None), "--no-live")
    assert one(report, "vite")["status"] == "fail"
    check = one(report, "vite.config")
    assert check["status"] == "warn", check
    assert check["message"].startswith(
        "vite.config.ts uses wsside() (read as text; Vite could not be asked: "
        "Cannot find package 'vite'"
    ), check["message"]


def test_no_live_without_a_dev_server_is_a_skip_not_a_warning(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: no dev server runs for this project
    config = SIMPLE_VITE_CONFIG.replace(
        "plugins: [wsside()],", f"plugins: [wsside()],\n  server: {{ port: {port} }},"
    )
    code, report = run_doctor(project(tmp_path, config), "--no-live")
    check = one(report, "dev server")
    assert check == {
        "name": "dev server",
        "status": "pass",
        "message": "no running Vite dev server found for this project; the live probes were "
        "skipped as asked (--no-live)",
        "fix": "",
    }
    assert not [c for c in report["checks"] if c["name"].startswith("live ")]
    # Nothing else is wrong with this project: no warning is left, and the exit status is 0.
    assert [c for c in report["checks"] if c["status"] != "pass"] == [] and code == 0
