"""The two packages as a user installs them, not as the other tests run them (the shim from
its folder, wsside from the editable install).

Both are built as a release is: `npm pack` for the plugin; for Python, the sdist from a clean
copy of this working tree and the wheel from that sdist, as `python -m build` does (a build in
the tree itself would pack whatever a stale `build/` still holds). The tarball goes into a
fresh Vite project by `npm install`; the wheel goes into that project's `.venv`, which the
plugin finds by itself, and whose only other path is this interpreter's site-packages for the
dependencies (as a plain entry, so the editable install's `.pth` never runs there). Then Vite
loads the packed plugin, which starts the wheel's sidecar; a WebSocket goes through Vite to a
handler; the packed client loads in Node (ESM and CommonJS) and in a page Vite serves, its
types resolve under tsc's `bundler` and `node16`; the wheel's `wsside doctor` passes.

Vite, TypeScript and @types/node come from the test tree's own node_modules (`make
node-deps`), and the build backend from the wheelhouse `make venv` fills beside this
interpreter (without it, pip fetches the backend from PyPI, as for any build).
"""

from __future__ import annotations

import email
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import wsside
from doctor_projects import free_port, one, start_vite, write

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

pytestmark = pytest.mark.slow  # about 10 s, nearly all of it building and starting

REPO = Path(__file__).resolve().parent.parent
SHIM = REPO / "node_shim"
NPM = json.loads((SHIM / "package.json").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
VITE = REPO / "tests" / "shim" / "node_modules" / "vite"
TYPES_NODE = SHIM / "node_modules" / "@types" / "node"
# The oldest TypeScript the client's types support, and the newest tested (check:client's pair).
COMPILERS = {
    "oldest": REPO / "tests" / "client" / "types" / "node_modules" / "typescript" / "bin" / "tsc",
    "newest": SHIM / "node_modules" / "typescript" / "bin" / "tsc",
}
# Documents that ship beside the code; every other file of the tarball must be loaded by it.
NPM_DOCS = {"package.json", "README.md", "LICENSE", "PROTOCOL.md"}
# The build backend as `make venv` keeps it (pyproject.toml's `build-system.requires`).
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
OFFLINE = ["--no-index", "--find-links", str(WHEELHOUSE)] if WHEELHOUSE.is_dir() else []

# What setuptools adds to any sdist beside the package: the metadata, the build's own files,
# the readme it shows, and README.md, which it always takes.
SDIST_EXTRAS = {
    "PKG-INFO",
    "setup.cfg",
    "pyproject.toml",
    "MANIFEST.in",
    "LICENSE",
    "README.md",
    PYPROJECT["project"]["readme"],
}
# A relative specifier in `import … from`, `export … from`, `import(…)`, a bare `import '…'`,
# or `new URL(…, import.meta.url)`: the files a module needs beside it.
RELATIVE_SPECIFIER = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\bnew\s+URL\(\s*)['"](\.\.?/[^'"]+)['"]"""
)

HANDLER = """\
import sys
from typing import Literal, TypedDict

import wsside
from wsside import Handler


class Say(TypedDict):
    type: Literal["say"]
    text: str


class Said(TypedDict):
    type: Literal["said"]
    text: str


class Where(TypedDict):
    type: Literal["where"]
    file: str
    prefix: str


echo = Handler("/echo", receives=Say, sends=Said | Where)


@echo.on_connect
def where(conn, request):
    conn.send({"type": "where", "file": wsside.__file__, "prefix": sys.prefix})


@echo.on_message
def said(conn, data):
    conn.send({"type": "said", "text": data["text"]})
"""

VITE_CONFIG = """\
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

export default defineConfig({ plugins: [wsside()] })
"""

# The page's script. The @ts-expect-error holds only if the wsside-env.d.ts that the wheel's
# generator wrote augments the packed client's types.
MAIN_TS = """\
import { connect } from 'vite-plugin-wsside/client'

const echo = connect('/echo')
echo.on('said', (m) => console.log(m.text.toUpperCase()))
echo.send({ type: 'say', text: 'hi' })
// @ts-expect-error: /echo receives `say` messages only
echo.send({ type: 'shout', text: 'hi' })
"""

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "es2022",
        "module": "esnext",
        "moduleResolution": "bundler",
        "lib": ["es2022", "dom"],
        "types": ["node"],
        # Resolution is what this checks; the declarations' own contents: npm run check:client.
        "skipLibCheck": True,
    },
    "include": ["vite.config.ts", "main.ts", "wsside-env.d.ts"],
}
TSCONFIG_NODE16 = {
    "extends": "./tsconfig.json",
    "compilerOptions": {"module": "node16", "moduleResolution": "node16"},
}

# One socket through Vite with the packed client: what the handler says, one line a message.
CLIENT = """\
import { connect } from 'vite-plugin-wsside/client'

const echo = connect('/echo', { url: process.argv[2], reconnect: false, timeout: 10000 })
echo.on('where', (m) => {
  console.log(JSON.stringify(m))
  echo.send({ type: 'say', text: 'through the packed plugin' })
})
echo.on('said', (m) => {
  console.log(JSON.stringify(m))
  echo.close()
})
"""

ESM_CONSUMER = """\
import wsside, { attachWsside } from 'vite-plugin-wsside'
import { connect } from 'vite-plugin-wsside/client'

console.log(JSON.stringify({
  kinds: [typeof wsside, typeof attachWsside, typeof connect],
  main: new URL(import.meta.resolve('vite-plugin-wsside')).pathname,
  client: new URL(import.meta.resolve('vite-plugin-wsside/client')).pathname,
}))
"""

# A CommonJS consumer (a vite.config.cjs under Vite 6+) on Node 20.19+, which require()s ES
# modules: it gets the module namespace, the plugin as its `default`.
CJS_CONSUMER = """\
const main = require('vite-plugin-wsside')
const client = require('vite-plugin-wsside/client')

console.log(JSON.stringify({
  kinds: [typeof main.default, typeof main.attachWsside, typeof client.connect],
  main: require.resolve('vite-plugin-wsside'),
  client: require.resolve('vite-plugin-wsside/client'),
}))
"""


class App(NamedTuple):
    root: Path
    python: Path  # the project's .venv
    site_packages: Path  # where the wheel went

    @property
    def packed(self) -> Path:
        return self.root / "node_modules" / NPM["name"]


def run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command to its end; its stdout, or the test fails with everything it said."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}",
            pytrace=False,
        )
    return done.stdout


def user_env() -> dict[str, str]:
    """A user's shell: nothing points the plugin, Python or PATH at this checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WSSIDE_PYTHON", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not Path(p).is_relative_to(REPO)
    )
    env["NO_COLOR"] = "1"
    return env


