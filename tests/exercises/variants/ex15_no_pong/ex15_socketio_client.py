"""WRONG on purpose (ignores pings: never sends a pong); the tests must fail it."""

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
            continue  # BUG: the ping is never answered
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
