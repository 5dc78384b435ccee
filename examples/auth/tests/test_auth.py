"""The private handler (ws/private.py), tested with wsside.testing: tokens checked before the
handshake, from the query string or an `Authorization: Bearer` header."""

import pytest

from wsside.testing import HandshakeRefused, serve


@pytest.mark.parametrize(
    "how",
    [
        {},
        {"query": {"token": "mallory-secret"}},
        {"headers": {"Authorization": "Bearer mallory-secret"}},
        {"headers": {"Authorization": "Basic alice-secret"}},  # only Bearer is read
        # The query string is read first: a bad one there is not saved by a good header.
        {"query": {"token": "nope"}, "headers": {"Authorization": "Bearer alice-secret"}},
    ],
)
async def test_a_missing_or_unknown_token_is_refused_with_401(how):
    async with serve() as server:
        with pytest.raises(HandshakeRefused) as refused:
            await server.connect("/ws/private", **how)
        assert refused.value.status == 401


async def test_a_token_in_the_query_string_names_the_user():
    async with serve() as server:
        alice = await server.connect("/ws/private", query={"token": "alice-secret"})
        assert await alice.receive_json() == {"type": "authenticated", "user": "alice"}


async def test_a_bearer_token_in_the_authorization_header_names_the_user():
    async with serve() as server:
        bob = await server.connect("/ws/private", headers={"Authorization": "bearer bob-secret"})
        assert await bob.receive_json() == {"type": "authenticated", "user": "bob"}


async def test_what_authenticate_returns_is_the_connections_metadata():
    async with serve() as server:
        alice = await server.connect("/ws/private", query={"token": "alice-secret"})
        await alice.receive_json()  # the welcome
        [conn] = server.handler("/ws/private").connections
        assert conn.metadata == {"user": "alice"}
        await alice.send({"ask": "who am I?"})
        assert await alice.receive_json() == {
            "type": "reply",
            "user": "alice",
            "received": {"ask": "who am I?"},
        }
