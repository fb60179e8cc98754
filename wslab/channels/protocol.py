"""The channel service's protocol, sans I/O: JSON text in, small events out, and back.

Every message is one JSON object in one text frame, with an ``"event"`` naming what it is.

A client sends:

- ``{"event": "subscribe", "channel": C}``, plus for a private channel ``"auth"`` (a signature
  from the app's backend, see `wslab.channels.auth`), plus for a presence channel
  ``"channel_data"`` (the JSON text ``{"user_id": ..., "user_info": ...}`` the backend signed),
  plus ``"since"`` (the id of the last event it got, to get exactly what it missed);
- ``{"event": "unsubscribe", "channel": C}``;
- ``{"event": "client-NAME", "channel": C, "data": ...}``: a client event, relayed to the
  channel's other subscribers; private and presence channels only (a signed subscription says
  who may talk);
- ``{"event": "ping"}``, answered ``{"event": "pong"}``.

The server sends ``connected`` (with the connection's ``socket_id``), ``subscribed`` (with the
channel's ``position``: the id of its latest event, and for presence the ``members``), events
``{"event": NAME, "channel": C, "data": ..., "id": ID}``, ``member_added`` /
``member_removed``, and ``error`` with a ``code`` from `ERROR_CODES`.

Channel kinds come from the name: ``private-...``, ``presence-...``, anything else is public.
Event ids are the broker's stream ids, ``"<milliseconds>-<sequence>"``; `id_key()` orders them.

No sockets, no clock, no state: the same frame always parses to the same event.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ERROR_CODES",
    "ChannelError",
    "ClientEvent",
    "Kind",
    "Ping",
    "Subscribe",
    "Unsubscribe",
    "encode",
    "error",
    "event",
    "id_key",
    "kind_of",
    "parse",
    "parse_channel_data",
]

#: Channel names: 1 to 164 letters, digits and ``_-=@,.;`` (Pusher's rule).
CHANNEL = re.compile(r"[A-Za-z0-9_\-=@,.;]{1,164}")
#: Event ids: the broker's stream ids.
EVENT_ID = re.compile(r"\d{1,20}-\d{1,20}")
#: The largest frame a client may send, in bytes.
MAX_MESSAGE = 10_000

ERROR_CODES = {
    "bad_message": "not JSON, not an object, an unknown event or a missing or invalid field",
    "bad_channel": "a channel name is 1-164 letters, digits or _-=@,.;",
    "unauthorized": "the subscription's signature does not match this connection and channel",
    "not_subscribed": "client events go to channels this connection subscribed to",
    "client_events_forbidden": "client events are for private and presence channels only",
}


class Kind(enum.Enum):
    """What a channel is, from its name's prefix."""

    PUBLIC = "public"
    PRIVATE = "private"
    PRESENCE = "presence"


def kind_of(channel: str) -> Kind:
    """`Kind.PRIVATE` for ``private-*``, `Kind.PRESENCE` for ``presence-*``, else public."""
    if channel.startswith("private-"):
        return Kind.PRIVATE
    if channel.startswith("presence-"):
        return Kind.PRESENCE
    return Kind.PUBLIC


def id_key(event_id: str) -> tuple[int, int]:
    """A stream id as a pair of numbers, so that ids compare in the order they were given."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


class ChannelError(Exception):
    """A message the server refuses; becomes ``{"event": "error", "code": ..., ...}``."""

    def __init__(self, code: str, reason: str, channel: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.channel = channel


# --- client → server -------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscribe:
    channel: str
    auth: str | None = None
    channel_data: str | None = None
    since: str | None = None


@dataclass(frozen=True)
class Unsubscribe:
    channel: str


@dataclass(frozen=True)
class ClientEvent:
    channel: str
    name: str
    data: Any = None


@dataclass(frozen=True)
class Ping:
    pass


ClientMessage = Subscribe | Unsubscribe | ClientEvent | Ping


def parse(data: str | bytes) -> ClientMessage:
    """Parse one frame from a client; raise `ChannelError` if the server must refuse it."""
    if not isinstance(data, str):
        raise ChannelError("bad_message", "send JSON in text frames, not binary frames")
    if len(data) > MAX_MESSAGE:
        raise ChannelError("bad_message", f"longer than {MAX_MESSAGE} characters")
    try:
        fields = json.loads(data)
    except (ValueError, RecursionError):
        raise ChannelError("bad_message", "not valid JSON") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("event"), str):
        raise ChannelError("bad_message", "a message is a JSON object with an 'event'")
    name = fields["event"]
    if name == "ping":
        return Ping()
    if name not in ("subscribe", "unsubscribe") and not name.startswith("client-"):
        raise ChannelError("bad_message", f"unknown event {name!r}")
    channel = fields.get("channel")
    if not isinstance(channel, str) or not CHANNEL.fullmatch(channel):
        raise ChannelError("bad_channel", f"bad channel {channel!r}")
    if name == "unsubscribe":
        return Unsubscribe(channel)
    if name.startswith("client-"):
        return ClientEvent(channel, name, fields.get("data"))
    optional = {k: fields.get(k) for k in ("auth", "channel_data", "since")}
    for key, value in optional.items():
        if value is not None and not isinstance(value, str):
            raise ChannelError("bad_message", f"{key!r} must be a string", channel)
    since = optional["since"]
    if since is not None and not EVENT_ID.fullmatch(since):
        raise ChannelError("bad_message", f"'since' must be an event id, got {since!r}", channel)
    return Subscribe(channel, **optional)


def parse_channel_data(channel_data: str | None) -> tuple[str, Any]:
    """A presence subscription's ``(user_id, user_info)``; `ChannelError` if it has none."""
    try:
        fields = json.loads(channel_data or "")
    except ValueError:
        fields = None
    if not isinstance(fields, dict) or not isinstance(fields.get("user_id"), str | int):
        raise ChannelError("bad_message", "channel_data must be JSON with a 'user_id'")
    return str(fields["user_id"]), fields.get("user_info")


# --- server → client -------------------------------------------------------------------------


def encode(message: dict[str, Any]) -> str:
    """The JSON text of a server message, compact."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def event(channel: str, name: str, data: Any, event_id: str | None = None) -> dict[str, Any]:
    message = {"event": name, "channel": channel, "data": data}
    if event_id is not None:
        message["id"] = event_id
    return message


def error(refused: ChannelError) -> dict[str, Any]:
    message = {"event": "error", "code": refused.code, "reason": refused.reason}
    if refused.channel is not None:
        message["channel"] = refused.channel
    return message
