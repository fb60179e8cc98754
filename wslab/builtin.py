"""The servers lessons start with one call: an echo server and a server that speaks first."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.server import ServerConnection

from .server import Server, serve


async def echo(websocket: ServerConnection) -> None:
    """Send every message back as it came: text as text, binary as binary."""
    async for message in websocket:
        await websocket.send(message)


def echo_server(name: str = "echo", **options: Any) -> Server:
    """Start (or restart) the echo server; see `wslab.serve` for the options."""
    return serve(echo, name=name, **options)


def push_events(interval: float, count: int | None):
    """The push server's handler: JSON events ``{"type": "tick", "seq": n}``, unasked.

    Each connection gets its own sequence starting at 1, one event every `interval` seconds,
    `count` events in all (forever if None), then a normal close. What the client sends is
    read and ignored, so the server notices a close from the client at once.
    """

    async def push(websocket: ServerConnection) -> None:
        async def drain() -> None:
            async for _ in websocket:
                pass

        reader = asyncio.create_task(drain())
        try:
            seq = 0
            while count is None or seq < count:
                seq += 1
                await websocket.send(json.dumps({"type": "tick", "seq": seq}))
                await asyncio.sleep(interval)
        finally:
            reader.cancel()

    return push


def push_server(
    name: str = "push", interval: float = 0.5, count: int | None = None, **options: Any
) -> Server:
    """Start a server that sends events every `interval` seconds without being asked."""
    return serve(push_events(interval, count), name=name, **options)
