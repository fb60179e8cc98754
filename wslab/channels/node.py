"""A channel node: one server process of the cluster, glue between sockets and the broker.

`protocol` parses what clients send, `state.ChannelState` decides, `broker.Broker` (Redis) or
`memory.MemoryBroker` (no cluster) carries events between nodes, and this module only moves
messages between them, in three numbered steps per client message: 1. parse, 2. let the state
decide, 3. deliver its messages and carry out its actions with the broker.

One task relays what the broker hears to local members. Deliveries use websockets'
`broadcast()`, which never waits for a slow client (see `wslab.chat.server` for why).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast

from ..server import Server
from . import protocol
from .auth import App
from .broker import HISTORY, Broker
from .memory import MemoryBroker
from .state import Action, ChannelState, Delivery, Fetch, Leave, Publish

__all__ = ["ChannelNode", "channel_node"]


class ChannelNode(Server):
    """A channel server in a thread (in the kernel, or in a child process of a cluster)."""

    kind = "channel node"

    def __init__(
        self,
        name: str,
        node: str,
        broker_url: str | None,
        app: App,
        history: int,
        options: dict[str, Any],
    ) -> None:
        super().__init__(self._client, name, options)
        self.node = node
        self.broker_url = broker_url
        self.state = ChannelState(app, node)
        self.relayed = 0
        """Events and notices heard from the broker."""
        self._history = history
        self._broker: Broker | MemoryBroker | None = None
        self._relay_task: asyncio.Task | None = None

    async def _start(self) -> tuple[str, int]:
        if self.broker_url is None:
            self._broker = MemoryBroker(self._history)
        else:
            self._broker = Broker(self.broker_url, self._history, f"node-{self.node}")
        # Listening is confirmed before the first client can subscribe: nothing published
        # after a subscription's history was read can slip past the node.
        feed = await self._broker.listen()
        self._relay_task = asyncio.create_task(self._broker.relay(feed, self._from_broker))
        return await super()._start()

    async def _stop(self) -> None:
        await super()._stop()
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(BaseException):
                await self._relay_task
        if self._broker is not None:
            await self._broker.close()

    # --- per client ------------------------------------------------------------------------

    async def _client(self, websocket: ServerConnection) -> None:
        self._deliver(self.state.connect(websocket).deliveries)
        try:
            async for data in websocket:
                try:  # 1. parse
                    message: Any = protocol.parse(data)
                except protocol.ChannelError as refused:
                    message = refused
                outcome = self.state.receive(websocket, message)  # 2. decide
                self._deliver(outcome.deliveries)  # 3. deliver and act
                await self._act(outcome.actions)
        finally:
            await self._act(self.state.disconnect(websocket).actions)

    async def _act(self, actions: list[Action]) -> None:
        assert self._broker is not None
        for action in actions:
            if isinstance(action, Publish):
                await self._broker.publish(action.channel, action.name, action.data, action.exclude)
            elif isinstance(action, Leave):
                await self._broker.leave(action.channel, action.socket_id, action.user_id)
            elif isinstance(action, Fetch):
                members = None
                if action.member is not None:
                    members = await self._broker.join(
                        action.channel, action.socket_id, action.member
                    )
                history, position = await self._broker.since(action.channel, action.since)
                self._deliver(
                    self.state.subscribed(action.client, action.channel, history, position, members)
                )

    def _from_broker(self, envelope: dict[str, Any]) -> None:
        self.relayed += 1
        self._deliver(self.state.from_broker(envelope))

    def _deliver(self, deliveries: list[Delivery]) -> None:
        for recipients, message in deliveries:
            broadcast(recipients, protocol.encode(message))


def channel_node(
    name: str = "channels",
    *,
    node: str = "1",
    broker: str | None = None,
    app_key: str = App.key,
    app_secret: str = App.secret,
    history: int = HISTORY,
    port: int = 0,
) -> ChannelNode:
    """Start (or restart) one channel node at ``.url``.

    `broker`: a Redis URL shared with other nodes, or None for a node alone (an in-process
    broker: its own members only). `node` prefixes its socket ids. `history`: events kept per
    channel for clients that come back. `port` 0 lets the OS pick (a cluster passes the port a
    restarted node had, so that the load balancer finds it again).
    """
    app = App(key=app_key, secret=app_secret)
    return ChannelNode(name, node, broker, app, history, {"port": port}).start()
