"""Channel clients that reconnect by themselves and resume where they left off.

`ChannelClient` is the asyncio client (tests and benchmarks run hundreds on one loop); it keeps,
for each channel, the id of the last event it got. When its connection ends without being asked
to (its node died), it connects again to the same URL, the load balancer's, which sends it to
a node that is alive, and subscribes again with ``since`` = that id: the broker's stream gives
it exactly the events it missed, the node's cursor drops any it already had.

`clients()` runs a group of them on a loop thread of the kernel, with a blocking API for cells.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from .._loop import BackgroundLoop
from .._registry import registry

__all__ = ["ChannelClient", "Clients", "clients"]

#: Seconds to wait before connecting again, doubled after each failure up to `MAX_BACKOFF`.
BACKOFF = 0.02
MAX_BACKOFF = 0.5
TIMEOUT = 10.0

Authorizer = Callable[[str, str, dict | None], dict[str, str]]


class ChannelClient:
    """One client; `run()` connects and keeps it connected until `close()`."""

    def __init__(
        self, url: str, authorize: Authorizer | None = None, user: dict | None = None
    ) -> None:
        self.url = url
        self.authorize = authorize
        """The app backend's signer: ``authorize(socket_id, channel, user) -> {"auth": ...}``."""
        self.user = user
        self.socket_id: str | None = None
        self.connections = 0
        """How many times it connected (more than 1: it came back after losing a node)."""
        self.events: list[dict[str, Any]] = []
        """Every event received (messages with an ``id``), in order."""
        self.messages: list[dict[str, Any]] = []
        """Everything else the server sent (connected, subscribed, errors, members)."""
        self.channels: dict[str, str | None] = {}
        """Channels to be subscribed to, with the id of the last event received in each."""
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._changed = asyncio.Condition()
        self._closing = False

    # --- public API ------------------------------------------------------------------------

    async def run(self) -> None:
        delay = BACKOFF
        while not self._closing:
            try:
                async with websockets.connect(
                    self.url, proxy=None, compression=None, open_timeout=TIMEOUT
                ) as ws:
                    self._ws = ws
                    delay = BACKOFF
                    await self._session(ws)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                pass
            finally:
                self._ws = None
                self._connected.clear()
            if not self._closing:
                await asyncio.sleep(delay)  # backing off, not waiting for anything
                delay = min(delay * 2, MAX_BACKOFF)

    async def wait_connected(self, timeout: float = TIMEOUT) -> None:
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def subscribe(
        self, channel: str, since: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Subscribe and return the server's answer (``subscribed``, or an ``error``).

        Extra `fields` (``auth=...``) are sent as they are instead of asking `authorize`.
        """
        await self.wait_connected()
        self.channels[channel] = since
        count = len(self.messages)
        await self._send_subscribe(channel, fields or None)
        reply = await self.wait_for(
            lambda: _answer(self.messages[count:], channel), description=f"an answer on {channel}"
        )
        if reply["event"] == "error":
            self.channels.pop(channel, None)
        return reply

    async def send(self, message: dict[str, Any]) -> None:
        await self.wait_connected()
        assert self._ws is not None
        await self._ws.send(json.dumps(message))

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = TIMEOUT,
        description: str = "a condition",
    ) -> Any:
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    return await self._changed.wait_for(predicate)
            except TimeoutError:
                raise TimeoutError(f"no {description} within {timeout} s") from None

    def received(self, channel: str) -> list[Any]:
        """The data of the events received on `channel`, in order."""
        return [e["data"] for e in self.events if e["channel"] == channel]

    async def drop(self) -> None:
        """Cut this connection without a closing handshake (as a dying node would)."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()

    # --- internals -------------------------------------------------------------------------

    async def _session(self, ws: ClientConnection) -> None:
        async for text in ws:
            message = json.loads(text)
            if message.get("event") == "connected":
                self.socket_id = message["socket_id"]
                self.connections += 1
                for channel in list(self.channels):  # after a reconnection: resume
                    await self._send_subscribe(channel, None)
                self._connected.set()
            if (
                message.get("event") == "subscribed"
                and self.channels.get(message["channel"]) is None
            ):
                # Nothing received yet: resume after the channel's position then ("0-0": from
                # the start of an empty stream), so that not even the first event is missed.
                self.channels[message["channel"]] = message["position"] or "0-0"
            if "id" in message:
                self.events.append(message)
                self.channels[message["channel"]] = message["id"]
            else:
                self.messages.append(message)
            async with self._changed:
                self._changed.notify_all()

    async def _send_subscribe(self, channel: str, fields: dict | None) -> None:
        assert self._ws is not None and self.socket_id is not None
        if fields is None and self.authorize is not None:
            fields = self.authorize(self.socket_id, channel, self.user)
        request = {"event": "subscribe", "channel": channel, **(fields or {})}
        if self.channels.get(channel) is not None:
            request["since"] = self.channels[channel]
        await self._ws.send(json.dumps(request))


def _answer(messages: list[dict[str, Any]], channel: str) -> dict[str, Any] | None:
    for message in messages:
        if message.get("channel") == channel and message["event"] in ("subscribed", "error"):
            return message
    return None


#: The kind of registry key a group of channel clients is held under.
CLIENTS = "channel clients"


class Clients(Sequence[ChannelClient]):
    """A group of `ChannelClient`s on a loop thread, with blocking methods for cells."""

    def __init__(
        self, url: str, count: int, authorize: Authorizer | None, users: list[dict | None]
    ) -> None:
        self._loop = BackgroundLoop("channel-clients")
        self._clients = [ChannelClient(url, authorize, users[i]) for i in range(count)]
        self._tasks = [self._call_soon(c.run) for c in self._clients]
        # Held until closed, so that stop_all() closes the group (users before services).
        registry.hold((CLIENTS, id(self)), self, self.close)
        self._run(_gather(*(c.wait_connected() for c in self._clients)))

    def __getitem__(self, index: Any) -> Any:
        return self._clients[index]

    def __len__(self) -> int:
        return len(self._clients)

    def subscribe(
        self, channel: str, which: Sequence[int] | None = None, **fields: Any
    ) -> list[dict[str, Any]]:
        """Subscribe clients (all, or those at `which`) to `channel`; their answers."""
        chosen = [self._clients[i] for i in (range(len(self)) if which is None else which)]
        return self._run(_gather(*(c.subscribe(channel, **fields) for c in chosen)))

    def send(self, index: int, message: dict[str, Any]) -> None:
        self._run(self._clients[index].send(message))

    def wait_events(
        self, channel: str, count: int, which: Sequence[int] | None = None, timeout: float = TIMEOUT
    ) -> None:
        """Wait until every client subscribed to `channel` (of those at `which`) has `count`
        events from it."""
        chosen = self._clients if which is None else [self._clients[i] for i in which]
        waiting = [c for c in chosen if channel in c.channels]
        self._run(
            _gather(
                *(
                    c.wait_for(
                        lambda c=c: len(c.received(channel)) >= count,
                        timeout,
                        f"{count} events on {channel}",
                    )
                    for c in waiting
                )
            ),
            timeout + 1,
        )

    def wait_messages(
        self, index: int, predicate: Callable[[dict], bool], timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """Wait for a message (not an event) to client `index` that satisfies `predicate`."""
        client = self._clients[index]
        return self._run(
            client.wait_for(
                lambda: next((m for m in client.messages if predicate(m)), None),
                timeout,
                "such message",
            ),
            timeout + 1,
        )

    def wait_connections(self, count: int, timeout: float = TIMEOUT) -> None:
        """Wait until every client has connected `count` times (came back after a loss)."""
        self._run(
            _gather(
                *(
                    c.wait_for(
                        lambda c=c: c.connections >= count and c._connected.is_set(),
                        timeout,
                        f"connection number {count}",
                    )
                    for c in self._clients
                )
            ),
            timeout + 1,
        )

    def nodes(self) -> list[str]:
        """The node each client is connected to now (the prefix of its socket id)."""
        return [c.socket_id.split(".")[0] if c.socket_id else "-" for c in self._clients]

    def disconnect(self, index: int) -> None:
        """Close client `index` for good (it will not reconnect)."""
        self._run(self._clients[index].close())

    def close(self) -> None:
        registry.release((CLIENTS, id(self)), self)
        with contextlib.suppress(Exception):
            self._run(_gather(*(c.close() for c in self._clients)), 5)
        self._loop.stop()

    def _call_soon(self, function: Callable) -> Any:
        return asyncio.run_coroutine_threadsafe(function(), self._loop.loop)

    def _run(self, coro: Any, timeout: float = TIMEOUT + 1) -> Any:
        return self._loop.run(coro, timeout)


async def _gather(*coros: Any) -> list[Any]:
    return await asyncio.gather(*coros)


def clients(
    url: str,
    count: int = 1,
    authorize: Authorizer | None = None,
    users: list[dict | None] | None = None,
) -> Clients:
    """Connect `count` clients to `url` (a node or the load balancer) and return them once
    each has its socket id. `authorize` is the app backend's signer (`Backend.authorize`);
    `users[i]` is client i's presence user (``{"user_id": ..., "user_info": ...}``)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    users = list(users) if users is not None else [None] * count
    if len(users) != count:
        raise ValueError(f"{count} clients need {count} users, got {len(users)}")
    return Clients(url, count, authorize, users)
