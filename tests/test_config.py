"""The config file: discovery, every error naming file and key, precedence, handler defaults."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from serve_process import ServeProcess, free_port
from support import raw_upgrade
from wsside._runtime.config import (
    ConfigError,
    build_settings,
    find_config,
    load_config,
)
from wsside._runtime.config_keys import DEFAULT_KEYS, TOP_KEYS
from wsside._runtime.origins import origin_problem
from wsside.handler_options import Deflate


def test_wsside_toml_sets_every_key(tmp_path: Path) -> None:
    (tmp_path / "wsside.toml").write_text(
        'prefix = ["/x/", "y"]\nhandlers = "back/ws"\nhost = "127.0.0.2"\nport = 9000\n'
        'log_level = "debug"\nreload = false\n'
        "[defaults]\nheartbeat = 20\ninactivity_timeout = false\nmax_message_size = 1024\n"
        "per_message_deflate = { server_max_window_bits = 10 }\ndelay = 0.5\n"
        'subprotocols = ["v2", "v1"]\nerror_details = false\n'
    )
    values, source = load_config(tmp_path)
    assert source == tmp_path / "wsside.toml"
    assert values == {
        "prefixes": ("/x", "/y"),
        "handlers_dir": tmp_path / "back/ws",
        "host": ("127.0.0.2",),
        "port": 9000,
        "log_level": "debug",
        "reload": False,
        "handler_defaults": {
            "heartbeat": 20.0,
            "inactivity_timeout": None,
            "max_message_size": 1024,
            "per_message_deflate": Deflate(server_max_window_bits=10),
            "delay": 0.5,
            "subprotocols": ("v2", "v1"),
            "error_details": False,
        },
    }


def test_pyproject_table_is_found_and_wsside_toml_wins(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "app"\n')
    assert find_config(tmp_path) is None  # a pyproject.toml without [tool.wsside] is not one
    pyproject.write_text('[project]\nname = "app"\n[tool.wsside]\nport = 7000\n')
    assert load_config(tmp_path) == ({"port": 7000}, pyproject)
    (tmp_path / "wsside.toml").write_text("port = 7001\n")
    values = load_config(tmp_path)[0]
    assert values["port"] == 7001 and "[tool.wsside] is not read" in values["config_notes"][0]


def test_discovery_order_and_no_config(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert build_settings({}, search=(first, second)).config_file is None
    (second / "wsside.toml").write_text("port = 2\n")
    assert build_settings({}, search=(tmp_path / "missing", first, second)).port == 2
    (first / "wsside.toml").write_text("port = 1\n")
    assert build_settings({}, search=(first, second)).port == 1


def test_precedence_explicit_then_file_then_defaults(tmp_path: Path) -> None:
    config = tmp_path / "wsside.toml"
    config.write_text('port = 9100\nhost = "127.0.0.3"\n')
    settings = build_settings({"port": 9200, "host": None, "reload": None}, config)
    assert (settings.port, settings.host, settings.reload) == (9200, ("127.0.0.3",), True)
    assert (settings.prefixes, settings.config_file) == (("/api",), config)


@pytest.mark.parametrize(
    "text, key, expected",
    [
        ('port = "abc"', "port", 'expected an integer from 0 to 65535, got "abc"'),
        ("port = 70000", "port", "expected an integer from 0 to 65535, got 70000"),
        ("port = true", "port", "expected an integer from 0 to 65535, got true"),
        ("zzz = 1", "zzz", "unknown key; expected one of prefix, handlers, host, port"),
        ("prot = 1", "prot", 'unknown key; did you mean "port"? expected one of prefix,'),
        ("hearbeat = 30", "hearbeat", 'unknown key; did you mean "heartbeat" under [defaults]?'),
        ("shutdown_timeout = inf", "shutdown_timeout", "expected seconds, 0.1 or more, got inf"),
        (
            "[defaults]\nheartbeat = nan",
            "defaults.heartbeat",
            "expected seconds > 0, or false (off), got nan",
        ),
        (
            "[defaults]\ninactivity_timeout = inf",
            "defaults.inactivity_timeout",
            "expected seconds > 0, or false (off), got inf",
        ),
        ("[defaults]\ndelay = -inf", "defaults.delay", "expected seconds >= 0, got -inf"),
        (
            "[defaults]\nerror_details = 0",
            "defaults.error_details",
            "expected true or false, got 0",
        ),
        (
            'allowed_origins = ["http://devbox:5173/"]',
            "allowed_origins",
            '"http://devbox:5173/": not an origin (scheme://host[:port], lower case, no default '
            "port, nothing after); did you mean http://devbox:5173?",
        ),
        (
            'allowed_origins = ["devbox"]',
            "allowed_origins",
            '"devbox": not an origin: expected scheme://host[:port], e.g. http://devbox:5173',
        ),
        (
            'allowed_origins = ["https://a.example,https://b.example"]',
            "allowed_origins",
            '"https://a.example,https://b.example": one origin, not a list: give each on its own',
        ),
        (
            'allowed_origins = ["https://*.example.com"]',
            "allowed_origins",
            '"https://*.example.com": not an origin: a wildcard matches nothing',
        ),
        (
            'backplane = "${REDIS_URL}"',
            "backplane",
            "got '${REDIS_URL}'; a config file expands no variables: pass --backplane "
            '"$REDIS_URL", or write the file at start (docs/deploy.md)',
        ),
        (
            'backplane = "redis://localhost:99999/0"',
            "backplane",
            "cannot read 'redis://localhost:99999/0' as a URL (Port out of range 0-65535)",
        ),
        ("backplane = 6379", "backplane", "expected a Redis URL: redis://[user:password@]host"),
        ("heartbeat = 30", "heartbeat", "a handler option: set it under [defaults], or in Handler"),
        (
            "prefix = 5",
            "prefix",
            'expected a URL path such as "/api" (no spaces, query or fragment), or a non-empty '
            "list of them, got 5",
        ),
        ("prefix = []", "prefix", "or a non-empty list of them, got []"),
        ("handlers = 1", "handlers", "expected a folder path (a string), got 1"),
        (
            'host = ""',
            "host",
            'expected a host name or address (a string), or a non-empty list of them, got ""',
        ),
        ('log_level = "loud"', "log_level", "expected one of debug, info, warning, error"),
        ('reload = "yes"', "reload", 'expected true or false, got "yes"'),
        ("defaults = 3", "defaults", "expected a table of handler options, got 3"),
        (
            '[defaults]\nheartbeat = "30"',
            "defaults.heartbeat",
            'expected seconds > 0, or false (off), got "30"',
        ),
        (
            "[defaults]\nheartbeat = -1",
            "defaults.heartbeat",
            "expected seconds > 0, or false (off), got -1",
        ),
        (
            "[defaults]\nmax_message_size = 0",
            "defaults.max_message_size",
            "expected a number of bytes > 0, got 0",
        ),
        ("[defaults]\ndelay = -1", "defaults.delay", "expected seconds >= 0, got -1"),
        (
            '[defaults]\nheartbeat = 30\nhealth = "/healthz"',
            "defaults.health",
            '"health" is a setting of the server, not a handler option: put it above '
            "[defaults] (a key below a [table] line belongs to that table)",
        ),
        (
            '[defaults]\nsubprotocols = "v1"',
            "defaults.subprotocols",
            'expected a list of non-empty strings, got "v1"',
        ),
        (
            "[defaults]\nsubprotocols = [1]",
            "defaults.subprotocols",
            "expected a list of non-empty strings, got [1]",
        ),
        (
            "[defaults]\nper_message_deflate = 1",
            "defaults.per_message_deflate",
            "expected true, false or a table of Deflate settings, got 1",
        ),
        (
            "[defaults]\nper_message_deflate = { server_max_window_bits = 7 }",
            "defaults.per_message_deflate.server_max_window_bits",
            "expected an integer from 8 to 15, got 7",
        ),
        (
            "[defaults]\nper_message_deflate = { strict = 1 }",
            "defaults.per_message_deflate.strict",
            "expected true or false, got 1",
        ),
        (
            "[defaults]\nper_message_deflate = { level = 1 }",
            "defaults.per_message_deflate.level",
            "unknown Deflate setting",
        ),
        (
            "[defaults]\nheartbaet = 3",
            "defaults.heartbaet",
            'unknown handler option; did you mean "heartbeat"? expected one of heartbeat',
        ),
        (
            "[defaults]\nauthenticate = true",
            "defaults.authenticate",
            "a Handler() option that is each handler's own, not a default: set it in "
            "Handler(...); a default is one of heartbeat, inactivity_timeout",
        ),
        (
            '[defaults]\ndefault_room = "lobby"',
            "defaults.default_room",
            "a Handler() option that is each handler's own, not a default",
        ),
        (
            "[defaults]\nself = 1",
            "defaults.self",
            "unknown handler option; expected one of heartbeat",
        ),
    ],
)
def test_errors_name_the_file_the_key_and_what_is_expected(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    config = tmp_path / "wsside.toml"
    config.write_text("# wsside settings\n" + text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    line = text.count("\n") + 2  # the line that sets the key
    assert str(caught.value).startswith(f'{config}:{line}: key "{key}": ')
    assert expected in str(caught.value)
    assert caught.value.key == key
    assert caught.value.line == line


def test_pyproject_errors_name_the_full_key(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.black]\nport = 1\n[tool.wsside]\nport = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(pyproject)
    assert str(caught.value).startswith(f'{pyproject}:4: key "tool.wsside.port": expected')
    assert caught.value.line == 4
    pyproject.write_text("[tool.wsside]\nheartbeat = 30\n")
    with pytest.raises(ConfigError, match=r"set it under \[tool\.wsside\.defaults\]"):
        load_config(pyproject)


@pytest.mark.parametrize(
    "name, content, expected",
    [
        (
            "wsside.toml",
            b"port = 1\n# caf\xe9\n",
            "2: not UTF-8 text (byte 0xe9 on line 2): save it as UTF-8",  # file:line: ...
        ),
        ("pyproject.toml", b"tool = 3\n", ' key "tool": expected a table, got 3'),
        (
            "pyproject.toml",
            b'[tool]\nwsside = "x"\n',
            ' key "tool.wsside": expected a table, got "x"',
        ),
    ],
)
def test_a_file_that_is_not_what_toml_config_needs_is_one_error(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        build_settings({}, search=[tmp_path])
    assert str(caught.value) == f"{tmp_path / name}:{expected}"


def test_a_config_folder_without_a_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "wsside.toml").write_text('port = "not used"\n')
    (tmp_path / "conf").mkdir()
    with pytest.raises(ConfigError, match=r"a folder without wsside\.toml or"):
        build_settings({}, config=tmp_path / "conf", search=[tmp_path])
    (tmp_path / "conf" / "wsside.toml").write_text("port = 9001\n")
    assert build_settings({}, config=tmp_path / "conf", search=[tmp_path]).port == 9001


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "wsside.toml"
    config.write_text('port = 1\nhost = "unterminated\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).startswith(f"{config}:2: invalid TOML:")
    assert caught.value.line == 2


def test_explicit_pyproject_without_table_and_missing_file(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "app"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: no \[tool.wsside\] table"):
        load_config(pyproject)
    with pytest.raises(ConfigError, match=r"nope.toml: no such file"):
        load_config(tmp_path / "nope.toml")


HANDLERS = """
from wsside import Handler

