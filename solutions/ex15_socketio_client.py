"""Exercise 15 · Speak Socket.IO over a plain WebSocket (lesson 10)

A Socket.IO client library hides two protocols. Write the part of one that a chat needs, with
nothing but a websockets connection and `json`: the connection the tests hand you is already
open to ``ws://127.0.0.1:PORT/socket.io/?EIO=4&transport=websocket`` of a real python-socketio
server, and every WebSocket message on it is one Engine.IO packet (text).

Engine.IO packets: one digit, then data. ``0{...}`` open (JSON settings: ``sid``,
``pingInterval``, ``pingTimeout`` in ms), ``1`` close, ``2`` ping, ``3`` pong, ``4...`` a
message, ``6`` no-op. Socket.IO packets travel inside messages: one digit (``0`` connect,
``1`` disconnect, ``2`` event, ``3`` ack, ``4`` connect error), then the namespace and a comma
unless it is ``/``, then the ack id's digits if there is one, then JSON. For example
``40/chat,`` connects to ``/chat``; ``42/chat,7["add",1,2]`` is event ``add`` with arguments
1 and 2 on ``/chat``, asking for ack 7; ``43/chat,7[3]`` is that ack, carrying ``[3]``.

1. `open_session(websocket)`: the server speaks first: read its open packet and return the
   settings (a dict). Anything else first: raise `ValueError`.
2. `next_packet(websocket)`: the next Socket.IO packet, as ``(type, namespace, ack_id, data)``
   (ack_id None when absent, data None when there is no JSON). On the way, answer every ping
   ``2`` with a pong ``3`` at once (a server drops a client that stays silent for longer than
   pingTimeout after a ping) and skip no-ops. When the session ends (a ``1`` packet, or the
   WebSocket closes), raise `SessionClosed`.
3. `connect(websocket, namespace)`: join a namespace; return the ``sid`` the server's
   ``0`` packet for that namespace carries. A ``4`` (connect error) for it: raise
   `ConnectionRefusedError` with the server's message.
4. `call(websocket, namespace, event, args, ack_id)`: emit `event` with the list `args`,
   asking for ack `ack_id`, and return the data (a list) of the ack **with that id** on that
   namespace. Other packets that arrive meanwhile are dropped.
5. `next_event(websocket, namespace)`: the next event on `namespace`, as ``(name, args)``.
   A ``1`` (disconnect) packet for that namespace means the server put you out: raise
   `SessionClosed`.

`parse()` and `prefix()` are the two helpers the others share: write them first (their
tests are the other functions' tests).

The tests run a python-socketio server with namespaces ``/`` and ``/chat`` (and ``/private``,
which refuses everyone), one that pings every 50 ms and drops a silent client within 0.3 s, and
one whose ``bye`` event closes the session. They check what you return and what the server saw.

Hints:

- ``await websocket.recv()`` returns a str for a text message; ``websocket.send(str)`` sends one.
  ``websockets.exceptions.ConnectionClosed`` comes out of both when the connection is gone.
- ``json.dumps(value, separators=(",", ":"))`` writes compact JSON, as Socket.IO does.
- Parse a Socket.IO packet left to right: type digit; if the next character is ``/``, the
  namespace runs to the first comma; then digits (the id); the rest is JSON, if anything.

Check your work: ``python -m wslab grade --exercise ex15`` or, in lesson 10,
``wslab.check("ex15")``.
"""

import json
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR = range(5)


class SessionClosed(ConnectionError):
    """The Engine.IO session is over: the server closed it, or the connection is gone."""


async def open_session(websocket: ClientConnection) -> dict:
    ### BEGIN SOLUTION
    packet = await websocket.recv()
    if not isinstance(packet, str) or not packet.startswith("0"):
        raise ValueError(f"expected the Engine.IO open packet, got {packet!r}")
    return json.loads(packet[1:])
    ### END SOLUTION


def parse(text: str) -> tuple[int, str, int | None, Any]:
    """A Socket.IO packet's parts: ``2/chat,7["add",1]`` -> (2, "/chat", 7, ["add", 1])."""
    ### BEGIN SOLUTION
    kind, rest = int(text[0]), text[1:]
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    digits = len(rest) - len(rest.lstrip("0123456789"))
    ack_id = int(rest[:digits]) if digits else None
    rest = rest[digits:]
    return kind, namespace, ack_id, json.loads(rest) if rest else None
    ### END SOLUTION


def prefix(kind: int, namespace: str, ack_id: int | None = None) -> str:
    """What starts an Engine.IO message carrying a Socket.IO packet: ``42/chat,7``."""
    ### BEGIN SOLUTION
    where = "" if namespace == "/" else namespace + ","
    return f"4{kind}{where}{'' if ack_id is None else ack_id}"
    ### END SOLUTION


async def next_packet(websocket: ClientConnection) -> tuple[int, str, int | None, Any]:
    ### BEGIN SOLUTION
    while True:
        try:
            packet = await websocket.recv()
        except ConnectionClosed as exc:
            raise SessionClosed(f"the connection closed: {exc}") from exc
        if packet == "2":
            await websocket.send("3")
        elif packet.startswith("1"):
            raise SessionClosed("the server closed the Engine.IO session")
        elif packet.startswith("4"):
            return parse(packet[1:])
    ### END SOLUTION


async def connect(websocket: ClientConnection, namespace: str = "/") -> str:
    ### BEGIN SOLUTION
    await websocket.send(prefix(CONNECT, namespace))
    while True:
        kind, where, _, data = await next_packet(websocket)
        if where != namespace:
            continue
        if kind == CONNECT:
            return data["sid"]
        if kind == CONNECT_ERROR:
            raise ConnectionRefusedError(f"{namespace}: {data}")
    ### END SOLUTION


async def call(
    websocket: ClientConnection, namespace: str, event: str, args: list, ack_id: int
) -> list:
    ### BEGIN SOLUTION
    data = json.dumps([event, *args], separators=(",", ":"))
    await websocket.send(prefix(EVENT, namespace, ack_id) + data)
    while True:
        kind, where, got_id, data = await next_packet(websocket)
        if (kind, where, got_id) == (ACK, namespace, ack_id):
            return data
    ### END SOLUTION


async def next_event(websocket: ClientConnection, namespace: str = "/") -> tuple[str, list]:
    ### BEGIN SOLUTION
    while True:
        kind, where, _, data = await next_packet(websocket)
        if where != namespace:
            continue
        if kind == EVENT:
            return data[0], data[1:]
        if kind == DISCONNECT:
            raise SessionClosed(f"the server disconnected {namespace}")
    ### END SOLUTION
