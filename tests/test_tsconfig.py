"""`wsside-env.d.ts` in a TypeScript project's tsconfig: reading tsconfig files with comments,
adding the file without disturbing anything else (`wsside init`), and doctor's warning."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from doctor_projects import VENV_PYTHON, write
from wsside._project.tsconfig import add_entry, find_app_tsconfig, inclusion, read_jsonc
from wsside.doctor import Project, run_checks
from wsside.doctor.checks_types import check_types_file

ENTRY = "wsside-env.d.ts"

# The shape of Vite's TypeScript templates: a root of references, the app's config with
# comments and `"include": ["src"]`, and one for vite.config itself.
ROOT_TSCONFIG = """\
{
  "files": [],
  "references": [
    { "path": "./tsconfig.app.json" },
    { "path": "./tsconfig.node.json" }
  ]
}
"""
APP_TSCONFIG = """\
{
  "compilerOptions": {
    "target": "ES2022",
    /* Bundler mode */
    "moduleResolution": "bundler",
    "strict": true, // "include": ["not this one"]
    "lib": ["ES2022", "DOM"],
  },
  "include": ["src"]
}
"""
NODE_TSCONFIG = '{\n  "compilerOptions": {},\n  "include": ["vite.config.ts"]\n}\n'
TYPED_HANDLER = """\
from typing import TypedDict
from wsside import Handler

class ChatIn(TypedDict):
    text: str

