"""One node's channels: who is subscribed to what here, and what each of them has seen. No I/O.

`ChannelState` is the node's state machine, in the shape of the chat room (`wslab.chat.room`):
the node feeds it what clients send (`receive()`), what the broker relays (`from_broker()`) and
what the broker answered (`subscribed()`); it answers with *deliveries* (messages for local
clients) and *actions* (work for the broker), and never touches a socket or Redis itself.

Rules:

- A connection gets a ``socket_id``, ``"<node>.<n>"``, unique in the cluster.
- Every event reaches clients through the broker, including client events sent to this node:
  a node never delivers its own publishes directly, so there is one path, one order, and no
  event can arrive twice by two paths.
- A subscription is pending until the broker has answered `Fetch`: the channel's position
  (latest event id) and, with ``since``, the events after it; presence channels also get the
  member list. Events relayed meanwhile wait in the subscription's queue.
- Each subscription remembers the id of the last event it delivered (its cursor) and delivers
  only greater ids: history and live events may overlap, a client still gets each event once,
  in the stream's order.
- Private and presence subscriptions need a valid signature for this connection's socket id
  (`auth.verify_subscription`); client events are allowed on those channels only, for their
  subscribers, and go to every subscriber but the sender.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import auth, protocol
from .protocol import ChannelError, Kind

__all__ = ["ChannelState", "Delivery", "Fetch", "Leave", "Outcome", "Publish"]

Client = Hashable


class Delivery(NamedTuple):
    """One message for some local clients."""

    to: tuple[Client, ...]
    message: dict[str, Any]


@dataclass(frozen=True)
class Fetch:
    """Ask the broker for `channel`'s position and the events after `since`; for presence,
    register `member` (user_id, user_info) for `socket_id` and get the member list."""

    client: Client
    channel: str
    since: str | None
    socket_id: str
    member: tuple[str, Any] | None = None


@dataclass(frozen=True)
class Publish:
    """Append an event to `channel`'s stream and relay it to every node."""

    channel: str
    name: str
    data: Any
    exclude: str | None = None
    """A socket id that must not receive it (the sender of a client event)."""


@dataclass(frozen=True)
class Leave:
    """Remove `socket_id`'s presence in `channel` (and announce it if the user has gone)."""

    channel: str
    socket_id: str
    user_id: str


Action = Fetch | Publish | Leave


@dataclass
class Outcome:
    deliveries: list[Delivery] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@dataclass(eq=False)
class _Subscription:
    cursor: tuple[int, int] | None = None
    pending: list[dict[str, Any]] | None = field(default_factory=list)
    user_id: str | None = None


