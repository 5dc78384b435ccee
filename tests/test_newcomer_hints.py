"""What a newcomer's handler files get wrong without an error, said when it happens: a
one-parameter callback named as the message (it gets the connection), a Handler subclass
(nothing serves it), the handler code kept in a `_name.py` helper (never loaded), and a value
returned from on_message (never sent). Through a real `wsside serve` and a real sidecar as Vite
runs it."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from doctor_projects import write
from serve_process import ServeProcess, free_port
from test_cli import notes_at_404


def said(line: str) -> str:
    """A console line's message (`12:00:01 wsside: message` gives `message`)."""
    return line.split("wsside: ", 1)[1].rstrip("\n")


async def start_lines(project: Path) -> list[str]:
    """What `wsside serve` prints of its start in `project`, up to its `serving on` line."""
    server = await ServeProcess.start("--port", str(free_port()), "--no-reload", cwd=project)
    try:
        await server.expect("serving on")  # loading, and its warnings, come before this line
        return list(server.lines)
    finally:
        await server.stop()


CONNECTION_FIRST = """\
from wsside import Handler, Response

chat = Handler(
    "/ws/chat",
    responses=[Response(match=lambda msg: msg == "ping", response="pong")],
)

@chat.on_message
async def message(data):
    print(data["text"])

@chat.on_error
def failed(exc):
    pass

@chat.on_close
def closed(conn):
    pass

echo = Handler("/ws/echo")

@echo.on_message
def echoed(conn):
    pass

@echo.on_connect
def hello(ws):
    pass
"""


async def test_a_one_parameter_callback_named_as_the_message_is_said_at_load(
    tmp_path: Path,
) -> None:
    """`async def message(data)` gets the connection as `data`: said at load, with the line
    to write; the file still loads. A parameter named as the connection is not said."""
    write(tmp_path, {"ws/chat.py": CONNECTION_FIRST})
    lines = await start_lines(tmp_path)
    warned = [said(line) for line in lines if "gets the connection first" in line]
    assert warned == [
        "on_message(data) at ws/chat.py:8 gets the connection first: wsside passes "
        "(conn, data); write def message(conn, data)",
        "on_error(exc) at ws/chat.py:12 gets the connection first: wsside passes "
        "(conn, exc); write def failed(conn, exc)",
        "Response(match=...) function lambda msg at ws/chat.py:5 gets the connection first: "
        "wsside passes (conn, msg); write lambda conn, msg: ...",
    ], lines
    loaded = [said(line) for line in lines if "loaded ws/chat.py" in line]
    assert loaded and loaded[0].startswith("loaded ws/chat.py (/ws/chat, /ws/echo)"), lines


SUBCLASS = """\
from wsside import Handler


class Chat(Handler):
    pattern = "/ws/chat"

    def on_message(self, conn, data):
        conn.send(data)


class Base(Handler):
    pass


class Echo(Base):
    pass


echo = Echo("/ws/echo")
"""


async def test_a_handler_subclass_that_nothing_serves_is_said_at_load(tmp_path: Path) -> None:
    """`class Chat(Handler)` declares no endpoint: said once, at its line, with what to write.
    A subclass the file makes a Handler of (`Echo("/ws/echo")`), or whose subclass it makes
    one of, serves."""
    write(tmp_path, {"ws/chat.py": SUBCLASS})
    lines = await start_lines(tmp_path)
    warned = [said(line) for line in lines if "is not served" in line]
    assert warned == [
        "ws/chat.py:4: class Chat(Handler) is not served: wsside serves Handler objects, chat = "
        'Handler("/ws/chat") with @chat.on_message functions (README "Handler API")'
    ], lines


UNDERSCORED = """\
from wsside import Handler

chat = Handler("/ws/chat")
"""
HELPER_NOTE = (
    "(ws/_chat.py is not loaded: a name starting with _ is a helper module; rename it chat.py)"
)


async def test_handler_code_in_an_underscored_file_is_named_at_start(tmp_path: Path) -> None:
    """`ws/_chat.py` is a helper by its name: the start says why nothing serves. A helper
    without `Handler(` is not named."""
    write(tmp_path, {"ws/_chat.py": UNDERSCORED, "ws/_db.py": "URL = 'sqlite://'\n"})
    lines = await start_lines(tmp_path)
    warned = [said(line) for line in lines if "helper module" in line]
    assert warned == [f"no handler file declares an endpoint {HELPER_NOTE}"], lines


