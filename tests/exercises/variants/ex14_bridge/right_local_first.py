"""Right, in another style: members of the publishing node get its events at once, without
the round trip; each message carries the node's name, and a node skips its own when Redis
brings them back. Reads with get_message() in a loop instead of listen()."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as redis


class Bridge:
    def __init__(self, redis_url, node, deliver):
        self.node = node
        self.deliver = deliver
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.pubsub = self.client.pubsub()
        self.reader = None

    async def start(self):
        await self.pubsub.psubscribe("bridge:*")
        while True:
            confirmation = await self.pubsub.get_message(timeout=1.0)
            if confirmation and confirmation["type"] == "psubscribe":
                break
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        while True:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            origin, data = json.loads(message["data"])
            if origin != self.node:  # ours were delivered when they were published
                self.deliver(message["channel"][len("bridge:") :], data)

    async def publish(self, channel, data):
        self.deliver(channel, data)
        await self.client.publish("bridge:" + channel, json.dumps([self.node, data]))

    async def stop(self):
        if self.reader:
            self.reader.cancel()
            try:
                await self.reader
            except asyncio.CancelledError:
                pass
        await self.pubsub.punsubscribe()
        await self.pubsub.aclose()
        await self.client.aclose()
