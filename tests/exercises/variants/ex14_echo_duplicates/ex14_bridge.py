"""Wrong: delivers its own publishes locally at once, and again when Redis brings them
back: every member of the publishing node gets each of its events twice."""

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
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.pubsub = self.client.pubsub()
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        """Subscribe to every bridged channel; return once Redis has confirmed it."""
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

    async def publish(self, channel: str, data: Any) -> None:
        """A local member published `data` on `channel`."""
        self.deliver(channel, data)
        text = json.dumps({"node": self.node, "data": data})
        await self.client.publish(PREFIX + channel, text)

    async def stop(self) -> None:
        """Unsubscribe, stop the relay, close the connections."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.pubsub.aclose()
        await self.client.aclose()