inherits = Handler("/ws/inherits")
own = Handler("/ws/own", subprotocols=["v1", "v2"], heartbeat=0)

@inherits.on_message
@own.on_message
def reply(conn, data):
    conn.send({"subprotocol": conn.subprotocol, "size": len(data)})
"""


async def test_serve_applies_config_defaults_and_cli_flags_win(tmp_path: Path) -> None:
    """Through a real `wsside serve`: the file sets prefix, handlers and [defaults]; the
    `--port` flag beats the file's port; a handler's own option beats [defaults]."""
    handlers = tmp_path / "back"
    handlers.mkdir()
    (handlers / "endpoints.py").write_text(HANDLERS)
    port = free_port()
    (tmp_path / "wsside.toml").write_text(
        'prefix = "/socket"\nhandlers = "back"\nport = 1\nreload = false\n'
        '[defaults]\nsubprotocols = ["v2"]\nmax_message_size = 8\nheartbeat = 30\n'
    )
    server = await ServeProcess.start("--port", str(port), cwd=tmp_path)
    try:
        await server.expect(f"serving on ws://127.0.0.1:{port}/socket/")
        async with aiohttp.ClientSession() as client:
            base = f"http://127.0.0.1:{port}/socket/ws"
            inherits = await client.ws_connect(base + "/inherits", protocols=["v1", "v2"])
            own = await client.ws_connect(base + "/own", protocols=["v1", "v2"])
            for ws, expected in ((inherits, "v2"), (own, "v1")):
                await ws.send_str("abcdefgh")
                assert await asyncio.wait_for(ws.receive_json(), 5) == {
                    "subprotocol": expected,
                    "size": 8,
                }
            await inherits.send_str("abcdefghi")  # over the default max_message_size
            msg = await asyncio.wait_for(inherits.receive(), 5)
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009)
            await own.send_str("abcdefghi")  # own handler: the defaults apply to it too
            msg = await asyncio.wait_for(own.receive(), 5)
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009)
    finally:
        assert await server.stop() == 0


async def test_loopback_origins_off_in_the_file_and_back_on_with_the_flag(tmp_path: Path) -> None:
    """Production can refuse pages from the client's own machine; the flag beats the file."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "endpoints.py").write_text(HANDLERS)
    (tmp_path / "wsside.toml").write_text(
        'reload = false\nallowed_origins = ["https://app.example"]\nloopback_origins = false\n'
    )

    async def status(port: int, origin: str | None) -> bytes:
        extra = f"Origin: {origin}\r\n" if origin else ""
        return (await raw_upgrade(port, "/api/ws/inherits", extra)).split(b" ")[1]

    port = free_port()
    server = await ServeProcess.start("--port", str(port), cwd=tmp_path)
    try:
        await server.expect("serving on")
        assert await status(port, "http://localhost:5173") == b"403"
        # The refusal names the setting and the file that set it.
        await server.expect(
            "refused /api/ws/inherits: Origin 'http://localhost:5173' is a loopback origin, "
            "and loopback_origins is off (wsside.toml)\n"
        )
        assert await status(port, "http://127.0.0.1:5173") == b"403"
        assert await status(port, "https://evil.example") == b"403"
        await server.expect(
            "refused /api/ws/inherits: Origin 'https://evil.example' is not in allowed_origins "
            "(wsside.toml): if it is a page of yours, --allow-origin https://evil.example "
            "(config: allowed_origins) accepts it\n"
        )
        assert await status(port, "https://app.example") == b"101"
        assert await status(port, None) == b"101"  # not a browser
    finally:
        assert await server.stop() == 0
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--loopback-origins", cwd=tmp_path)
    try:
        await server.expect("serving on")
        assert await status(port, "http://localhost:5173") == b"101"
        assert await status(port, "https://app.example") == b"101"
        assert await status(port, "https://evil.example") == b"403"
    finally:
        assert await server.stop() == 0