def export_targets(exports: Any) -> set[str]:
    """Every file an `exports` map points at."""
    if isinstance(exports, str):
        return {exports}
    return set().union(*(export_targets(v) for v in exports.values()))


def loaded_files(entries: Iterable[str]) -> set[str]:
    """The shim's files the entries need, following relative imports and `new URL(…)` reads."""
    needed: set[str] = set()
    todo = [posixpath.normpath(e) for e in entries]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        if not name.endswith(".js") or not (SHIM / name).is_file():
            continue
        text = (SHIM / name).read_text(encoding="utf-8")
        for spec in RELATIVE_SPECIFIER.findall(text):
            todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), spec)))
    return needed


def source_files() -> list[str]:
    """What a clean clone of this working tree holds: tracked and new files, as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    return [p for p in listed.split("\0") if p and os.path.lexists(REPO / p)]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("npm-pack")
    run(["npm", "pack", "--silent", "--pack-destination", str(out)], cwd=SHIM)
    (packed,) = out.glob("*.tgz")
    yield packed
    shutil.rmtree(out)


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("sdist")
    clone = work / "src"
    for name in source_files():
        source, copy = REPO / name, clone / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, copy)
    # The backend pyproject.toml asks for, where only this build sees it (pip does the same
    # for the wheel below).
    backend = work / "backend"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", *OFFLINE, "--target", str(backend)]
    run([*pip, *PYPROJECT["build-system"]["requires"]])
    hook = "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    name = run(
        [sys.executable, "-c", hook, str(work)],
        cwd=clone,
        env=dict(os.environ, PYTHONPATH=str(backend)),
    ).split()[-1]
    yield work / name
    shutil.rmtree(work)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, sdist: Path) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *OFFLINE]
    run([*pip, "--wheel-dir", str(out), str(sdist)])
    (built,) = out.glob("wsside-*.whl")
    yield built
    shutil.rmtree(out)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, tarball: Path, wheel: Path) -> Iterator[App]:
    root = tmp_path_factory.mktemp("release") / "app"
    write(
        root,
        {
            "package.json": json.dumps(
                {
                    "name": "release-app",
                    "private": True,
                    "type": "module",
                    "devDependencies": {NPM["name"]: f"file:{tarball}"},
                }
            ),
            "vite.config.ts": VITE_CONFIG,
            "index.html": '<!doctype html><script type="module" src="/main.ts"></script>\n',
            "main.ts": MAIN_TS,
            "tsconfig.json": json.dumps(TSCONFIG),
            "tsconfig.node16.json": json.dumps(TSCONFIG_NODE16),
            "ws/echo.py": HANDLER,
            "client.mjs": CLIENT,
            "consumer.mjs": ESM_CONSUMER,
            "consumer.cjs": CJS_CONSUMER,
        },
    )
    # The peer (Vite) is linked from the test tree afterwards: npm would fetch it otherwise.
    run(["npm", "install", "--offline", "--no-audit", "--no-fund", "--legacy-peer-deps"], root)
    (root / "node_modules" / "vite").symlink_to(VITE, target_is_directory=True)
    (root / "node_modules" / "@types").mkdir()
    (root / "node_modules" / "@types" / "node").symlink_to(TYPES_NODE, target_is_directory=True)

    venv = root / ".venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    # Installed before the dependencies' path is added, so that pip sees no other wsside.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    run([*pip, "--no-deps", "--no-index", str(wheel)])
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(run([str(python), "-c", where]).strip())
    # Plain path lines: Python reads no .pth file of those folders, so the editable install's
    # (a path to sidecar/, or a finder on sys.meta_path) never runs in this venv.
    ours = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    (site / "wsside-test-dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    yield App(root, python, site)
    shutil.rmtree(root.parent)


@pytest.fixture(scope="module")
def vite(app: App) -> Iterator[tuple[int, list[str]]]:
    """Vite serving the app, once the sidecar it started is ready: its port and output."""
    port = free_port()
    log: list[str] = []
    for _ in start_vite(app.root, port, user_env(), log):
        yield port, log


def test_the_tarball_holds_what_the_plugin_loads_and_nothing_else(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        shipped = {m.name.removeprefix("package/") for m in tar.getmembers() if m.isfile()}
    bins = NPM.get("bin", {}).values()
    needed = loaded_files({NPM["main"], NPM["types"], *export_targets(NPM["exports"]), *bins})
    missing = needed - shipped
    assert not missing, f"package.json's files leave out what the code loads: {missing}"
    extra = shipped - needed - NPM_DOCS
    assert not extra, f"the tarball ships files nothing loads (tests, scratch, maps?): {extra}"


def test_the_sdist_and_the_wheel_hold_the_package_and_nothing_else(
    sdist: Path, wheel: Path
) -> None:
    package = {p for p in source_files() if p.startswith("sidecar/wsside/")}
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if not m.isdir()]
    assert all(m.isfile() for m in members), "the sdist holds links: a copy must replace them"
    top = f"{sdist.name.removesuffix('.tar.gz')}/"
    in_sdist = {m.name.removeprefix(top) for m in members}
    in_sdist -= {n for n in in_sdist if n.startswith("sidecar/wsside.egg-info/")}
    docs = {p for p in source_files() if p.startswith("docs/")}  # README.md's links
    wanted = package | docs | SDIST_EXTRAS
    assert not in_sdist - wanted, f"the sdist ships more (MANIFEST.in): {in_sdist - wanted}"
    assert not wanted - in_sdist, f"the sdist leaves out: {wanted - in_sdist}"

    with zipfile.ZipFile(wheel) as whl:
        in_wheel = {n for n in whl.namelist() if not n.startswith("wsside-")}
    wanted = {p.removeprefix("sidecar/") for p in package}
    extra, missing = in_wheel - wanted, wanted - in_wheel
    assert not extra, f"the wheel ships files the source no longer has (a stale build/?): {extra}"
    # A file of the package folder is either read at run time, so package-data in
    # pyproject.toml, or does not belong in that folder.
    assert not missing, f"the wheel leaves out files of the package folder: {missing}"


def test_both_packages_carry_the_same_interpreter_rules(tarball: Path, wheel: Path) -> None:
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("package/interpreter-rules.json")
        assert member is not None
        npm_rules = member.read()
    assert npm_rules == (SHIM / "interpreter-rules.json").read_bytes()
    with zipfile.ZipFile(wheel) as whl:
        info = whl.getinfo("wsside/interpreter-rules.json")
        assert (info.external_attr >> 16) & 0o170000 != 0o120000  # a file, not the repo's link
        assert whl.read(info) == npm_rules


def test_the_wheel_says_what_pypi_shows(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(whl.read(name))
        licence = next(n for n in whl.namelist() if n.endswith(".dist-info/licenses/LICENSE"))
        assert whl.read(licence) == (REPO / "LICENSE").read_bytes()
    assert meta["Version"] == wsside.__version__
    assert meta["License-Expression"] == "MIT"
    assert meta["Author"] == "the wsside authors"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert urls["Repository"].startswith("https://") and urls["Homepage"].startswith("https://")
    assert "Programming Language :: Python :: 3.10" in meta.get_all("Classifier")
    assert meta.get_payload() == (REPO / PYPROJECT["project"]["readme"]).read_text()


def test_a_websocket_through_vite_reaches_the_wheel_s_handler(
    app: App, vite: tuple[int, list[str]]
) -> None:
    port, log = vite
    ready = next(line for line in log if "sidecar ready" in line)
    assert str(app.python) in ready, ready
    out = run(
        ["node", "--experimental-websocket", "client.mjs", f"ws://127.0.0.1:{port}/api/echo"],
        app.root,
        user_env(),
    )
    lines = out.splitlines()
    assert len(lines) == 2, f"the client got {out!r}; Vite said:\n{''.join(log)}"
    where, said = map(json.loads, lines)
    assert Path(where["file"]).resolve() == (app.site_packages / "wsside" / "__init__.py").resolve()
    assert Path(where["prefix"]).resolve() == (app.root / ".venv").resolve()
    assert said == {"type": "said", "text": "through the packed plugin"}


@pytest.mark.parametrize("consumer", ["consumer.mjs", "consumer.cjs"])
def test_both_entries_load_from_the_packed_copy(app: App, consumer: str) -> None:
    found = json.loads(run(["node", consumer], app.root, user_env()))
    assert found["kinds"] == ["function", "function", "function"]
    assert not app.packed.is_symlink()
    exports = NPM["exports"]
    assert Path(found["main"]) == app.packed / exports["."]["default"]
    assert Path(found["client"]) == app.packed / exports["./client"]["default"]


@pytest.mark.usefixtures("vite")  # whose sidecar writes wsside-env.d.ts
@pytest.mark.parametrize("tsconfig", ["tsconfig.json", "tsconfig.node16.json"])
@pytest.mark.parametrize("compiler", sorted(COMPILERS))
def test_the_packed_types_resolve(app: App, compiler: str, tsconfig: str) -> None:
    assert (app.root / "wsside-env.d.ts").is_file(), "the plugin wrote no wsside-env.d.ts"
    listed = run(["node", str(COMPILERS[compiler]), "-p", tsconfig, "--listFiles"], app.root)
    program = {Path(line.strip()) for line in listed.splitlines()}
    exports = NPM["exports"]
    assert app.packed / exports["."]["types"] in program
    assert app.packed / exports["./client"]["types"] in program


def test_vite_serves_the_packed_client_to_a_page(app: App, vite: tuple[int, list[str]]) -> None:
    base = f"http://127.0.0.1:{vite[0]}"
    with urllib.request.urlopen(f"{base}/main.ts", timeout=30) as response:
        page = response.read().decode()
    found = re.search(r"""from ["'](/[^"']*vite-plugin-wsside[^"']*)["']""", page)
    assert found, page
    with urllib.request.urlopen(base + found[1], timeout=30) as response:
        assert "function connect(" in response.read().decode()


