"""Wrong: signs the channel without the socket id, so one signature opens the channel
for every connection (cross-socket and replayed signatures pass)."""

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
    parts = [channel] if channel_data is None else [channel, channel_data]
    digest = hmac.new(secret.encode(), ":".join(parts).encode(), hashlib.sha256).hexdigest()
    return f"{key}:{digest}"


def verify(
    key: str,
    secret: str,
    auth: object,
    socket_id: str,
    channel: str,
    channel_data: str | None = None,
) -> None:
    """Return None if `auth` is right for this socket and channel; raise AuthError if not."""
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
