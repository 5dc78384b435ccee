"""The game handler (ws/game.py), tested with wsside.testing: the lobby, game rooms, rolls, and
the state its background tick pushes every second."""

from wsside.testing import serve


def answer(message):
    """Not what the background tick pushes every second (`lobby`, `state`)."""
    return message["type"] not in ("lobby", "state")


async def enter(server, name):
    """A player named `name`, past the lobby's welcome."""
    client = await server.connect("/ws/game", query={"name": name})
    hello = await client.receive_json(match=answer)
    assert hello["type"] == "joined-lobby" and hello["name"] == name
    return client


async def start_game(server):
    """Ada creates a game and Bob joins it: (ada, bob, the game's id)."""
    ada = await enter(server, "Ada")
    await ada.send({"type": "create-game"})
    gid = (await ada.receive_json(match={"type": "game-created"}))["gameId"]
    bob = await enter(server, "Bob")
    await bob.send({"type": "join-game", "gameId": gid})
    assert await bob.receive_json(match=answer) == {"type": "game-joined", "gameId": gid}
    assert await ada.receive_json(match=answer) == {"type": "player-joined", "name": "Bob"}
    return ada, bob, gid


async def test_a_new_player_is_welcomed_to_the_lobby_with_the_open_games():
    async with serve() as server:
        anonymous = await server.connect("/ws/game")
        name = f"player-{anonymous.connection.id[:4]}"
        welcome = {"type": "joined-lobby", "name": name, "games": []}
        assert await anonymous.receive_json(match=answer) == welcome
        await anonymous.send({"type": "create-game"})
        gid = (await anonymous.receive_json(match={"type": "game-created"}))["gameId"]
        ada = await server.connect("/ws/game", query={"name": "Ada"})
        assert await ada.receive_json(match=answer) == {
            "type": "joined-lobby",
            "name": "Ada",
            "games": [gid],
        }
        lobby = await ada.receive_json(match={"type": "lobby"})
        assert lobby == {"type": "lobby", "tick": lobby["tick"], "games": [gid]}


async def test_players_join_a_game_by_its_id_and_only_once():
    async with serve() as server:
        ada, bob, gid = await start_game(server)
        await bob.send({"type": "join-game", "gameId": gid})
        assert await bob.receive_json(match=answer) == {
            "type": "error",
            "message": "you are already in a game",
        }
        await bob.close()
        assert await ada.receive_json(match=answer) == {"type": "player-left", "name": "Bob"}
        carl = await enter(server, "Carl")
        for nothing in ("nope", "lobby"):  # the lobby is a room, not a game
            await carl.send({"type": "join-game", "gameId": nothing})
            assert await carl.receive_json(match=answer) == {
                "type": "error",
                "message": f"no game {nothing!r}",
            }


async def test_a_roll_reaches_the_whole_room_and_counts_in_the_ticked_state(monkeypatch):
    monkeypatch.setattr("random.randint", lambda low, high: 4)
    async with serve() as server:
        ada, bob, gid = await start_game(server)
        await ada.send({"type": "game-action", "action": "roll"})
        update = {"type": "game-update", "name": "Ada", "action": "roll", "value": 4}
        assert await ada.receive_json(match=answer) == update
        assert await bob.receive_json(match=answer) == update
        state = await bob.receive_json(match={"type": "state"})
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
        assert await ada.receive_json(match=answer) == {
            "type": "error",
            "message": "cannot 'game-action' here",
        }
        await ada.send({"type": "game-action", "action": "jump"})  # not in `receives`
        error = {"type": "error", "message": "action: expected 'roll', got 'jump'"}
        assert await ada.receive_json(match=answer) == error