async def test_handler_code_in_an_underscored_file_is_named_at_a_404_under_vite(
    tmp_path: Path,
) -> None:
    """The page's socket gets 404: the note in Vite's terminal says which file was meant."""
    write(tmp_path, {"ws/_chat.py": UNDERSCORED})
    [note] = await notes_at_404(tmp_path, ["/api/ws/chat"])
    assert note == (
        "/api/ws/chat: no endpoint there, so the client got 404: no handler file declares an "
        f"endpoint {HELPER_NOTE}"
    )


async def test_a_handler_file_outside_the_handlers_folder_is_named_at_a_404_under_vite(
    tmp_path: Path,
) -> None:
    """`src/ws/chat.py` declares the endpoint the page asks for, but wsside loads `ws/`: the
    note names the file and both ways out (move it, or point `handlers` at its folder), with
    an endpoint served meanwhile (the note takes the place of "did you mean"), and without
    one. A stray whose patterns do not match the path is not named."""
    write(
        tmp_path,
        {
            "ws/echo.py": 'from wsside import Handler\n\necho = Handler("/ws/echo")\n',
            "src/ws/chat.py": UNDERSCORED,
            "src/ws/game.py": UNDERSCORED.replace("chat", "game"),
        },
    )
    chat, other = await notes_at_404(tmp_path, ["/api/ws/chat", "/api/ws/echoo"])
    assert chat == (
        "/api/ws/chat: no endpoint there, so the client got 404: src/ws/chat.py declares "
        "/api/ws/chat, which matches it, but it lies outside the handlers folder ws/, the only "
        "one loaded: move it into ws/, or use wsside({ handlers: 'src/ws' }) in vite.config"
    )
    assert (
        other
        == "/api/ws/echoo: no endpoint there, so the client got 404: did you mean /api/ws/echo?"
    )

    # A file of a sub-folder (two levels down) beside others: the folder holding them all.
    (tmp_path / "src" / "ws" / "games" / "board").mkdir(parents=True)
    (tmp_path / "src" / "ws" / "games" / "board" / "chess.py").write_text(
        UNDERSCORED.replace("/ws/chat", "/ws/chess")
    )
    [chess] = await notes_at_404(tmp_path, ["/api/ws/chess"])
    assert chess.endswith("or use wsside({ handlers: 'src/ws' }) in vite.config"), chess
    (tmp_path / "src" / "ws" / "games" / "board" / "chess.py").unlink()

    (tmp_path / "ws" / "echo.py").unlink()
    (tmp_path / "chat.py").write_text(UNDERSCORED.replace("/ws/chat", "/ws/{room}"))
    [note] = await notes_at_404(tmp_path, ["/api/ws/chat"])
    assert note == (
        "/api/ws/chat: no endpoint there, so the client got 404: chat.py declares "
        "/api/ws/{room} and src/ws/chat.py declares /api/ws/chat, which match it, but they lie "
        "outside the handlers folder ws/, the only one loaded: move them into ws/"
    )


RETURNS = """\
from wsside import Handler

sync = Handler("/ws/sync")

@sync.on_message
def pong(conn, data):
    if data == "last":
        conn.send("done")
    return {"type": "pong"}

coro = Handler("/ws/async")

@coro.on_message
async def answer(conn, data):
    if data == "last":
        conn.send("done")
    return "pong"

none = Handler("/ws/none")

@none.on_message
async def quiet(conn, data):
    conn.send(data)
"""


async def test_a_value_returned_from_on_message_is_said_once_per_handler(tmp_path: Path) -> None:
    """A plain function's dict, an async one's str: one warning each, at the first message,
    not at the next ones; a callback returning None is not named."""
    write(tmp_path, {"ws/app.py": RETURNS})
    port = free_port()
    server = await ServeProcess.start("--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        await server.expect("serving on")
        async with aiohttp.ClientSession() as client:
            for path, texts, reply in [("none", ["x"], "x"), ("sync", ["a", "b", "last"], "done")]:
                ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/{path}")
                for text in texts:
                    await ws.send_str(text)
                # Messages are handled in order: all of them were, and their warnings said.
                assert await ws.receive_str() == reply
            ws = await client.ws_connect(f"http://127.0.0.1:{port}/api/ws/async")
            for text in ("a", "b", "last"):
                await ws.send_str(text)
            assert await ws.receive_str() == "done"
            await server.expect_all("returned a dict", "returned a str")
    finally:
        await server.stop()
    assert server.proc.stderr is not None
    printed = server.lines + (await server.proc.stderr.read()).decode().splitlines()
    warned = [said(line) for line in printed if "wsside does not send" in line]
    assert warned == [
        "on_message at ws/app.py:5 returned a dict, which wsside does not send: conn.send(...) "
        "sends it (a Response rule sends what it returns)",
        "on_message at ws/app.py:13 returned a str, which wsside does not send: conn.send(...) "
        "sends it (a Response rule sends what it returns)",
    ], printed
