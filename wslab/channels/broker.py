"""The node's side of Redis: publish into a channel's stream, read it back, relay pub/sub.

Two Redis features carry the cluster, both through the `redis` client's asyncio API:

- a capped stream per channel, ``wslab:stream:<channel>`` (``XADD ... MAXLEN n``): the channel's
  recent events in order, each with an id Redis gives it; a client that comes back asks for the
  events after the last id it got (``XRANGE``), on whichever node it lands;
- pub/sub, ``wslab:ch:<channel>``: every node subscribes to the pattern ``wslab:ch:*`` and
  hears every event once, as soon as it is published, whichever node or backend published it.

Publishing does both in one Lua script: Redis runs a script without interleaving any other
command, so the stream's order and the pub/sub order are the same order, on every node. The
message relayed is ``"<id> <json envelope>"``: the id goes with the event to every node.

Presence members live in a hash per channel, ``wslab:presence:<channel>``, socket id -> the
signed channel_data; ``member_added`` / ``member_removed`` go out by pub/sub only (they are not
history). A node that dies leaves its members in the hash: a real service expires them with a
heartbeat (Pusher removes members of a dead connection within seconds); this one does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis

__all__ = ["PATTERN", "Broker", "decode_relayed", "pubsub_channel", "stream_key"]

PATTERN = "wslab:ch:*"
#: Events each channel's stream keeps by default.
HISTORY = 1000

# KEYS[1] stream, KEYS[2] pub/sub channel; ARGV[1] max length, ARGV[2] the envelope (JSON).
_PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'e', ARGV[2])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[2])
return id
"""


def stream_key(channel: str) -> str:
    return f"wslab:stream:{channel}"


def pubsub_channel(channel: str) -> str:
    return f"wslab:ch:{channel}"


def presence_key(channel: str) -> str:
    return f"wslab:presence:{channel}"


def decode_relayed(data: str) -> dict[str, Any]:
    """A pub/sub message as an envelope: ``"<id> <json>"`` or a bare JSON presence notice."""
    if data.startswith("{"):
        return json.loads(data)
    event_id, _, text = data.partition(" ")
    return {**json.loads(text), "id": event_id}


class Broker:
    """A connection to Redis for one node (or the backend API)."""

    def __init__(self, url: str, history: int = HISTORY, client_name: str | None = None) -> None:
        self.url = url
        self.history = history
        # The name each connection gives itself (CLIENT SETNAME) shows in CLIENT LIST and taps.
        self.redis = redis.Redis.from_url(url, decode_responses=True, client_name=client_name)
        self._publish = self.redis.register_script(_PUBLISH)

    async def close(self) -> None:
        await self.redis.aclose()

    async def publish(self, channel: str, name: str, data: Any, exclude: str | None = None) -> str:
        """Append the event to the channel's stream and relay it to every node; its id."""
        envelope = {"channel": channel, "event": name, "data": data}
        if exclude is not None:
            envelope["exclude"] = exclude
        text = json.dumps(envelope, separators=(",", ":"))
        keys = [stream_key(channel), pubsub_channel(channel)]
        return await self._publish(keys=keys, args=[self.history, text])

    async def since(self, channel: str, since: str | None) -> tuple[list[dict], str | None]:
        """The events after `since` (none if None) and the channel's latest id."""
        key = stream_key(channel)
        history = []
        if since is not None:
            entries = await self.redis.xrange(key, min=f"({since}", max="+")
            history = [{**json.loads(fields["e"]), "id": i} for i, fields in entries]
        latest = await self.redis.xrevrange(key, count=1)
        return history, latest[0][0] if latest else None

    async def join(self, channel: str, socket_id: str, member: tuple[str, Any]) -> dict:
        """Register a presence member; the members by user id; announce a newcomer."""
        user_id, info = member
        key = presence_key(channel)
        before = await self._members(key)
        await self.redis.hset(key, socket_id, json.dumps([user_id, info]))
        if user_id not in before:
            notice = {
                "channel": channel,
                "event": "member_added",
                "user_id": user_id,
                "user_info": info,
                "exclude": socket_id,
            }
            await self.redis.publish(pubsub_channel(channel), json.dumps(notice))
        return {**before, user_id: info}

    async def leave(self, channel: str, socket_id: str, user_id: str) -> None:
        key = presence_key(channel)
        await self.redis.hdel(key, socket_id)
        if user_id not in await self._members(key):
            notice = {"channel": channel, "event": "member_removed", "user_id": user_id}
            await self.redis.publish(pubsub_channel(channel), json.dumps(notice))

    async def _members(self, key: str) -> dict[str, Any]:
        entries = (json.loads(v) for v in (await self.redis.hgetall(key)).values())
        return {user_id: info for user_id, info in sorted(entries, key=lambda e: str(e[0]))}

    async def listen(self) -> Any:
        """Subscribe to every channel; return once Redis has confirmed it (a `PubSub`)."""
        pubsub = self.redis.pubsub()
        await pubsub.psubscribe(PATTERN)
        async for message in pubsub.listen():  # the confirmation comes first
            if message["type"] == "psubscribe":
                return pubsub
        raise ConnectionError("the pub/sub connection closed before confirming")

    async def relay(self, pubsub: Any, deliver: Callable[[dict[str, Any]], None]) -> None:
        """Pass every event the broker relays, in order, to `deliver`; until cancelled."""
        try:
            async for message in pubsub.listen():
                if message["type"] == "pmessage":
                    deliver(decode_relayed(message["data"]))
        finally:
            await pubsub.aclose()
