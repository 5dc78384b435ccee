"""Game server: a lobby, game rooms with generated ids, actions to the room, a server tick.

Game state lives in `conn.metadata` (game id, name, score), so it survives hot reloads.

The message types below are what main.js is checked against: the plugin writes them into
wsside-env.d.ts as TypeScript, and any message that does not fit `receives` gets an error
frame without reaching `play`.
"""

import asyncio
import itertools
import random
import uuid
from typing import Literal, TypedDict

from wsside import Handler

TICK = 1.0  # seconds between state pushes


class CreateGame(TypedDict):
    type: Literal["create-game"]


class JoinGame(TypedDict):
    type: Literal["join-game"]
    gameId: str


class GameAction(TypedDict):
    type: Literal["game-action"]
    action: Literal["roll"]


class JoinedLobby(TypedDict):
    """The first message of each connection: a new connection is in the lobby."""

    type: Literal["joined-lobby"]
    name: str
    games: list[str]


class Lobby(TypedDict):
    """The open games, to the lobby on every tick."""

    type: Literal["lobby"]
    tick: int
    games: list[str]


class GameCreated(TypedDict):
    type: Literal["game-created"]
    gameId: str


class GameJoined(TypedDict):
    type: Literal["game-joined"]
    gameId: str


class PlayerJoined(TypedDict):
    type: Literal["player-joined"]
    name: str


class PlayerLeft(TypedDict):
    type: Literal["player-left"]
    name: str


class GameUpdate(TypedDict):
    type: Literal["game-update"]
    name: str
    action: Literal["roll"]
    value: int


class Score(TypedDict):
    name: str
    score: int


class State(TypedDict):
    """A game's players and scores, to its room on every tick."""

    type: Literal["state"]
    tick: int
    gameId: str
    players: list[Score]


class ErrorMessage(TypedDict):
    """Sent by the handler, and by wsside itself for a message that does not fit `receives`."""

    type: Literal["error"]
    message: str


game = Handler(
    "/ws/game",
    default_room="lobby",
    heartbeat=10,
    receives=CreateGame | JoinGame | GameAction,
    sends=(
        JoinedLobby
        | Lobby
        | GameCreated
        | GameJoined
        | PlayerJoined
        | PlayerLeft
        | GameUpdate
        | State
        | ErrorMessage
    ),
)


def players(gid):
    # A game's room (costs its players, not every connection); "lobby" is a room but no game.
    return [c for c in game.connections_in(gid) if c.metadata.get("game") == gid]


def open_games():
    return sorted({c.metadata["game"] for c in game.connections if c.metadata.get("game")})


@game.on_connect
async def arrive(conn, request):
    conn.metadata["name"] = request.query.get("name", "").strip() or f"player-{conn.id[:4]}"
    await conn.send({"type": "joined-lobby", "name": conn.metadata["name"], "games": open_games()})


@game.on_message
async def play(conn, data):
    kind = data["type"]
    name = conn.metadata["name"]
    if kind in ("create-game", "join-game") and conn.metadata.get("game"):
        await conn.send({"type": "error", "message": "you are already in a game"})
    elif kind == "create-game":
        gid = uuid.uuid4().hex[:8]
        enter(conn, gid)
        await conn.send({"type": "game-created", "gameId": gid})
    elif kind == "join-game":
        gid = data["gameId"]
        if not players(gid):
            await conn.send({"type": "error", "message": f"no game {gid!r}"})
            return
        enter(conn, gid)
        await conn.send({"type": "game-joined", "gameId": gid})
        conn.broadcast({"type": "player-joined", "name": name}, room=gid)
    elif kind == "game-action" and conn.metadata.get("game"):
        roll = random.randint(1, 6)
        conn.metadata["score"] += roll
        conn.broadcast(
            {"type": "game-update", "name": name, "action": "roll", "value": roll},
            room=conn.metadata["game"],
            include_self=True,
        )
    else:
        await conn.send({"type": "error", "message": f"cannot {kind!r} here"})


def enter(conn, gid):
    conn.leave_room("lobby")
    conn.join_room(gid)
    conn.metadata.update(game=gid, score=0)


@game.on_close
def leave(conn, code, reason, initiated_by_client):
    gid = conn.metadata.get("game")
    if gid:
        conn.broadcast({"type": "player-left", "name": conn.metadata["name"]}, room=gid)


@game.background
async def tick(handler):
    """Every TICK seconds: each game room gets its state, the lobby the list of open games."""
    for n in itertools.count(1):
        await asyncio.sleep(TICK)
        for gid in open_games():
            state = [
                {"name": c.metadata["name"], "score": c.metadata["score"]} for c in players(gid)
            ]
            handler.broadcast(
                {"type": "state", "tick": n, "gameId": gid, "players": state}, room=gid
            )
        handler.broadcast({"type": "lobby", "tick": n, "games": open_games()}, room="lobby")
