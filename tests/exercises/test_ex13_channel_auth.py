"""ex13: channel authorization, graded with forged, replayed and cross-socket signatures."""

from __future__ import annotations

import hashlib
import hmac

import pytest

pytestmark = pytest.mark.exercise("ex13_channel_auth")

KEY, SECRET = "278d425bdf160c739803", "7ad3773142a6692b25b8"
ANN = '{"user_id":"ann","user_info":{"name":"Ann"}}'


def reference(socket_id: str, channel: str, channel_data: str | None = None) -> str:
    text = ":".join(filter(None, [socket_id, channel, channel_data]))
    return KEY + ":" + hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()


def refused(submission, auth, socket_id, channel, channel_data=None) -> bool:
    """True if verify() raised the exercise's AuthError (any other exception fails the test)."""
    try:
        submission.verify(KEY, SECRET, auth, socket_id, channel, channel_data)
    except submission.AuthError:
        return True
    return False


@pytest.mark.points(2)
def test_sign_gives_pushers_worked_example(submission):
    """sign() returns key:hex digest, exactly Pusher's documented example for private channels,
    and signs socket_id:channel:channel_data for presence channels."""
    assert submission.sign(KEY, SECRET, "1234.1234", "private-foobar") == (
        f"{KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
    )
    assert submission.sign(KEY, SECRET, "1.2", "presence-team", ANN) == reference(
        "1.2", "presence-team", ANN
    )


@pytest.mark.points(1)
def test_verify_accepts_the_right_signatures(submission):
    """A signature made for this socket and channel (and user) is accepted: None, no error."""
    assert submission.verify(KEY, SECRET, reference("1.2", "private-x"), "1.2", "private-x") is None
    auth = reference("1.2", "presence-team", ANN)
    assert submission.verify(KEY, SECRET, auth, "1.2", "presence-team", ANN) is None


@pytest.mark.points(1)
def test_a_forged_signature_is_refused(submission):
    """A signature made with a guessed secret, or a digest of zeros, is refused."""
    guessed = hmac.new(b"guess", b"1.2:private-x", hashlib.sha256).hexdigest()
    assert refused(submission, f"{KEY}:{guessed}", "1.2", "private-x")
    assert refused(submission, f"{KEY}:{'0' * 64}", "1.2", "private-x")


@pytest.mark.points(2)
def test_a_signature_for_another_socket_is_refused(submission):
    """Cross-socket: bob's connection (1.3) presenting alice's signature (1.2) is refused."""
    alices = reference("1.2", "private-x")
    assert refused(submission, alices, "1.3", "private-x")
    assert refused(submission, alices, "1.20", "private-x")


@pytest.mark.points(1)
def test_a_replayed_signature_is_refused(submission):
    """Replayed: a signature from an earlier connection (old socket id) or for another channel
    is refused on the new connection."""
    assert refused(submission, reference("7.1", "private-x"), "7.2", "private-x")
    assert refused(submission, reference("7.2", "private-x"), "7.2", "private-y")


@pytest.mark.points(2)
def test_presence_signs_the_user(submission):
    """Presence: tampered channel_data, missing channel_data or one without user_id is refused,
    and a private-style signature does not open a presence channel."""
    auth = reference("1.2", "presence-team", ANN)
    mallory = ANN.replace("ann", "mallory")
    assert refused(submission, auth, "1.2", "presence-team", mallory)
    assert refused(submission, reference("1.2", "presence-team"), "1.2", "presence-team")
    no_user = '{"user_info":{}}'
    assert refused(
        submission, reference("1.2", "presence-team", no_user), "1.2", "presence-team", no_user
    )


@pytest.mark.points(1)
def test_malformed_auth_is_refused_with_auth_error(submission):
    """None, no colon, another app's key: AuthError, never a crash."""
    good = reference("1.2", "private-x")
    for auth in (None, "", "no colon here", good.replace(KEY, "another-key"), 42):
        assert refused(submission, auth, "1.2", "private-x"), auth
