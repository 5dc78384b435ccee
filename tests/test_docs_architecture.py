"""docs/architecture.md against the code it describes, so that the map cannot drift from it.

The rules of tests/test_layers.py that the page lists are read from that test's own constants
(the layers in order, the loader's hooks and their files, the modules `wsside/__init__.py`
loads on first use, aiohttp's public modules, the standard library's private names allowed,
the packages `import wsside` leaves out), and every package folder or module the page names
(a backticked name ending in `.py` or `/`, and the module paths of its diagrams) exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import test_layers as layers

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"
PACKAGE = layers.PACKAGE
# Where a path the page names may be, as written: in the package (most of them), at the root
# of the repository (`tests/...`, `node_shim/`), beside the package (`wsside/__init__.py`), or
# in the shim's folder (its table of files, relative to `node_shim/`).
BASES = (PACKAGE, REPO, PACKAGE.parent, REPO / "node_shim")
# Backticked names that end like a path but are none of the repository's.
NOT_PATHS = {"_name.py": "a user's helper file, as the page's example"}
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)


def page() -> str:
    return DOC.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text under the `## title` heading, up to the next `## ` heading."""
    text = page()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def rules() -> str:
    """The page's list of what tests/test_layers.py holds the package to."""
    layers_section = section("The layers")
    start = layers_section.index("`tests/test_layers.py` reads every module's imports")
    return layers_section[start : layers_section.index("### The interfaces between them")]


def test_the_layers_are_listed_in_their_order() -> None:
    text = section("The layers")
    found = re.search(r"From\s+the\s+bottom\s+up:\s+(.*?)\.\s", text, re.S)
    assert found, "docs/architecture.md no longer says the layers 'From the bottom up: ...'"
    listed = [name.strip().strip("`").rstrip("/") for name in found.group(1).split("→")]
    assert listed == list(layers.LAYERS), "the layers as the page lists them"
    # The diagram draws each layer but the declarations as a folder of the package, top down.
    [diagram] = FENCE.findall(text)
    drawn = re.findall(r"^  (\S+)\s", diagram, re.M)
    folders = [name for name in drawn if name.endswith("/")]
    expected = [f"{name}/" for name in reversed(layers.LAYERS[1:])]
    assert folders == expected, "the layers as the diagram draws them, top down"
    assert all((PACKAGE / name).is_dir() for name in layers.LAYERS[1:])


def test_the_loader_hooks_and_their_files_are_listed() -> None:
    """The page's `(`LOADER_HOOKS`: ...)` is the test's list, and it says where each is
    defined: the file most are in, and "`file` for `name`" for each of the others."""
    text = rules()
    listed = re.search(r"\(`LOADER_HOOKS`:\s*(.*?)\)", text, re.S)
    assert listed, "docs/architecture.md no longer lists `LOADER_HOOKS`: ..."
    assert sorted(re.findall(r"`(\w+)`", listed.group(1))) == sorted(layers.LOADER_HOOKS), (
        "the page's list of the hooks"
    )
    files = list(layers.LOADER_HOOKS.values())
    most = max(set(files), key=files.count)
    expected = [f"`{most}`"] + [
        f"`{file}` for `{name}`" for name, file in layers.LOADER_HOOKS.items() if file != most
    ]
    missing = [said for said in expected if said not in " ".join(text.split())]
    assert not missing, "where the hooks are defined, not in the page: " + ", ".join(missing)


def test_the_modules_loaded_on_first_use_are_named() -> None:
    text = rules()
    paths = ["/".join(module.split(".")[1:]) + ".py" for module in sorted(layers.LAZY_PUBLIC)]
    missing = [path for path in paths if f"`{path}`" not in text]
    assert not missing, "LAZY_PUBLIC not in docs/architecture.md's rules: " + ", ".join(missing)


def test_the_other_lists_of_the_layers_test_are_named() -> None:
    text = rules()
    engine = "/".join(layers.ENGINE.split(".")[1:]) + ".py"
    expected = [
        f"`{engine}`",
        *(f"`{module}`" for module in sorted(layers.AIOHTTP_PUBLIC)),
        *(f"`{module}.{name}`" for module, name in sorted(layers.ALLOWED_PRIVATE)),
    ]
    missing = [name for name in expected if name not in text]
    missing += [name for name in layers.HEAVY if not re.search(rf"\b{name}\b", text)]
    assert not missing, "not in docs/architecture.md's rules: " + ", ".join(missing)


def named_paths(text: str) -> set[str]:
    """The backticked names ending in `.py` or `/`, and the module paths in code blocks."""
    found = set(re.findall(r"`([^`\s]+(?:\.py|/))`", text))
    for block in FENCE.findall(text):
        found |= set(re.findall(r"(?<![\w./`-])((?:\w+/)*\w+(?:\.py|/))(?![\w`])", block))
    return {name for name in found if "://" not in name and name not in NOT_PATHS}


def exists(name: str) -> bool:
    if "/" not in name.rstrip("/"):
        # A bare module or folder name, as the diagrams write them inside their layer: a
        # file or folder of that name somewhere in the package (or at a base, `node_shim/`).
        if any((base / name).exists() for base in BASES):
            return True
        return any(PACKAGE.rglob(name.rstrip("/")))
    return any(any(base.glob(name.rstrip("/"))) for base in BASES)


def test_every_path_the_page_names_exists() -> None:
    names = named_paths(page())
    assert {"_edge/asgi.py", "testing/", "cli/", "handler.py"} <= names  # the scan works
    missing = sorted(name for name in names if not exists(name))
    assert not missing, "docs/architecture.md names paths that do not exist: " + ", ".join(missing)


def test_the_path_check_sees_a_missing_path() -> None:
    # `testing.py` is what the page said before the layer became the folder `testing/`.
    text = (
        "`_edge/asgi.py`, `_edge/gone.py`, `testing.py` and `handler.py`\n"
        "```\n  testing/   a layer\n  nowhere/   another\n        │  `server.py`\n```\n"
    )
    names = named_paths(text)
    assert names == {
        "_edge/asgi.py",
        "_edge/gone.py",
        "testing.py",
        "handler.py",
        "testing/",
        "nowhere/",
        "server.py",
    }
    assert sorted(name for name in names if not exists(name)) == [
        "_edge/gone.py",
        "nowhere/",
        "testing.py",
    ]


def misplaced(text: str) -> list[str]:
    """Bare module names that are not where the line puts them: after `folder/x.py`, a bare
    `y.py` on the same line is `folder/y.py` (as the tables write a module's neighbours), or
    a declaration at the package's top."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        folder = None
        for name in re.findall(r"`([^`\s]+\.py)`", line):
            if "/" in name:
                folder = name.rsplit("/", 1)[0]
            elif (
                folder is not None
                and not (PACKAGE / name).exists()
                and not any((base / folder / name).exists() for base in BASES)
            ):
                found.append(f"line {n}: {name} after {folder}/")
    return found


def test_a_bare_module_name_is_in_the_folder_named_before_it() -> None:
    wrong = misplaced(page())
    assert not wrong, "docs/architecture.md puts modules in the wrong folder: " + "; ".join(wrong)


def test_the_folder_check_sees_a_module_moved() -> None:
    # `js_text.py` moved from `_runtime/` to `_project/`; `_signatures.py` is a declaration.
    text = "`_runtime/typescript.py` (`js_text.py`, `namespaces.py`, `_signatures.py`)\n"
    assert misplaced(text) == ["line 1: js_text.py after _runtime/"]
