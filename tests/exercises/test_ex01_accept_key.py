"""ex01: Sec-WebSocket-Accept from Sec-WebSocket-Key (RFC 6455 §4.2.2)."""

import base64
import os

import pytest
from websockets.utils import accept_key as websockets_accept_key

pytestmark = pytest.mark.exercise("ex01_accept_key")


@pytest.mark.points(3)
def test_rfc_example(submission):
    """The key of RFC 6455 §1.3 gives the accept value printed there."""
    got = submission.accept_key("dGhlIHNhbXBsZSBub25jZQ==")
    assert got == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", (
        f"for the key 'dGhlIHNhbXBsZSBub25jZQ==' of RFC 6455 §1.3, expected "
        f"'s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', got {got!r}"
    )


@pytest.mark.points(4)
def test_agrees_with_websockets(submission):
    """For 50 random keys, the answer is what websockets computes."""
    for _ in range(50):
        key = base64.b64encode(os.urandom(16)).decode()
        expected = websockets_accept_key(key)
        got = submission.accept_key(key)
        assert got == expected, f"for key {key!r} expected {expected!r}, got {got!r}"


@pytest.mark.points(1)
def test_returns_text(submission):
    """The result is a str of 28 characters (base64 of 20 bytes), not bytes."""
    got = submission.accept_key("dGhlIHNhbXBsZSBub25jZQ==")
    assert isinstance(got, str), f"expected str, got {type(got).__name__}"
    assert len(got) == 28, f"expected 28 characters, got {len(got)}: {got!r}"


@pytest.mark.points(2)
def test_key_used_as_received(submission):
    """The key is hashed as received: a different (even if equivalent) string changes the answer."""
    plain = submission.accept_key("dGhlIHNhbXBsZSBub25jZQ==")
    spaced = submission.accept_key("dGhlIHNhbXBsZSBub25jZQ== ")
    assert plain != spaced, (
        f"the keys 'dGhlIHNhbXBsZSBub25jZQ==' and 'dGhlIHNhbXBsZSBub25jZQ== ' (a trailing space) "
        f"both gave {plain!r}: hash the key exactly as received, without stripping it"
    )
