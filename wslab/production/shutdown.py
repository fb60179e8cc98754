"""Graceful shutdown, and the crowd that comes back: a server that leaves politely on SIGTERM,
and reconnections measured with and without jitter.

A deploy or a scale-down stops a server with SIGTERM. A process that does nothing about it dies
on the spot: its clients see the TCP connection vanish (1006, no close frame) and cannot tell a
deploy from a crash. `graceful_server` catches SIGTERM and closes every connection with
**1001 going away** first: the clients know to reconnect, elsewhere or later.

When they all reconnect *at the same moment*, the new server gets every handshake in the same
few milliseconds: the thundering herd. `herd()` measures it: N clients connected to an old
server, the old server stops, each client waits its delay and connects to the new one, which
records when each arrives.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection

from ..builtin import echo
from ..server import Server, serve


def graceful_server(name: str = "graceful", **options: Any) -> Server:
    """An echo server that, on SIGTERM, closes every connection with 1001, then exits.

    Meant for a child process
    (``wslab.serve_process("wslab.production.shutdown:graceful_server")``): a signal handler
    belongs to a process's main thread, and that is where a process server calls this factory.
    """
    server = serve(echo, name=name, **options)

    def on_sigterm(signum: int, frame: Any) -> None:
        # The handler runs in the main thread; stop() closes with 1001 and waits for the
        # closing handshakes (at most a few seconds), then the process ends.
        def leave() -> None:
            server.stop()
            os._exit(0)

        threading.Thread(target=leave).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    return server


@dataclass
class Arrivals:
    """When clients connected, in seconds since `origin`."""

    origin: float = field(default_factory=time.monotonic)
    times: list[float] = field(default_factory=list)

    def handler(self):
        async def arrive(websocket: ServerConnection) -> None:
            self.times.append(time.monotonic() - self.origin)
            await websocket.wait_closed()

        return arrive

    def peak(self, window: float = 0.05) -> int:
        """The most arrivals within any `window` seconds."""
        times = sorted(self.times)
        return max(
            (sum(1 for u in times[i:] if u - t < window) for i, t in enumerate(times)), default=0
        )


@dataclass
class Herd:
    """What `herd()` measured."""

    close_codes: list[int | None]
    arrivals: Arrivals


async def herd(clients: int, delay: float, jitter: bool, seed: int = 0) -> Herd:
    """Stop a server with `clients` connected; each reconnects to its successor after `delay`
    (``jitter=False``) or after ``uniform(0, delay)`` (full jitter). Run with top-level await.
    """
    rng = random.Random(seed)
    old = serve(echo, name="herd-old")
    arrivals = Arrivals()
    new = serve(arrivals.handler(), name="herd-new")
    connections = [await connect(old.url, proxy=None) for _ in range(clients)]

    async def come_back(websocket) -> Any:
        await websocket.wait_closed()
        await asyncio.sleep(rng.uniform(0, delay) if jitter else delay)
        return await connect(new.url, proxy=None, open_timeout=10)

    returning = [asyncio.create_task(come_back(ws)) for ws in connections]
    arrivals.origin = time.monotonic()
    await asyncio.to_thread(old.stop)  # in a thread: the clients answer its close on our loop
    try:
        back = await asyncio.gather(*returning)
    finally:
        for task in returning:
            task.cancel()
    codes = [ws.close_code for ws in connections]
    for websocket in back:
        await websocket.close()
    await asyncio.to_thread(new.stop)
    return Herd(codes, arrivals)
