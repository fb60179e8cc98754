"""Exercise 14 · A bridge between a node and Redis (lesson 08, scaling out like Pusher)

A node of a cluster knows only its own members. Write the `Bridge` that joins it to the others
through Redis publish/subscribe, so that an event published by a member of any node reaches
every member of every node, **exactly once**: no member misses it, no member gets it twice,
and no event travels around forever.

The node calls your bridge like this:

- ``Bridge(redis_url, node, deliver)``: `node` is this node's name ("1", "2", ...);
  ``deliver(channel, data)`` is a plain function that sends `data` to every local member (all
  of them, the publisher included) and returns at once;
- ``await bridge.start()``: connect and subscribe; return only once Redis has confirmed the
  subscription (from then on nothing published anywhere may be missed);
- ``await bridge.publish(channel, data)``: a local member published `data` (any JSON value);
- ``await bridge.stop()``: unsubscribe, stop any task you started, close the connections.

The rules:

1. Every event published on any node is delivered, through `deliver`, once on every node,
   to the local members of that node, the publisher's node included.
2. Events from one publisher arrive in the order they were published.
3. On Redis, use the channel ``"bridge:" + channel`` and subscribe with the pattern
   ``"bridge:*"`` (``PSUBSCRIBE``); the message is JSON text of your choice.
4. Each `publish()` sends exactly one ``PUBLISH`` to Redis; a bridge never publishes what it
   received (that is how loops start: node 1 relays to node 2, which relays back to node 1...).

There are two ways to avoid duplicates: deliver nothing locally and let Redis bring your own
events back like everyone else's (one path, one order), or deliver locally at once and skip
your own events when Redis brings them back (tag each message with the node's name). Either
earns full marks.

The tests start a real Redis server and two real nodes (websockets servers, each with your
bridge) with two members each, and count what every member receives.

Hints (the `redis` package's asyncio API, ``import redis.asyncio as redis``):

- ``client = redis.Redis.from_url(url, decode_responses=True)``; ``await client.publish(ch, text)``.
- ``pubsub = client.pubsub()``; ``await pubsub.psubscribe("bridge:*")``; then
  ``async for message in pubsub.listen():`` yields dicts whose ``"type"`` is ``"psubscribe"``
  (the confirmation, first) or ``"pmessage"`` (with ``"channel"`` and ``"data"``).
- Relay in a task (``asyncio.create_task``), and cancel it in `stop()`;
  ``await pubsub.aclose()`` and ``await client.aclose()`` close the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis

PREFIX = "bridge:"


class Bridge:
    """Relays a node's publishes to Redis, and Redis's messages to the node's members."""

    def __init__(self, redis_url: str, node: str, deliver: Callable[[str, Any], None]) -> None:
        self.redis_url = redis_url
        self.node = node
        self.deliver = deliver
        ### BEGIN SOLUTION
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.pubsub = self.client.pubsub()
        self.task: asyncio.Task | None = None
        ### END SOLUTION

    async def start(self) -> None:
        """Subscribe to every bridged channel; return once Redis has confirmed it."""
        ### BEGIN SOLUTION
        await self.pubsub.psubscribe(PREFIX + "*")
        messages = self.pubsub.listen()
        async for message in messages:
            if message["type"] == "psubscribe":
                break

        async def relay() -> None:
            # One path for every event, our own included: Redis brings each back once, in order.
            async for message in messages:
                if message["type"] == "pmessage":
                    channel = message["channel"].removeprefix(PREFIX)
                    self.deliver(channel, json.loads(message["data"])["data"])

        self.task = asyncio.create_task(relay())
        ### END SOLUTION

    async def publish(self, channel: str, data: Any) -> None:
        """A local member published `data` on `channel`."""
        ### BEGIN SOLUTION
        text = json.dumps({"node": self.node, "data": data})
        await self.client.publish(PREFIX + channel, text)
        ### END SOLUTION

    async def stop(self) -> None:
        """Unsubscribe, stop the relay, close the connections."""
        ### BEGIN SOLUTION
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.pubsub.punsubscribe()
        await self.pubsub.aclose()
        await self.client.aclose()
        ### END SOLUTION