def test_the_wheel_s_doctor_passes_the_installed_pair(
    app: App, vite: tuple[int, list[str]]
) -> None:
    done = subprocess.run(
        [
            str(app.python.parent / "wsside"),
            "doctor",
            "--json",
            "--url",
            f"http://127.0.0.1:{vite[0]}",
        ],
        cwd=app.root,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout or "{}")
    assert done.returncode == 0 and report.get("ok"), done.stdout + done.stderr
    interpreter = one(report, "interpreter")["message"]
    assert str(app.python) in interpreter and "(the .venv beside vite.config)" in interpreter, (
        interpreter
    )
    # The shim's protocol is read from the packed lib/protocol.js.
    shim = one(report, "shim")["message"]
    versions = re.findall(r"control protocol (\d+)", shim)
    assert len(versions) == 2 and versions[0] == versions[1], shim


def test_npx_wsside_runs_the_wheel_s_command_of_the_venv_beside_vite_config(app: App) -> None:
    """The packed plugin's `wsside` bin, as `npx wsside` finds it in node_modules/.bin: the
    command of the interpreter the plugin runs (the .venv beside vite.config)."""
    done = subprocess.run(
        ["npx", "--no-install", "wsside", "--version"],
        cwd=app.root,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (0, f"{wsside.__version__}\n"), (
        done.stdout + done.stderr
    )
