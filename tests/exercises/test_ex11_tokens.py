"""ex11: signed, expiring tokens checked in the opening handshake (401/403 on the wire).

Tokens are checked against the course's reference (`wslab.production.tokens`): a token the
submission mints must verify there and the other way round, so the format is exactly the
one described. The handshake tests serve a small echo with websockets' own `serve()` and the
submission's `process_request`, and read the HTTP status the client gets.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import InvalidStatus

from wslab.production import tokens as reference
from wslab.protocol import HandshakeError

pytestmark = pytest.mark.exercise("ex11_tokens")

KEY = b"server-side secret, 32 bytes ok!"
NOW = 1_800_000_000.0
TIMEOUT = 5.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def refused(submission, token: str, audience: str = "chat", now: float = NOW) -> int:
    """The status verify_token refuses `token` with; fail if it accepts it."""
    try:
        claims = submission.verify_token(token, KEY, audience, now)
    except HandshakeError as error:
        return error.status
    pytest.fail(f"verify_token accepted {token!r} (returned {claims!r}); it must raise")


@pytest.mark.points(2)
def test_mint_then_verify(submission):
    """A minted token verifies, here and in the reference, and says who, for whom, until when."""
    token = submission.mint_token(KEY, "alice", "chat", 60, NOW)
    assert isinstance(token, str), f"mint_token returned {token!r}, not a str"
    claims = submission.verify_token(token, KEY, "chat", NOW + 1)
    assert (claims["sub"], claims["aud"], claims["exp"]) == ("alice", "chat", NOW + 60), claims
    assert reference.verify(token, KEY, "chat", NOW + 1).sub == "alice"


@pytest.mark.points(1)
def test_format_is_claims_dot_signature(submission):
    """The token is base64url(JSON claims) '.' base64url(HMAC-SHA256 of the claims part)."""
    token = submission.mint_token(KEY, "bob", "chat", 30, NOW)
    claims_part, _, signature_part = token.partition(".")
    assert "=" not in token, f"{token!r}: base64url without '=' padding"
    claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
    assert claims == {"sub": "bob", "aud": "chat", "exp": NOW + 30}, claims
    expected = hmac.new(KEY, claims_part.encode(), hashlib.sha256).digest()
    assert signature_part == b64(expected), "the signature is not HMAC-SHA256(key, claims part)"
    other = reference.mint(KEY, "carol", "chat", 30, NOW)
    assert submission.verify_token(other, KEY, "chat", NOW)["sub"] == "carol"


@pytest.mark.points(2)
def test_forged_and_damaged_tokens_get_401(submission):
    """Changed claims, another key, a cut signature, garbage: each is refused with 401."""
    token = submission.mint_token(KEY, "alice", "chat", 60, NOW)
    claims_part, signature_part = token.split(".")
    admin = b64(json.dumps({"sub": "admin", "aud": "chat", "exp": NOW + 60}).encode())
    cases = {
        "claims changed, old signature": f"{admin}.{signature_part}",
        "signed with another key": reference.mint(b"not the key", "alice", "chat", 60, NOW),
        "signature cut short": f"{claims_part}.{signature_part[:-4]}",
        "no signature": claims_part,
        "empty": "",
        "three parts": f"{token}.x",
        "not base64": "%%%.$$$",
        "claims not JSON": f"{b64(b'hello')}.{signature_part}",
    }
    for what, forged in cases.items():
        assert refused(submission, forged) == 401, f"{what}: {forged!r} must get 401"


@pytest.mark.points(1)
def test_expired_tokens_get_401(submission):
    """A token is valid until its expiry, and refused with 401 from then on."""
    token = submission.mint_token(KEY, "alice", "chat", 10, NOW)
    assert submission.verify_token(token, KEY, "chat", NOW + 9.9)["sub"] == "alice"
    assert refused(submission, token, now=NOW + 10) == 401, "expired at now + ttl"
    assert refused(submission, token, now=NOW + 3600) == 401, "an hour later"


@pytest.mark.points(1)
def test_other_audience_gets_403(submission):
    """A genuine token for another service is refused with 403, not 401."""
    token = submission.mint_token(KEY, "alice", "billing", 60, NOW)
    assert refused(submission, token, audience="chat") == 403


@pytest.mark.points(1)
def test_signature_compared_in_constant_time(submission, monkeypatch):
    """verify_token compares signatures with hmac.compare_digest (not ==)."""
    calls = []
    original = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    if hasattr(submission, "compare_digest"):
        monkeypatch.setattr(submission, "compare_digest", spy)
    token = submission.mint_token(KEY, "alice", "chat", 60, NOW)
    submission.verify_token(token, KEY, "chat", NOW)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    refused(submission, forged)
    assert len(calls) >= 2, "hmac.compare_digest was not used to compare the signatures"


async def handshake_status(process_request, path: str) -> int:
    """Serve an echo with `process_request`; return the HTTP status a client gets at `path`."""

    async def echo(websocket):
        async for message in websocket:
            await websocket.send(message)

    async with serve(echo, "127.0.0.1", 0, process_request=process_request) as server:
        port = server.sockets[0].getsockname()[1]
        try:
            async with connect(f"ws://127.0.0.1:{port}{path}", proxy=None) as websocket:
                await websocket.send("hi")
                assert await asyncio.wait_for(websocket.recv(), TIMEOUT) == "hi"
                return 101
        except InvalidStatus as error:
            return error.response.status_code


@pytest.mark.points(2)
def test_process_request_answers_on_the_wire(submission):
    """Through token_check: valid 101; missing, forged or expired 401; other audience 403."""
    clock = lambda: NOW  # noqa: E731 -- the server's time, fixed for the test
    check = submission.token_check(KEY, "chat", clock)
    good = reference.mint(KEY, "alice", "chat", 60, NOW)
    cases = {
        f"/?token={good}": 101,
        "/": 401,
        "/?room=1": 401,
        f"/?token={good[:-3]}": 401,
        f"/?token={reference.mint(KEY, 'alice', 'chat', 60, NOW - 120)}": 401,
        f"/?token={reference.mint(KEY, 'alice', 'billing', 60, NOW)}": 403,
    }
    for path, status in cases.items():
        got = asyncio.run(asyncio.wait_for(handshake_status(check, path), TIMEOUT))
        assert got == status, f"GET {path}: the client got {got}, not {status}"
