"""The chat handler (ws/chat.py), tested with wsside.testing: the engine that serves it under
Vite, in the test's event loop, with clients that speak JSON."""

from wsside.testing import serve


async def enter(server, name):
    """A client of the chat as `name`, past its `connected` message."""
    client = await server.connect("/ws/chat", query={"username": name})
    hello = await client.receive_json()
    assert hello["type"] == "connected" and hello["username"] == name
    return client


async def test_people_in_a_room_chat_and_see_each_other_come_and_go():
    async with serve() as server:
        ada = await enter(server, "Ada")
        bob = await enter(server, "Bob")
        assert await ada.receive_json() == {
            "type": "user-joined",
            "username": "Bob",
            "room": "general",
        }
        await ada.send({"type": "chat", "room": "general", "text": "hi"})
        for client in (ada, bob):
            assert await client.receive_json() == {
                "type": "chat-message",
                "from": "Ada",
                "text": "hi",
                "room": "general",
            }
        await bob.close()
        assert await ada.receive_json() == {
            "type": "user-left",
            "username": "Bob",
            "room": "general",
        }


async def test_typing_reaches_the_others_only():
    async with serve() as server:
        ada = await enter(server, "Ada")
        bob = await enter(server, "Bob")
        await ada.receive_json()  # Bob joined
        await ada.send({"type": "typing", "room": "general"})
        await ada.send({"type": "chat", "room": "general", "text": "done"})
        assert await bob.receive_json() == {"type": "typing", "username": "Ada", "room": "general"}
        # Ada's own next message is her line: her typing never came back to her.
        assert (await ada.receive_json())["type"] == "chat-message"


async def test_rooms_must_be_joined_before_chatting_there():
    async with serve() as server:
        ada = await enter(server, "Ada")
        await ada.send({"type": "chat", "room": "python", "text": "anyone?"})
        assert await ada.receive_json() == {"type": "error", "message": "join #python first"}
        await ada.send({"type": "join-room", "room": "python"})
        assert await ada.receive_json() == {"type": "room-joined", "room": "python"}


async def test_a_message_the_handler_does_not_receive_gets_an_error_frame():
    async with serve() as server:
        ada = await enter(server, "Ada")
        await ada.send({"type": "chat", "room": "general"})  # no text
        assert await ada.receive_json() == {"type": "error", "message": "text: missing"}
