"""Signatures for subscriptions and backend requests (Pusher's scheme)."""

import hashlib
import hmac

import pytest

from wslab.channels.auth import (
    App,
    AuthError,
    sign_request,
    sign_subscription,
    verify_request,
    verify_subscription,
)

APP = App(key="k", secret="s3cret")


def test_a_private_signature_is_hmac_sha256_of_socket_id_and_channel():
    """auth = key:hex(HMAC-SHA256(secret, "socket_id:channel")), as Pusher documents it."""
    expected = hmac.new(b"s3cret", b"1.2:private-x", hashlib.sha256).hexdigest()
    assert sign_subscription(APP, "1.2", "private-x") == f"k:{expected}"


def test_a_presence_signature_covers_channel_data():
    """Presence signs socket_id:channel:channel_data, so the user cannot be swapped."""
    auth = sign_subscription(APP, "1.2", "presence-x", '{"user_id":"ann"}')
    verify_subscription(APP, auth, "1.2", "presence-x", '{"user_id":"ann"}')
    with pytest.raises(AuthError):
        verify_subscription(APP, auth, "1.2", "presence-x", '{"user_id":"bob"}')


@pytest.mark.parametrize(
    "socket_id, channel, auth",
    [
        ("1.3", "private-x", sign_subscription(APP, "1.2", "private-x")),  # another socket
        ("1.2", "private-y", sign_subscription(APP, "1.2", "private-x")),  # another channel
        ("1.2", "private-x", sign_subscription(App("k", "guess"), "1.2", "private-x")),  # forged
        ("1.2", "private-x", "other:" + sign_subscription(APP, "1.2", "private-x")[2:]),
        ("1.2", "private-x", "no colon"),
        ("1.2", "private-x", None),
    ],
)
def test_signatures_for_anything_else_are_refused(socket_id, channel, auth):
    """A signature is good for one socket, one channel, one app, and nothing else."""
    with pytest.raises(AuthError):
        verify_subscription(APP, auth, socket_id, channel)


def test_a_signed_request_verifies_and_any_change_is_refused():
    """The backend's request is checked: body, path and age."""
    body = b'{"name":"e","channel":"c"}'
    query = sign_request(APP, "POST", "/apps/course/events", body, now=1000)
    verify_request(APP, "POST", "/apps/course/events", query, body, now=1000)
    for args in [
        ("POST", "/apps/course/events", query, b"{}", 1000),
        ("POST", "/apps/other/events", query, body, 1000),
        ("POST", "/apps/course/events", query, body, 1000 + 601),
        ("POST", "/apps/course/events", {**query, "auth_signature": "0" * 64}, body, 1000),
    ]:
        with pytest.raises(AuthError):
            verify_request(APP, *args[:4], now=args[4])
