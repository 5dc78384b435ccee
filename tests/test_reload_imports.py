"""Hot reload and the ways handler files reach their code: a helper in a helper package
imported as `from _lib import db`, a helper first imported inside a callback, a file waiting
on a duplicate pattern, and symlinks (a handler file linked from elsewhere, a linked folder).

test_reload's in-process sidecar with reload on, real files, a real watcher and real sockets;
waits are on status events, bounded.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import test_reload
from test_reload import Live, ask, versioned

# test_reload's in-process sidecar with reload on, and the events it emits.
live = test_reload.live

HELPERS = ("_lib", "_lib.db", "_fmt", "_store", "_cache")


@pytest.fixture(autouse=True)
def helpers_forgotten(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from test_reload.modules_forgotten(monkeypatch, HELPERS)


# In load order: another form's reload imports `_lib.db` again, which fixed the package's
# attribute for the files loaded after it.
IMPORT_FORMS = {
    "a_from_package": ("from _lib import db", "db.V"),
    "from_module": ("from _lib.db import V", "V"),
    "dotted": ("import _lib.db", "_lib.db.V"),
    "dotted_as": ("import _lib.db as db", "db.V"),
}


@pytest.mark.parametrize("package", ["regular", "namespace"])
async def test_a_helper_in_a_helper_package_reloads_for_every_import_form(
    live: Live, package: str
) -> None:
    """`from _lib import db` read the package's attribute `db`, the old module, after the
    save dropped `_lib.db` from `sys.modules`: its file reloaded with the old value."""
    (live.folder / "_lib").mkdir()
    if package == "regular":
        live.write("_lib/__init__.py", "")
    live.write("_lib/db.py", "V = 1\n")
    for name, (statement, value) in IMPORT_FORMS.items():
        live.write(
            f"{name}.py",
            f"{statement}\nfrom wsside import Handler\nh = Handler('/ws/{name}')\n\n"
            f"@h.on_message\ndef reply(conn, data):\n    conn.send({{'V': {value}}})\n",
        )
    await live.start()
    conns = {name: await live.connect(f"/api/ws/{name}") for name in IMPORT_FORMS}
    replies = {name: await ask(ws) for name, ws in conns.items()}
    assert replies == {name: {"V": 1} for name in IMPORT_FORMS}
    mark = len(live.events)
    live.write("_lib/db.py", "V = 2\n")
    for name in IMPORT_FORMS:
        await live.reloaded(f"{name}.py", mark)
    replies = {name: await ask(ws) for name, ws in conns.items()}
    assert replies == {name: {"V": 2} for name in IMPORT_FORMS}


async def test_a_file_waiting_on_a_duplicate_pattern_loads_once_when_one_save_frees_it(
    live: Live,
) -> None:
    """One batch (a checkout): b.py, refused for /ws/x, is edited, and a.py gives /ws/x up.
    a.py's load freed the pattern and loaded b.py; b.py's own pending load imported it again."""
    live.write("a.py", versioned(1, "/ws/x"))
    live.write("b.py", versioned(2, "/ws/x"))
    await live.start()
    ws = await live.connect("/api/ws/x")
    assert (await ask(ws))["version"] == 1
    mark = len(live.events)
    live.write("b.py", versioned(3, "/ws/x"))  # first: in a later batch, it is refused first
    live.write("a.py", versioned(1, "/ws/a"))
    await live.reloaded("a.py", mark)
    await live.reloaded("b.py", mark)
    await live.settle()
    loads = [
        e for e in live.events[mark:] if e["type"] == "reloaded" and e["file"].endswith("b.py")
    ]
    assert len(loads) == 1, loads
    assert (await ask(ws))["version"] == 3


LAZY = textwrap.dedent("""
    import _fmt
    from wsside import Handler
    h = Handler("/ws/lazy")

    @h.on_message
    def reply(conn, data):
        import _cache, _store  # first imported here, not while the file loads
        _store.SEEN.append(data)
        _cache.SEEN.append(data)
        conn.send({"store": _store.SEEN, "cache": _cache.SEEN, "fmt": _fmt.V})
""")


async def test_a_helper_imported_in_a_callback_is_dropped_only_if_it_imports_the_saved_one(
    live: Live,
) -> None:
    """Such a helper was taken to import every helper: any helper's save dropped it, and
    its state with it. Its imports are read from its source instead (inside functions too)."""
    live.write("lazy.py", LAZY)
    live.write("_fmt.py", "V = 1\n")
    live.write("_store.py", "SEEN = []\n")
    live.write("_cache.py", "SEEN = []\n\ndef version():\n    from _fmt import V\n    return V\n")
    live.write("_other.py", "X = 1\n")
    await live.start()
    ws = await live.connect("/api/ws/lazy")
    await ws.send_json("a")
    assert await ws.receive_json(timeout=5) == {"store": ["a"], "cache": ["a"], "fmt": 1}
    live.write("_other.py", "X = 2\n")  # imported by no module
    await live.settle()
    mark = len(live.events)
    live.write("_fmt.py", "V = 2\n")
    await live.reloaded("lazy.py", mark)
    await ws.send_json("b")
    # _store imports nothing saved: kept. _cache imports _fmt: dropped, starts afresh.
    assert await ws.receive_json(timeout=5) == {"store": ["a", "b"], "cache": ["b"], "fmt": 2}


async def test_a_symlinked_folder_of_handler_files_is_named_at_start(
    live: Live, tmp_path: Path
) -> None:
    """rglob and the watch do not go into it: its files were silently not served."""
    common, static = tmp_path / "common", tmp_path / "static"
    common.mkdir()
    static.mkdir()
    (common / "shared.py").write_text(versioned(1, "/ws/shared"))
    (static / "logo.svg").write_text("<svg/>")
    os.symlink(common, live.folder / "shared")
    os.symlink(static, live.folder / "static")  # no handler files: nothing to say
    live.write("chat.py", versioned(1))
    await live.start()
    warnings = [
        e["message"] for e in live.events if e["type"] == "log" and "symlink" in e["message"]
    ]
    assert warnings == [
        f"{live.folder / 'shared'} is a symlink to {common}, and wsside does not look into "
        f"symlinked folders: its handler files ({live.folder / 'shared' / 'shared.py'} and any "
        f"others) are not served. Move them into {live.folder}, or point `handlers` at that "
        "folder, or link each file rather than the folder"
    ]


async def test_editing_the_target_of_a_symlinked_handler_file_reloads_it(
    live: Live, tmp_path: Path
) -> None:
    """The target was taken for a module imported from outside the folder: its edit said
    "restart" (or nothing) instead of reloading the file."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "s_impl.py").write_text(versioned(1))
    os.symlink(shared / "s_impl.py", live.folder / "chat.py")
    await live.start()
    ws = await live.connect("/api/ws/chat")
    assert (await ask(ws))["version"] == 1
    mark = len(live.events)
    (shared / "s_impl.py").write_text(versioned(2))  # in place, as VS Code saves
    await live.reloaded("chat.py", mark)
    assert (await ask(ws))["version"] == 2
    mark = len(live.events)
    replaced = shared / "s_impl.py.tmp"  # an atomic save: written beside, renamed over
    replaced.write_text(versioned(3))
    os.replace(replaced, shared / "s_impl.py")
    await live.reloaded("chat.py", mark)
    assert (await ask(ws))["version"] == 3
    assert not [e for e in live.events if e["type"] == "log" and "restart" in e["message"]]
