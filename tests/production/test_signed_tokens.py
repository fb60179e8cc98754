"""Signed tokens: each rule of `wslab.production.tokens`, and the handshake check in `auth`."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

import wslab
from wslab.production import auth, tokens
from wslab.protocol import HandshakeError

KEY = b"k" * 32
NOW = 1_000_000.0


def status(token: str, aud: str = "chat", now: float = NOW) -> int:
    with pytest.raises(HandshakeError) as caught:
        tokens.verify(token, KEY, aud, now)
    return caught.value.status


def test_a_minted_token_verifies_until_it_expires():
    """verify returns the claims until now reaches exp, then refuses with 401."""
    token = tokens.mint(KEY, "alice", "chat", ttl=10, now=NOW)
    assert tokens.verify(token, KEY, "chat", NOW + 9.99) == tokens.Claims("alice", "chat", NOW + 10)
    assert status(token, now=NOW + 10) == 401


def test_forgeries_get_401_and_another_audience_403():
    """Another key, changed claims, garbage: 401; a genuine token for another service: 403."""
    token = tokens.mint(KEY, "alice", "chat", ttl=10, now=NOW)
    other = tokens.mint(b"x" * 32, "alice", "chat", ttl=10, now=NOW)
    admin = tokens.mint(KEY, "admin", "chat", ttl=10, now=NOW).split(".")[0]
    for forged in (other, admin + "." + token.split(".")[1], "", "a.b", token + "x", "...."):
        assert status(forged) == 401, forged
    assert status(tokens.mint(KEY, "alice", "billing", ttl=10, now=NOW)) == 403


def handshake(url: str, **options) -> int | str:
    try:
        with wslab.connect(url, **options) as ws:
            return ws.request("hi")
    except InvalidStatus as exc:
        return exc.response.status_code


def test_token_check_reads_query_string_and_cookie():
    """token_check admits a valid token from either place and refuses the rest on the wire."""

    async def whoami(websocket):
        async for _ in websocket:
            await websocket.send(websocket.claims.sub)

    check = auth.token_check(KEY, "chat", clock=lambda: NOW)
    server = wslab.serve(whoami, process_request=check)
    good = tokens.mint(KEY, "alice", "chat", ttl=10, now=NOW)
    assert handshake(f"{server.url}?token={good}") == "alice"
    assert handshake(server.url, additional_headers={"Cookie": f"a=b; token={good}"}) == "alice"
    assert handshake(server.url) == 401
    assert handshake(server.url, additional_headers={"Cookie": "token=nope"}) == 401
    billing = tokens.mint(KEY, "alice", "billing", ttl=10, now=NOW)
    assert handshake(f"{server.url}?token={billing}") == 403
