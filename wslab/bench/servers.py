"""The servers the benchmarks measure, runnable on a loop thread or in a child process.

- `bench`: one WebSocket handler with a route per measurement: ``/echo`` (round trips, full
  duplex), ``/sink`` (client to server), ``/source`` (server to client) and ``/room/...``
  (broadcast). One handler, so that one child process serves every WebSocket test.
- `room`: every client of a path is in one room; what a member sends goes to all the others.
- `TcpEchoServer`: raw TCP echo, the floor under every protocol.

The same functions run in both topologies (``wslab.serve(...)`` on a thread, or
``serve_process("bench")`` in a child), so that only the topology differs between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast

from .._streams import StreamService
from ..builtin import echo
from ..server import Server, serve

#: Members of each room, by request path.
ROOMS: defaultdict[str, set[ServerConnection]] = defaultdict(set)


async def sink(websocket: ServerConnection) -> None:
    """Count binary messages; on a text message, answer ``{"messages": n, "bytes": b}``."""
    messages = size = 0
    async for message in websocket:
        if isinstance(message, str):
            await websocket.send(json.dumps({"messages": messages, "bytes": size}))
            messages = size = 0
        else:
            messages += 1
            size += len(message)


async def source(websocket: ServerConnection) -> None:
    """On a text message "COUNT SIZE", send COUNT binary messages of SIZE bytes, then "done"."""
    async for request in websocket:
        count, size = (int(n) for n in str(request).split())
        payload = b"x" * size
        for _ in range(count):
            await websocket.send(payload)
        await websocket.send("done")


async def room(websocket: ServerConnection) -> None:
    """Join the room of this path, say "joined", relay every message to the other members."""
    members = ROOMS[websocket.request.path]
    members.add(websocket)
    try:
        await websocket.send("joined")  # once the client reads this, broadcasts reach it
        async for message in websocket:
            # broadcast() writes to every member without waiting for any: one slow client
            # does not hold up the others.
            broadcast([m for m in members if m is not websocket], message)
    finally:
        members.discard(websocket)
        if not members:
            ROOMS.pop(websocket.request.path, None)


ROUTES = {"/": echo, "/echo": echo, "/sink": sink, "/source": source}


async def bench(websocket: ServerConnection) -> None:
    """Route by path: /echo, /sink, /source, /room/<name>."""
    path = websocket.request.path
    handler = room if path.startswith("/room") else ROUTES.get(path)
    if handler is None:
        await websocket.close(1008, f"no route {path}")
        return
    await handler(websocket)


def bench_server(name: str = "bench", **options: Any) -> Server:
    """Serve `bench` (all the WebSocket routes) from a loop thread."""
    return serve(bench, name=name, **options)


def room_server(name: str = "room", **options: Any) -> Server:
    """Serve `room` from a loop thread: a chat room per path."""
    return serve(room, name=name, **options)


class TcpEchoServer(StreamService):
    """Raw TCP echo: every byte straight back, Nagle off; the floor of every round trip."""

    kind = "tcp echo server"
    scheme = "tcp"

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()


def tcp_echo_server(name: str = "tcp-echo") -> TcpEchoServer:
    """Start (or restart) a raw TCP echo server on a loop thread."""
    return TcpEchoServer(name).start()