def test_defaults_takes_every_defaultable_handler_option_and_no_other() -> None:
    from wsside._runtime.config_keys import DEFAULT_KEYS
    from wsside.handler_options import DEFAULTABLE_OPTIONS

    assert sorted(DEFAULT_KEYS) == sorted(DEFAULTABLE_OPTIONS)


def test_handler_own_options_beat_defaults() -> None:
    from wsside import Handler

    h = Handler("/ws/x", heartbeat=0, delay=0, subprotocols=[], error_details=True)
    plain = Handler("/ws/y")
    defaults = {
        "heartbeat": 30.0,
        "delay": 0.5,
        "subprotocols": ("v2",),
        "max_message_size": 8,
        "error_details": False,
    }
    h._apply_defaults(defaults)
    plain._apply_defaults(defaults)
    assert (h.heartbeat, h.delay, h.subprotocols, h.max_message_size) == (None, 0.0, (), 8)
    assert h.error_details is True
    assert (plain.heartbeat, plain.delay, plain.subprotocols) == (30.0, 0.5, ("v2",))
    assert plain.error_details is False


async def test_serve_with_a_bad_config_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('[defaults]\nheartbeat = "soon"\n')
    server = await ServeProcess.start("--config", str(config), cwd=tmp_path)
    line = await server.expect("wsside:")
    assert f'{config}:2: key "defaults.heartbeat": expected seconds > 0' in line
    assert await asyncio.wait_for(server.proc.wait(), 10) == 2


