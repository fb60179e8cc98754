"""Delivery guarantees: at-least-once with acks and retries, exactly-once effects by dedup.

A WebSocket `send()` returns when the bytes are in a buffer, not when the peer has them: if the
connection dies now, the message may be lost, and the sender cannot tell. That is
*at-most-once*. For *at-least-once* the receiver acknowledges each message by id and the sender
keeps every message until its ack comes, resending the unacknowledged ones on a new connection.
A message whose ack was lost is then received twice, so the receiver remembers the ids it has
processed and drops repeats: the effect happens exactly once.

The protocol, one JSON object per text message:

    {"type": "msg", "id": 7, "body": ...}      a message
    {"type": "ack", "id": 7}                   its acknowledgement

`Outbox` and `Inbox` are the two ends, without I/O; `acking_handler` and `send_reliably` put
them on a websockets connection.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import WebSocketException


def message(id: int, body: Any) -> str:
    return json.dumps({"type": "msg", "id": id, "body": body})


def ack(id: int) -> str:
    return json.dumps({"type": "ack", "id": id})


class Outbox:
    """The sender's side: messages kept, in order, until acknowledged."""

    def __init__(self, bodies: Iterable[Any] = ()) -> None:
        self._pending: dict[int, str] = {}
        self._next = 1
        for body in bodies:
            self.add(body)

    def add(self, body: Any) -> str:
        """Keep `body` under the next id; return the frame to send."""
        id, self._next = self._next, self._next + 1
        self._pending[id] = message(id, body)
        return self._pending[id]

    def acknowledge(self, text: str) -> None:
        """Forget the message an ack names (an ack for an unknown id is a harmless repeat)."""
        event = json.loads(text)
        if event.get("type") == "ack":
            self._pending.pop(event.get("id"), None)

    def unacked(self) -> list[str]:
        """Frames still waiting for their ack, oldest first: what to send on a new connection."""
        return list(self._pending.values())

    @property
    def done(self) -> bool:
        return not self._pending


@dataclass
class Inbox:
    """The receiver's side: acks every message, processes each id once (unless `dedup=False`)."""

    dedup: bool = True
    processed: list[Any] = field(default_factory=list)
    """Bodies processed, in order; with dedup, each message once."""
    received: int = 0
    """Messages received, repeats included."""
    ids: list[int] = field(default_factory=list)
    """Ids of the messages processed, in order."""

    def receive(self, text: str) -> str:
        """Process one message frame (once per id) and return the ack to send back."""
        event = json.loads(text)
        self.received += 1
        if not (self.dedup and event["id"] in self.ids):
            self.ids.append(event["id"])
            self.processed.append(event["body"])
        return ack(event["id"])

    @property
    def duplicates(self) -> int:
        """Messages processed more than once."""
        return len(self.ids) - len(set(self.ids))


def acking_handler(inbox: Inbox):
    """A server handler that feeds every message to `inbox` (shared by all connections) and
    acknowledges it once processed: crash after processing, before the ack, and the sender
    will send it again."""

    async def handler(websocket: ServerConnection) -> None:
        async for text in websocket:
            await websocket.send(inbox.receive(text))

    return handler


@dataclass
class Report:
    """How a reliable send went."""

    sent: int = 0
    """Frames sent, resends included."""
    connections: int = 0
    delays: list[float] = field(default_factory=list)
    """The backoff delays waited before each reconnection."""


async def send_reliably(
    url: str,
    bodies: Iterable[Any],
    *,
    base: float = 0.05,
    cap: float = 1.0,
    attempts: int = 10,
    rng: random.Random | None = None,
    timeout: float = 5.0,
) -> Report:
    """Send every body at least once: resend what is unacked after each reconnection.

    Before reconnection i (from 0) wait ``uniform(0, min(cap, base * 2**i))``: exponential
    backoff with full jitter. Raise ConnectionError after `attempts` reconnections.
    """
    rng = rng or random.Random()
    outbox = Outbox(bodies)
    report = Report()
    while True:
        try:
            async with connect(url, proxy=None, open_timeout=timeout) as websocket:
                report.connections += 1
                for frame in outbox.unacked():
                    await websocket.send(frame)
                    report.sent += 1
                while not outbox.done:
                    outbox.acknowledge(await asyncio.wait_for(websocket.recv(), timeout))
        except (OSError, TimeoutError, WebSocketException):
            pass  # lost: what is unacked goes again on the next connection
        if outbox.done:
            return report
        if len(report.delays) == attempts:
            unacked = len(outbox.unacked())
            raise ConnectionError(f"{unacked} message(s) unacked after {attempts} retries")
        report.delays.append(rng.uniform(0, min(cap, base * 2 ** len(report.delays))))
        await asyncio.sleep(report.delays[-1])