class ChannelState:
    """The subscriptions of one node; see the module's rules."""

    def __init__(self, app: auth.App, node: str = "1") -> None:
        self.app = app
        self.node = node
        self._ids = itertools.count(1)
        self._socket_ids: dict[Client, str] = {}
        self._subs: dict[Client, dict[str, _Subscription]] = {}
        self._channels: dict[str, dict[Client, None]] = {}

    # --- queries ---------------------------------------------------------------------------

    def socket_id(self, client: Client) -> str | None:
        return self._socket_ids.get(client)

    def channels(self) -> list[str]:
        """Channels with at least one subscriber on this node, sorted."""
        return sorted(self._channels)

    def subscribers(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))

    # --- client events ---------------------------------------------------------------------

    def connect(self, client: Client) -> Outcome:
        socket_id = f"{self.node}.{next(self._ids)}"
        self._socket_ids[client] = socket_id
        self._subs[client] = {}
        return Outcome([Delivery((client,), {"event": "connected", "socket_id": socket_id})])

    def receive(self, client: Client, message: protocol.ClientMessage | ChannelError) -> Outcome:
        """Handle a parsed message from `client`, or the error its parsing raised."""
        try:
            if isinstance(message, ChannelError):
                raise message
            if isinstance(message, protocol.Ping):
                return Outcome([Delivery((client,), {"event": "pong"})])
            if isinstance(message, protocol.Subscribe):
                return self._subscribe(client, message)
            if isinstance(message, protocol.Unsubscribe):
                return Outcome(actions=self._unsubscribe(client, message.channel))
            return self._client_event(client, message)
        except ChannelError as refused:
            return Outcome([Delivery((client,), protocol.error(refused))])

    def disconnect(self, client: Client) -> Outcome:
        actions: list[Action] = []
        for channel in list(self._subs.get(client, ())):
            actions += self._unsubscribe(client, channel)
        self._subs.pop(client, None)
        self._socket_ids.pop(client, None)
        return Outcome(actions=actions)

    # --- broker events ---------------------------------------------------------------------

    def subscribed(
        self,
        client: Client,
        channel: str,
        history: list[dict[str, Any]],
        position: str | None,
        members: dict[str, Any] | None = None,
    ) -> list[Delivery]:
        """The broker answered `Fetch`: confirm, send what was missed, then what queued up."""
        sub = self._subs.get(client, {}).get(channel)
        if sub is None or sub.pending is None:
            return []  # unsubscribed or gone meanwhile
        if sub.cursor is None and position is not None:
            sub.cursor = protocol.id_key(position)
        queued, sub.pending = sub.pending, None
        reply: dict[str, Any] = {"event": "subscribed", "channel": channel, "position": position}
        if members is not None:
            reply["members"] = members
        deliveries = [Delivery((client,), reply)]
        for envelope in [*history, *queued]:
            deliveries += self._relay(envelope, [client])
        return deliveries

    def from_broker(self, envelope: dict[str, Any]) -> list[Delivery]:
        """An event the broker relayed (published on any node, or by the backend)."""
        return self._relay(envelope, list(self._channels.get(envelope.get("channel"), ())))

    # --- internals -------------------------------------------------------------------------

    def _relay(self, envelope: dict[str, Any], clients: list[Client]) -> list[Delivery]:
        channel, event_id = envelope["channel"], envelope.get("id")
        key = protocol.id_key(event_id) if event_id else None
        to = []
        for client in clients:
            if self._socket_ids.get(client) == envelope.get("exclude"):
                continue
            sub = self._subs[client][channel]
            if sub.pending is not None:
                sub.pending.append(envelope)
            elif key is None:
                to.append(client)
            elif sub.cursor is None or key > sub.cursor:
                sub.cursor = key
                to.append(client)
        if not to:
            return []
        if key is None:  # a presence notice
            message = {k: v for k, v in envelope.items() if k != "exclude"}
        else:
            message = protocol.event(channel, envelope["event"], envelope.get("data"), event_id)
        return [Delivery(tuple(to), message)]

    def _subscribe(self, client: Client, request: protocol.Subscribe) -> Outcome:
        channel, socket_id = request.channel, self._socket_ids[client]
        kind = protocol.kind_of(channel)
        member = None
        if kind is not Kind.PUBLIC:
            data = request.channel_data if kind is Kind.PRESENCE else None
            try:
                auth.verify_subscription(self.app, request.auth, socket_id, channel, data)
            except auth.AuthError as exc:
                raise ChannelError("unauthorized", str(exc), channel) from None
            if kind is Kind.PRESENCE:
                member = protocol.parse_channel_data(data)
        actions = self._unsubscribe(client, channel)  # a second subscribe starts afresh
        self._subs[client][channel] = _Subscription(
            cursor=protocol.id_key(request.since) if request.since else None,
            user_id=member[0] if member else None,
        )
        self._channels.setdefault(channel, {})[client] = None
        actions.append(Fetch(client, channel, request.since, socket_id, member))
        return Outcome(actions=actions)

    def _unsubscribe(self, client: Client, channel: str) -> list[Action]:
        sub = self._subs.get(client, {}).pop(channel, None)
        if sub is None:
            return []
        members = self._channels[channel]
        del members[client]
        if not members:
            del self._channels[channel]
        if sub.user_id is None:
            return []
        return [Leave(channel, self._socket_ids[client], sub.user_id)]

    def _client_event(self, client: Client, message: protocol.ClientEvent) -> Outcome:
        channel = message.channel
        if protocol.kind_of(channel) is Kind.PUBLIC:
            raise ChannelError("client_events_forbidden", ERROR_FORBIDDEN, channel)
        if channel not in self._subs[client]:
            raise ChannelError("not_subscribed", f"subscribe to {channel} first", channel)
        publish = Publish(channel, message.name, message.data, self._socket_ids[client])
        return Outcome(actions=[publish])


ERROR_FORBIDDEN = protocol.ERROR_CODES["client_events_forbidden"]
