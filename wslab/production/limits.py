"""Limits that keep one client from taking a server down: rate per connection, connection caps.

Size limits are websockets' own (``max_size``: a message over it closes the connection with
1009, and it counts *decompressed* bytes, so a small compressed "bomb" is refused too). What
websockets leaves to the application is here:

- `TokenBucket`: at most `rate` messages per second on average, bursts up to `burst`; pure
  logic, the clock is passed in;
- `rate_limited(handler_for_message, rate, burst)`: a handler that closes a connection going
  over its budget with 1008 (policy violation);
- `ConnectionCap`: refuses handshakes past `limit` open connections with 503 and Retry-After,
  in ``process_request``, before any resources are spent on the connection.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response


@dataclass
class TokenBucket:
    """`rate` tokens per second flow into a bucket of `burst`; each message takes one."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float | None = None

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def allow(self, now: float) -> bool:
        """Take a token if there is one at time `now` (seconds, any monotonic clock)."""
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def rate_limited(
    respond: Callable[[str | bytes], Awaitable[str | bytes | None]], rate: float, burst: float
):
    """A handler that answers each message with `respond` (if it returns something) and
    closes with 1008 when a client sends faster than `rate` messages/s beyond `burst`."""

    async def handler(websocket: ServerConnection) -> None:
        bucket = TokenBucket(rate, burst)
        async for message in websocket:
            if not bucket.allow(time.monotonic()):
                await websocket.close(1008, "rate limit exceeded")
                return
            answer = await respond(message)
            if answer is not None:
                await websocket.send(answer)

    return handler


class ConnectionCap:
    """At most `limit` connections at once: more are refused with 503 in the handshake."""

    def __init__(self, limit: int, retry_after: int = 5) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self.open = 0
        self.refused = 0

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.open < self.limit:
            return None
        self.refused += 1
        response = connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections\n")
        response.headers["Retry-After"] = str(self.retry_after)
        return response

    def wrap(self, handler: Callable[[ServerConnection], Awaitable[None]]):
        """`handler`, counted: a connection holds a place until its handler returns."""

        async def counted(websocket: ServerConnection) -> None:
            self.open += 1
            try:
                await handler(websocket)
            finally:
                self.open -= 1

        return counted
