"""The game handler (ws/game.py), tested with wsside.testing: the lobby, game rooms, rolls, and
the state its background tick pushes every second."""

import asyncio

from wsside.testing import serve

TICKS = ("lobby", "state")  # what the tick pushes, between the answers to what a player does


async def receive(client, kind=None):
    """The next message of type `kind`; without one, the next that is not the tick's."""
    skipped = []

    async def wanted():
        while True:
            message = await client.receive_json()
            if message["type"] == kind or (kind is None and message["type"] not in TICKS):
                return message
            skipped.append(message)

    try:  # ticks keep coming: one deadline for the whole wait
        return await asyncio.wait_for(wanted(), 5)
    except asyncio.TimeoutError:
        raise AssertionError(f"no {kind or 'answer'} within 5 s, only {skipped}") from None


async def enter(server, name):
    """A player named `name`, past the lobby's welcome."""
    client = await server.connect("/ws/game", query={"name": name})
    hello = await receive(client)
    assert hello["type"] == "joined-lobby" and hello["name"] == name
    return client


async def start_game(server):
    """Ada creates a game and Bob joins it: (ada, bob, the game's id)."""
    ada = await enter(server, "Ada")
    await ada.send({"type": "create-game"})
    gid = (await receive(ada, "game-created"))["gameId"]
    bob = await enter(server, "Bob")
    await bob.send({"type": "join-game", "gameId": gid})
    assert await receive(bob) == {"type": "game-joined", "gameId": gid}
    assert await receive(ada) == {"type": "player-joined", "name": "Bob"}
    return ada, bob, gid


async def test_a_new_player_is_welcomed_to_the_lobby_with_the_open_games():
    async with serve() as server:
        anonymous = await server.connect("/ws/game")
        [conn] = server.handler("/ws/game").connections
        welcome = {"type": "joined-lobby", "name": f"player-{conn.id[:4]}", "games": []}
        assert await receive(anonymous) == welcome
        await anonymous.send({"type": "create-game"})
        gid = (await receive(anonymous, "game-created"))["gameId"]
        ada = await server.connect("/ws/game", query={"name": "Ada"})
        assert await receive(ada) == {"type": "joined-lobby", "name": "Ada", "games": [gid]}
        lobby = await receive(ada, "lobby")
        assert lobby == {"type": "lobby", "tick": lobby["tick"], "games": [gid]}


async def test_players_join_a_game_by_its_id_and_only_once():
    async with serve() as server:
        ada, bob, gid = await start_game(server)
        await bob.send({"type": "join-game", "gameId": gid})
        assert await receive(bob) == {"type": "error", "message": "you are already in a game"}
        await bob.close()
        assert await receive(ada) == {"type": "player-left", "name": "Bob"}
        carl = await enter(server, "Carl")
        await carl.send({"type": "join-game", "gameId": "nope"})
        assert await receive(carl) == {"type": "error", "message": "no game 'nope'"}


async def test_a_roll_reaches_the_whole_room_and_counts_in_the_ticked_state(monkeypatch):
    monkeypatch.setattr("random.randint", lambda low, high: 4)
    async with serve() as server:
        ada, bob, gid = await start_game(server)
        await ada.send({"type": "game-action", "action": "roll"})
        update = {"type": "game-update", "name": "Ada", "action": "roll", "value": 4}
        assert await receive(ada) == update
        assert await receive(bob) == update
        state = await receive(bob, "state")
        assert state == {
            "type": "state",
            "tick": state["tick"],  # however many ticks the setup took
            "gameId": gid,
            "players": [{"name": "Ada", "score": 4}, {"name": "Bob", "score": 0}],
        }


async def test_actions_outside_a_game_or_outside_the_types_get_an_error_frame():
    async with serve() as server:
        ada = await enter(server, "Ada")
        await ada.send({"type": "game-action", "action": "roll"})
        assert await receive(ada) == {"type": "error", "message": "cannot 'game-action' here"}
        await ada.send({"type": "game-action", "action": "jump"})  # not in `receives`
        error = {"type": "error", "message": "action: expected 'roll', got 'jump'"}
        assert await receive(ada) == error