async def test_every_mistake_of_the_file_is_a_line_of_its_own(tmp_path: Path) -> None:
    # Fixed in one go, not one run per mistake: keys at the top and in [defaults] (a Deflate
    # setting's too), in the file's order; the keys that are right are not named.
    config = tmp_path / "wsside.toml"
    config.write_text(
        'port = "x"\nprefx = "/api"\nhost = "127.0.0.1"\n\n[defaults]\nheartbeet = 5\n'
        "delay = 0.5\nper_message_deflate = { client_max_window_bits = 20 }\n"
    )
    server = await ServeProcess.start(cwd=tmp_path)
    first = await server.expect("wsside:")
    assert first.rstrip().endswith(
        f'{config}:1: key "port": expected an integer from 0 to 65535, got "x"'
    )
    rest = [(await server.expect(str(config))).rstrip() for _ in range(3)]
    assert rest == [
        f'{config}:2: key "prefx": unknown key; did you mean "prefix"? expected one of '
        + ", ".join([*TOP_KEYS, "defaults"]),
        f'{config}:6: key "defaults.heartbeet": unknown handler option; did you mean '
        f'"heartbeat"? expected one of {", ".join(DEFAULT_KEYS)}',
        f'{config}:8: key "defaults.per_message_deflate.client_max_window_bits": expected an '
        "integer from 8 to 15, got 20",
    ]
    assert await asyncio.wait_for(server.proc.wait(), 10) == 2