chat = Handler("/ws/chat", receives=ChatIn)
"""


def vite_ts_project(root: Path, handler: str = TYPED_HANDLER) -> Path:
    return write(
        root,
        {
            "tsconfig.json": ROOT_TSCONFIG,
            "tsconfig.app.json": APP_TSCONFIG,
            "tsconfig.node.json": NODE_TSCONFIG,
            "ws/chat.py": handler,
        },
    )


# ---- reading and editing ---------------------------------------------------------------


def test_read_jsonc_takes_comments_and_trailing_commas() -> None:
    data = read_jsonc(APP_TSCONFIG)
    assert data["include"] == ["src"]
    assert data["compilerOptions"]["lib"] == ["ES2022", "DOM"]
    assert read_jsonc('{"a": "// not a comment, /* nor this */",}') == {
        "a": "// not a comment, /* nor this */"
    }
    with pytest.raises(ValueError, match="line 2"):
        read_jsonc('{\n  "a": }')


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('{"include": ["src"]}', '{"include": ["src", "wsside-env.d.ts"]}'),
        ('{"include": []}', '{"include": ["wsside-env.d.ts"]}'),
        (
            '{\n  "include": [\n    "src",\n    "types",\n  ],\n}\n',
            '{\n  "include": [\n    "src",\n    "types",\n    "wsside-env.d.ts",\n  ],\n}\n',
        ),
        (
            '{\n\t"include": [\n\t\t"src" // the app\n\t]\n}\n',
            '{\n\t"include": [\n\t\t"src",\n\t\t"wsside-env.d.ts" // the app\n\t]\n}\n',
        ),
        ('{"files": ["main.ts"]}', '{"files": ["main.ts", "wsside-env.d.ts"]}'),
    ],
)
def test_add_entry_keeps_the_array_layout(before: str, after: str) -> None:
    assert add_entry(before, ENTRY) == after


def test_add_entry_leaves_every_other_byte_alone() -> None:
    edited = add_entry(APP_TSCONFIG, ENTRY)
    assert edited == APP_TSCONFIG.replace(
        '"include": ["src"]', '"include": ["src", "wsside-env.d.ts"]'
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"include": "src"}',  # not a list
        '{"include": ["src"], "include": ["lib"]}',  # twice: which one counts is unclear
        '{"include": ["src"',  # broken
        "[]",
    ],
)
def test_add_entry_refuses_what_it_cannot_edit_safely(text: str) -> None:
    assert add_entry(text, ENTRY) is None


@pytest.mark.parametrize(
    ("include", "included"),
    [
        ('["src"]', False),
        ('["src", "wsside-env.d.ts"]', True),
        ('["./wsside-env.d.ts"]', True),
        ('["*.d.ts"]', True),
        ('["**/*"]', True),
        ('["**/*.ts"]', True),
        ('["src/**/*.ts", "*.ts"]', True),
        ('["wsside-env"]', False),
        ('["."]', True),
        (None, True),  # no include, no files: TypeScript takes every file
    ],
)
def test_inclusion_reads_include_patterns(
    tmp_path: Path, include: str | None, included: bool
) -> None:
    body = "{}" if include is None else f'{{"include": {include}}}'
    (tmp_path / "tsconfig.json").write_text(body)
    state = inclusion(tmp_path)
    assert state.config == tmp_path / "tsconfig.json"
    assert state.included is included


def test_the_app_config_behind_references_is_the_one(tmp_path: Path) -> None:
    vite_ts_project(tmp_path)
    assert find_app_tsconfig(tmp_path) == tmp_path / "tsconfig.app.json"
    state = inclusion(tmp_path)
    assert (state.included, state.line) == (False, '"include": ["src", "wsside-env.d.ts"]')
    assert find_app_tsconfig(tmp_path / "ws") is None  # no tsconfig: not a TypeScript project


# ---- wsside init ---------------------------------------------------------------------------


def init(root: Path, status: int = 0) -> str:
    """`wsside init` in `root`, made a Node project first when it is not one: its output,
    once its exit status is checked (1: something is left for the user to do)."""
    package = root / "package.json"
    if not package.exists():
        package.write_text('{"name": "app", "private": true, "type": "module"}\n')
    done = subprocess.run(
        [VENV_PYTHON, "-m", "wsside", "init", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == status, done.stdout + done.stderr
    return done.stdout


def test_init_adds_the_file_to_the_app_tsconfig(tmp_path: Path) -> None:
    vite_ts_project(tmp_path)
    out = init(tmp_path)
    assert f'added {ENTRY} to "include" in tsconfig.app.json' in out
    assert (tmp_path / "tsconfig.app.json").read_text() == APP_TSCONFIG.replace(
        '"include": ["src"]', '"include": ["src", "wsside-env.d.ts"]'
    )
    assert (tmp_path / "tsconfig.json").read_text() == ROOT_TSCONFIG
    assert (tmp_path / "tsconfig.node.json").read_text() == NODE_TSCONFIG
    assert f"tsconfig.app.json already includes {ENTRY}" in init(tmp_path)


def test_a_tsconfig_that_starts_with_a_bom_is_read_and_keeps_it(tmp_path: Path) -> None:
    """tsc reads a tsconfig written with a UTF-8 BOM (as editors on Windows may); before,
    doctor and init said "cannot read tsconfig.json: ... Unexpected UTF-8 BOM"."""
    vite_ts_project(tmp_path)
    for name, text in (("tsconfig.json", ROOT_TSCONFIG), ("tsconfig.app.json", APP_TSCONFIG)):
        (tmp_path / name).write_text("\ufeff" + text, encoding="utf-8")
    assert types_check(tmp_path)[2] == (
        'in tsconfig.app.json: "include": ["src", "wsside-env.d.ts"]   (or run wsside init)'
    )
    out = init(tmp_path)
    assert f'added {ENTRY} to "include" in tsconfig.app.json' in out
    assert (tmp_path / "tsconfig.app.json").read_text(encoding="utf-8") == "\ufeff" + (
        APP_TSCONFIG.replace('"include": ["src"]', '"include": ["src", "wsside-env.d.ts"]')
    )
    assert types_check(tmp_path)[:2] == (
        "pass",
        f"tsconfig.app.json includes {ENTRY} (1 typed endpoint(s))",
    )


def test_init_prints_the_line_when_it_cannot_edit(tmp_path: Path) -> None:
    odd = '{\n  "include": ["src"],\n  "include": ["src"]\n}\n'
    (tmp_path / "tsconfig.json").write_text(odd)
    out = init(tmp_path, status=1)
    assert f"add {ENTRY} to tsconfig.json (the message types of the handlers):" in out
    assert '    "include": ["src", "wsside-env.d.ts"]' in out
    assert (tmp_path / "tsconfig.json").read_text() == odd


def test_init_leaves_javascript_projects_alone(tmp_path: Path) -> None:
    out = init(tmp_path)
    assert "tsconfig" not in out and not (tmp_path / "tsconfig.json").exists()


# ---- wsside doctor -----------------------------------------------------------------------------


def types_check(root: Path) -> tuple[str, str, str]:
    (check,) = run_checks(Project(root), [check_types_file])
    return check.status, check.message, check.fix


def test_doctor_warns_with_the_line_to_add(tmp_path: Path) -> None:
    vite_ts_project(tmp_path)
    assert types_check(tmp_path) == (
        "warn",
        f"tsconfig.app.json does not include {ENTRY}: the editor and tsc do not see the types "
        "of /ws/chat",
        'in tsconfig.app.json: "include": ["src", "wsside-env.d.ts"]   (or run wsside init)',
    )
    init(tmp_path)
    status, message, _ = types_check(tmp_path)
    assert (status, message) == (
        "pass",
        f"tsconfig.app.json includes {ENTRY} (1 typed endpoint(s))",
    )


def test_doctor_passes_without_typed_handlers_or_typescript(tmp_path: Path) -> None:
    vite_ts_project(tmp_path, handler='from wsside import Handler\nh = Handler("/x")\n')
    assert types_check(tmp_path)[:2] == ("pass", "no handler declares receives= or sends=")
    plain = write(tmp_path / "js", {"ws/chat.py": TYPED_HANDLER})
    assert types_check(plain)[:2] == ("pass", "not a TypeScript project (no tsconfig.json)")


def test_doctor_does_not_say_untyped_of_a_handler_file_that_does_not_load(
    tmp_path: Path,
) -> None:
    vite_ts_project(tmp_path, handler=TYPED_HANDLER.replace("class ChatIn(TypedDict):", "class ("))
    assert types_check(tmp_path)[:2] == (
        "pass",
        "not known for ws/chat.py, which does not load (see its check)",
    )


def test_doctor_names_an_unreadable_tsconfig(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"tsconfig.json": textwrap.dedent('{\n  "include": [\n'), "ws/chat.py": TYPED_HANDLER},
    )
    status, message, fix = types_check(tmp_path)
    assert status == "warn"
    assert message.startswith("cannot read tsconfig.json: line 3")
    assert fix == f'fix tsconfig.json, then list {ENTRY} in its "include"'
