"""Wrong: trusts the shape of `auth` (None or a string without a colon crash with
AttributeError or IndexError instead of AuthError) and compares with == (timing leak)."""

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
    parts = [socket_id, channel] if channel_data is None else [socket_id, channel, channel_data]
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
    if auth.split(":")[1] != expected.split(":")[1] or auth[: len(key)] != key:
        raise AuthError(f"invalid signature for {socket_id} on {channel}")