ORIGINS = json.loads((Path(__file__).parent / "golden" / "origins.json").read_text())["cases"]


@pytest.mark.parametrize("case", ORIGINS, ids=[c["origin"] or "(empty)" for c in ORIGINS])
def test_an_allowed_origin_must_be_one_a_browser_can_send(case: dict[str, Any]) -> None:
    """A browser's `Origin` is compared as it is sent; a value that can never equal one would
    refuse every page silently. The plugin reads the same cases (tests/shim/options.test.js)."""
    found = origin_problem(case["origin"])
    if case["ok"]:
        assert found is None
    elif case["meant"] is None:
        assert found == "not an origin: expected scheme://host[:port], e.g. http://devbox:5173"
    else:
        assert found is not None and found.endswith(f"; did you mean {case['meant']}?"), found


def test_log_level_is_read_in_any_case(tmp_path: Path) -> None:
    (tmp_path / "wsside.toml").write_text('log_level = "WARNING"\n')
    assert build_settings({}, tmp_path / "wsside.toml").log_level == "warning"
    assert build_settings({"log_level": "DEBUG"}, tmp_path / "wsside.toml").log_level == "debug"


def test_health_is_off_by_default_and_a_url_path_from_the_file_or_the_flag(
    tmp_path: Path,
) -> None:
    from wsside._runtime.config import OptionError

    assert build_settings({}, search=(tmp_path,)).health is None
    config = tmp_path / "wsside.toml"
    config.write_text('port = 1\nhealth = "/healthz"\n')
    assert build_settings({}, config).health == "/healthz"
    assert build_settings({"health": "/up"}, config).health == "/up"
    for bad in ("healthz", "", "/a b", "/h?x=1", "/h#x", "/é"):
        with pytest.raises(OptionError) as caught:
            build_settings({"health": bad}, config)
        assert str(caught.value).startswith("--health ")
        assert 'expected a URL path such as "/healthz"' in str(caught.value)
        config.write_text(f"health = {json.dumps(bad)}\n")
        with pytest.raises(ConfigError) as in_file:
            build_settings({}, config)
        assert str(in_file.value).startswith(f'{config}:1: key "health": expected a URL path')
        config.write_text('health = "/healthz"\n')


def test_a_health_problem_found_later_names_the_flag_or_the_files_line(tmp_path: Path) -> None:
    from wsside._runtime.config import setting_error

    config = tmp_path / "pyproject.toml"
    config.write_text('[project]\nname = "app"\n[tool.wsside]\nhealth = "/api/x"\n')
    from_file = setting_error(build_settings({}, config), "health", "hides /x")
    assert str(from_file) == f'{config}:4: key "tool.wsside.health": "/api/x": hides /x'
    from_flag = setting_error(build_settings({"health": "/api/y"}, config), "health", "hides /y")
    assert str(from_flag) == "--health /api/y: hides /y"


@pytest.mark.parametrize(
    "table", ["[tool.wsside]\nport = 5\n", "[tool.other]\nx = 1\n", "not toml ["]
)
def test_a_tool_wsside_table_beside_wsside_toml_is_said_to_be_unread(
    tmp_path: Path, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # files are named from the current folder
    (tmp_path / "wsside.toml").write_text("port = 41127\n")
    (tmp_path / "pyproject.toml").write_text(table)
    values, path = load_config(tmp_path)
    assert path == tmp_path / "wsside.toml" and values["port"] == 41127
    note = (
        "pyproject.toml: its [tool.wsside] is not read, as wsside.toml beside it is the "
        "config file: move what it sets to wsside.toml"
    )
    expected = (note,) if table.startswith("[tool.wsside]") else ()
    assert values.get("config_notes", ()) == expected
