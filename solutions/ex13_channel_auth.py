"""Exercise 13 · Channel authorization (lesson 08, scaling out like Pusher)

Private and presence channels admit only subscribers that the app's backend has approved. The
backend proves its approval with a signature that only it and the channel service can make,
because only they know the app's secret. Write both sides, with Pusher's scheme:

- `sign()`: what the backend returns to a client allowed to subscribe,
  ``"<key>:<signature>"``, where the signature is the lowercase hex HMAC-SHA256, keyed with
  the secret, of the text

  - ``"<socket_id>:<channel>"`` for a private channel,
  - ``"<socket_id>:<channel>:<channel_data>"`` for a presence channel, `channel_data` being
    the JSON text ``{"user_id": ..., "user_info": ...}`` exactly as the client will send it.

- `verify()`: what a node does when a subscription arrives. It returns None if `auth` is the
  right signature for this socket id, channel (and channel_data), and raises `AuthError`
  otherwise, for any reason: a forged signature (another secret), a signature replayed from
  another connection (another socket id) or meant for another channel, another app's key,
  tampered channel_data, a presence subscription without channel_data or whose channel_data
  is not a JSON object with a ``user_id``, or an `auth` that is not even ``"key:signature"``
  (None, no colon). Never another exception: a node must answer every client, however odd.

Channels are private when their name starts with ``private-`` and presence channels when it
starts with ``presence-``. Pusher's own worked example must come out right:
``sign("278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234", "private-foobar")``
is ``"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"``.

Hints:

- `hmac.new(key_bytes, message_bytes, hashlib.sha256).hexdigest()`.
- Compare signatures with `hmac.compare_digest`, never ``==``: ``==`` stops at the first byte
  that differs, and the time it takes tells an attacker how many bytes they got right.
- ``str.partition(":")`` splits at the first colon only (hex digests have none).
"""

from __future__ import annotations

import hashlib
import hmac
import json


class AuthError(Exception):
    """The subscription is refused."""


def sign(
    key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None
) -> str:
    """The auth string ``"<key>:<hex HMAC-SHA256>"`` for this socket and channel."""
    ### BEGIN SOLUTION
    parts = [socket_id, channel] if channel_data is None else [socket_id, channel, channel_data]
    digest = hmac.new(secret.encode(), ":".join(parts).encode(), hashlib.sha256).hexdigest()
    return f"{key}:{digest}"
    ### END SOLUTION


def verify(
    key: str,
    secret: str,
    auth: object,
    socket_id: str,
    channel: str,
    channel_data: str | None = None,
) -> None:
    """Return None if `auth` is right for this socket and channel; raise AuthError if not."""
    ### BEGIN SOLUTION
    if not isinstance(auth, str) or ":" not in auth:
        raise AuthError("auth must be 'key:signature'")
    if channel.startswith("presence-"):
        try:
            member = json.loads(channel_data or "")
        except ValueError:
            member = None
        if not isinstance(member, dict) or "user_id" not in member:
            raise AuthError("presence needs channel_data with a user_id")
    else:
        channel_data = None
    expected = sign(key, secret, socket_id, channel, channel_data)
    if not hmac.compare_digest(auth.encode(), expected.encode()):
        raise AuthError(f"invalid signature for {socket_id} on {channel}")
    ### END SOLUTION
