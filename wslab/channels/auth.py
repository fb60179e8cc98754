"""Who may subscribe to what, and who may publish: HMAC-SHA256 signatures, Pusher's way.

The app's backend and the channel service share a secret; browsers and Python clients never see
it. A client that wants a private channel first connects (the node gives it a ``socket_id``),
then asks the app's backend "may socket 12.3 join private-orders?". The backend, which knows who
the user is (a session cookie), answers with a signature over exactly that question:

    auth = "<key>:" + hex(HMAC-SHA256(secret, "<socket_id>:<channel>"))
    auth = "<key>:" + hex(HMAC-SHA256(secret, "<socket_id>:<channel>:<channel_data>"))  # presence

Because the socket id is inside what is signed, a signature is good for one connection only:
copied to another connection (cross-socket) or kept and used again after a reconnection
(replayed, the new connection has a new socket id), it no longer matches. For presence channels
the user's id and info (``channel_data``) are signed too, so nobody can claim to be someone else.

The backend's own calls to the service (trigger an event) are signed the same way, over the
method, the path and the sorted query, which carries a timestamp (``auth_timestamp``) and the MD5
of the body: a captured request cannot be altered, and is refused once it is older than
`MAX_CLOCK_SKEW` seconds.

Comparisons use `hmac.compare_digest`, which takes as long whatever the first differing byte:
an attacker cannot find a signature byte by byte by timing the answers.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "MAX_CLOCK_SKEW",
    "App",
    "AuthError",
    "sign_request",
    "sign_subscription",
    "subscription_message",
    "verify_request",
    "verify_subscription",
]

#: Seconds a signed backend request stays valid (Pusher's HTTP API uses 600 as well).
MAX_CLOCK_SKEW = 600


class AuthError(Exception):
    """A signature that does not match, or a request too old: the service refuses it."""


@dataclass(frozen=True)
class App:
    """An app's credentials: `key` is public (it names the app), `secret` stays on servers."""

    id: str = "course"
    key: str = "wslab-key"
    secret: str = "wslab-secret-change-me"


def subscription_message(socket_id: str, channel: str, channel_data: str | None = None) -> str:
    """The exact text that is signed: ``socket_id:channel`` or ``socket_id:channel:data``."""
    parts = [socket_id, channel] if channel_data is None else [socket_id, channel, channel_data]
    return ":".join(parts)


def _hex_hmac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def sign_subscription(
    app: App, socket_id: str, channel: str, channel_data: str | None = None
) -> str:
    """What the app's backend returns to a client allowed to subscribe: ``"key:hexdigest"``."""
    return (
        f"{app.key}:{_hex_hmac(app.secret, subscription_message(socket_id, channel, channel_data))}"
    )


def verify_subscription(
    app: App, auth: object, socket_id: str, channel: str, channel_data: str | None = None
) -> None:
    """Raise `AuthError` unless `auth` is this app's signature for this socket and channel."""
    if not isinstance(auth, str) or ":" not in auth:
        raise AuthError("auth must be 'key:signature'")
    key, _, signature = auth.partition(":")
    if key != app.key:
        raise AuthError(f"unknown app key {key!r}")
    expected = _hex_hmac(app.secret, subscription_message(socket_id, channel, channel_data))
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise AuthError(f"invalid signature for socket {socket_id} on {channel}")


def _request_text(method: str, path: str, query: Mapping[str, str]) -> str:
    ordered = "&".join(f"{k}={query[k]}" for k in sorted(query) if k != "auth_signature")
    return f"{method.upper()}\n{path}\n{ordered}"


def sign_request(
    app: App, method: str, path: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The query parameters that authenticate a backend request (add them to its URL)."""
    query = {
        "auth_key": app.key,
        "auth_timestamp": str(int(time.time() if now is None else now)),
        "auth_version": "1.0",
        "body_md5": hashlib.md5(body).hexdigest(),
    }
    query["auth_signature"] = _hex_hmac(app.secret, _request_text(method, path, query))
    return query


def verify_request(
    app: App,
    method: str,
    path: str,
    query: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> None:
    """Raise `AuthError` unless the request is signed by this app, unaltered and recent."""
    if query.get("auth_key") != app.key:
        raise AuthError("unknown or missing auth_key")
    if query.get("body_md5") != hashlib.md5(body).hexdigest():
        raise AuthError("body_md5 does not match the body")
    try:
        age = abs((time.time() if now is None else now) - int(query.get("auth_timestamp", "")))
    except ValueError:
        raise AuthError("auth_timestamp must be an integer") from None
    if age > MAX_CLOCK_SKEW:
        raise AuthError(f"auth_timestamp is {age:.0f} s away from now (max {MAX_CLOCK_SKEW})")
    expected = _hex_hmac(app.secret, _request_text(method, path, query))
    if not hmac.compare_digest(str(query.get("auth_signature", "")).encode(), expected.encode()):
        raise AuthError("invalid auth_signature")
