"""A node's broker when there is none: the same interface as `Broker`, inside one process.

A node started with ``broker=None`` publishes into this: its own members hear its events (with
ids and history, so the protocol is the same), and nobody else does. That is a single server
with no cluster behind it, and what lesson 08 starts from: two such nodes behind one load
balancer are two separate services, and an event published on one never reaches the other.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .broker import HISTORY
from .protocol import id_key

__all__ = ["MemoryBroker"]


class MemoryBroker:
    """Streams, pub/sub and presence for one process; see the module docstring."""

    url = None

    def __init__(self, history: int = HISTORY) -> None:
        self.history = history
        self._streams: dict[str, deque[dict[str, Any]]] = {}
        self._presence: dict[str, dict[str, tuple[str, Any]]] = {}
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._last = (0, 0)

    async def close(self) -> None:
        pass

    def _next_id(self) -> str:
        ms = int(time.time() * 1000)
        self._last = (ms, 0) if ms > self._last[0] else (self._last[0], self._last[1] + 1)
        return f"{self._last[0]}-{self._last[1]}"

    async def publish(self, channel: str, name: str, data: Any, exclude: str | None = None) -> str:
        envelope = {"channel": channel, "event": name, "data": data, "id": self._next_id()}
        if exclude is not None:
            envelope["exclude"] = exclude
        stream = self._streams.setdefault(channel, deque(maxlen=self.history))
        stream.append(envelope)
        self._queue.put_nowait(envelope)
        return envelope["id"]

    async def since(self, channel: str, since: str | None) -> tuple[list[dict], str | None]:
        stream = list(self._streams.get(channel, ()))
        history = [] if since is None else [e for e in stream if id_key(e["id"]) > id_key(since)]
        return history, stream[-1]["id"] if stream else None

    async def join(self, channel: str, socket_id: str, member: tuple[str, Any]) -> dict:
        members = self._presence.setdefault(channel, {})
        before = dict(members.values())
        members[socket_id] = member
        if member[0] not in before:
            self._queue.put_nowait(
                {
                    "channel": channel,
                    "event": "member_added",
                    "user_id": member[0],
                    "user_info": member[1],
                    "exclude": socket_id,
                }
            )
        return dict(sorted({**before, member[0]: member[1]}.items()))

    async def leave(self, channel: str, socket_id: str, user_id: str) -> None:
        members = self._presence.get(channel, {})
        members.pop(socket_id, None)
        if user_id not in {m[0] for m in members.values()}:
            self._queue.put_nowait(
                {"channel": channel, "event": "member_removed", "user_id": user_id}
            )

    async def listen(self) -> asyncio.Queue:
        return self._queue

    async def relay(self, queue: asyncio.Queue, deliver: Callable[[dict[str, Any]], None]) -> None:
        while True:
            deliver(await queue.get())
