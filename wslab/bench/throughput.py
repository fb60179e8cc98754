"""Throughput: messages per second and MB/s, one way and full duplex, by payload size.

The client is websockets' asyncio client (the fastest client Python has) on a loop thread of
its own, so that it works the same from a script and from a notebook cell. Each measurement
sends for `duration` seconds as fast as the connection takes it, then waits until every
message has arrived; the rate is messages over that whole time:

- client → server: the client sends to ``/sink``, which counts and, at the end, says how many
  it got (the count is checked);
- server → client: the client asks ``/source`` for a batch at a time and counts what arrives;
- full duplex: the client sends to ``/echo`` while receiving the echoes; the rate is per
  direction.

websockets' default flow control stays on: a sender that outruns its receiver waits, as it
would for real.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from websockets.asyncio.client import connect

#: Seconds any one receive may take before the measurement fails.
TIMEOUT = 10.0
DIRECTIONS = ("client → server", "server → client", "full duplex")
#: Messages the server sends per request in the server → client direction.
BATCH = 256


@dataclass(frozen=True)
class Rate:
    """One throughput measurement."""

    topology: str
    direction: str
    size: int
    """Payload bytes per message."""
    messages: int
    """Messages each way."""
    seconds: float

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds

    @property
    def mb_per_s(self) -> float:
        """Payload megabytes (10**6 bytes) per second, each way."""
        return self.messages * self.size / self.seconds / 1e6


async def measure(url: str, direction: str, size: int, duration: float) -> tuple[int, float]:
    """(messages, seconds) for one direction against the `bench` server at `url` (no path)."""
    base = url.rstrip("/")
    if direction == DIRECTIONS[0]:
        return await _upload(f"{base}/sink", size, duration)
    if direction == DIRECTIONS[1]:
        return await _download(f"{base}/source", size, duration)
    if direction == DIRECTIONS[2]:
        return await _duplex(f"{base}/echo", size, duration)
    raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")


def _connect(url: str):
    return connect(url, proxy=None, compression=None, open_timeout=TIMEOUT, max_size=None)


async def _upload(url: str, size: int, duration: float) -> tuple[int, float]:
    payload = b"x" * size
    async with _connect(url) as ws:
        await ws.send(payload)  # warm-up: one message and its count
        await ws.send("count")
        await asyncio.wait_for(ws.recv(), TIMEOUT)
        sent = 0
        started = time.perf_counter()
        deadline = started + duration
        while time.perf_counter() < deadline:
            for _ in range(16):
                await ws.send(payload)
            sent += 16
        await ws.send("count")
        counted = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        elapsed = time.perf_counter() - started
    if counted["messages"] != sent:
        raise AssertionError(f"sent {sent} messages, the server counted {counted['messages']}")
    return sent, elapsed


async def _download(url: str, size: int, duration: float) -> tuple[int, float]:
    async with _connect(url) as ws:
        await ws.send(f"1 {size}")  # warm-up
        while await asyncio.wait_for(ws.recv(), TIMEOUT) != "done":
            pass
        received = 0
        started = time.perf_counter()
        deadline = started + duration
        while time.perf_counter() < deadline:
            await ws.send(f"{BATCH} {size}")
            while (message := await asyncio.wait_for(ws.recv(), TIMEOUT)) != "done":
                if len(message) != size:
                    raise AssertionError(f"got {len(message)} bytes, not {size}")
                received += 1
        elapsed = time.perf_counter() - started
    return received, elapsed


async def _duplex(url: str, size: int, duration: float) -> tuple[int, float]:
    payload = b"x" * size
    async with _connect(url) as ws:
        await ws.send(payload)  # warm-up
        await asyncio.wait_for(ws.recv(), TIMEOUT)
        done_sending = asyncio.get_running_loop().create_future()

        async def send() -> None:
            sent = 0
            deadline = time.perf_counter() + duration
            while time.perf_counter() < deadline:
                for _ in range(16):
                    await ws.send(payload)
                sent += 16
            done_sending.set_result(sent)

        started = time.perf_counter()
        sender = asyncio.create_task(send())
        received = 0
        try:
            while not done_sending.done() or received < done_sending.result():
                message = await asyncio.wait_for(ws.recv(), TIMEOUT)
                if len(message) != size:
                    raise AssertionError(f"got {len(message)} bytes, not {size}")
                received += 1
        except BaseException:
            sender.cancel()
            raise
        await sender
        elapsed = time.perf_counter() - started
    return received, elapsed
