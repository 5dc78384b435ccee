"""The echo handler (ws/echo.py), tested with wsside.testing: `Response` rules answer, the
first that matches; `on_message` gets the rest; the server picks the subprotocol and compresses."""

import pytest

from wsside.testing import serve


async def ask(client, message):
    """Send `message` and return the answer."""
    await client.send(message)
    return await client.receive_json()


async def test_the_rules_answer_what_they_match():
    async with serve() as server:
        client = await server.connect("/ws/echo")
        assert await ask(client, {"type": "ping", "extra": 1}) == {"type": "pong"}
        data = [1, {"a": 2}]
        assert await ask(client, {"type": "echo", "data": data}) == {"type": "echo", "data": data}
        assert await ask(client, {"type": "echo"}) == {"type": "echo", "data": None}
        await client.send("shout")  # a text, not JSON: the rule added with echo.respond()
        assert await client.receive_text() == "SHOUT"


async def test_an_announcement_is_broadcast_to_the_lobby_sender_included():
    async with serve() as server:
        ada = await server.connect("/ws/echo")
        bob = await server.connect("/ws/echo")
        await ada.send({"type": "announce", "text": "hi all"})
        for client in (ada, bob):
            assert await client.receive_json() == {"type": "announcement", "text": "hi all"}


async def test_what_no_rule_matches_goes_to_on_message():
    async with serve() as server:
        client = await server.connect("/ws/echo")
        for message in ({"type": "pong"}, [1, 2], {"data": "no type"}):
            assert await ask(client, message) == {"type": "unmatched", "received": message}
        await client.send(b"\x00\xff")  # binary: back as it came
        assert await client.receive_bytes() == b"\x00\xff"


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["echo.v1", "echo.v2"], "echo.v2"),  # the server's order decides
        (["echo.v1"], "echo.v1"),
        ([], None),
    ],
)
async def test_the_server_chooses_its_preferred_subprotocol(offered, chosen):
    async with serve() as server:
        client = await server.connect("/ws/echo", protocols=offered)
        assert client.subprotocol == chosen


async def test_permessage_deflate_is_accepted():
    async with serve() as server:
        client = await server.connect("/ws/echo", compress=True)  # offered, as browsers do
        assert client.compressed
        assert await ask(client, {"type": "ping"}) == {"type": "pong"}
