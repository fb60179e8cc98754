"""Engine.IO 4 and Socket.IO 5 packets, as plain functions over text: no sockets, no loop.

Socket.IO is two protocols stacked on whatever transport carries them:

- **Engine.IO** (the lower one) keeps a session alive across transports. Each packet is one
  digit, its type, then its data: ``0{"sid": ...}`` opens the session, ``2``/``3`` are ping and
  pong, ``4...`` carries a message, ``5`` confirms an upgrade, ``6`` is a no-op. Over HTTP long
  polling, one body holds several packets separated by the record separator ``\\x1e``; over a
  WebSocket, one packet is one WebSocket message. Binary data travels as a binary WebSocket
  message, or base64 after a ``b`` in a polling body.
- **Socket.IO** (the upper one) rides inside Engine.IO messages: one digit for its type
  (``0`` connect, ``1`` disconnect, ``2`` event, ``3`` ack, ``4`` connect error, ``5``/``6``
  binary event/ack), then ``<n>-`` for binary attachments, then a namespace and a comma unless
  it is ``/``, then the ack id digits, then JSON: ``42["chat message","hi"]`` is Engine.IO
  message (4) + Socket.IO event (2) on namespace ``/``; ``4217["add",1,2]`` asks for ack 17,
  and ``4317[3]`` answers it.

`parse_engine()` and `parse_socket()` fail early with `PacketError`; `encode_*` are their
inverses; `explain()` says in one line what a packet does, for tables.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

#: Separates packets in one HTTP long-polling body (Engine.IO 4; version 3 used lengths).
RECORD_SEPARATOR = "\x1e"


class PacketError(ValueError):
    """Text that is not a valid Engine.IO or Socket.IO packet."""


class EngineType(IntEnum):
    """Engine.IO packet types: the first character of every packet."""

    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


class SocketType(IntEnum):
    """Socket.IO packet types: the first character of an Engine.IO message's data."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(frozen=True)
class EnginePacket:
    """One Engine.IO packet."""

    type: EngineType
    data: str | bytes = ""
    """The rest of the packet: text, or bytes for a binary message."""


@dataclass(frozen=True)
class SocketPacket:
    """One Socket.IO packet (what an Engine.IO MESSAGE carries)."""

    type: SocketType
    namespace: str = "/"
    id: int | None = None
    """The ack id: set on an event that wants an answer, and on the ack that answers it."""
    data: Any = None
    """The JSON payload: a list for events and acks (the event name first), an object or
    nothing for connect; None when the packet has none."""
    attachments: int = 0
    """Binary attachments that follow as separate messages (binary events and acks)."""


# --- Engine.IO ------------------------------------------------------------------------------


def parse_engine(packet: str | bytes) -> EnginePacket:
    """One Engine.IO packet, from a WebSocket message (bytes are a binary message)."""
    if isinstance(packet, bytes):
        return EnginePacket(EngineType.MESSAGE, packet)
    if not packet:
        raise PacketError("empty Engine.IO packet")
    if packet[0] == "b":  # binary data inside a polling body
        try:
            return EnginePacket(EngineType.MESSAGE, base64.b64decode(packet[1:], validate=True))
        except ValueError:
            raise PacketError(f"invalid base64 after 'b': {packet[:20]!r}") from None
    try:
        kind = EngineType(int(packet[0]))
    except ValueError:
        message = f"unknown Engine.IO packet type {packet[0]!r} in {packet[:20]!r}"
        raise PacketError(message) from None
    return EnginePacket(kind, packet[1:])


def parse_payload(body: str | bytes) -> list[EnginePacket]:
    """The packets of one HTTP long-polling body (Engine.IO 4: separated by ``\\x1e``)."""
    if isinstance(body, bytes):
        try:
            body = body.decode()
        except UnicodeDecodeError:
            raise PacketError("a polling body is UTF-8 text") from None
    return [parse_engine(part) for part in body.split(RECORD_SEPARATOR)]


def encode_engine(packet: EnginePacket) -> str | bytes:
    """The WebSocket message for `packet` (bytes for binary data)."""
    if isinstance(packet.data, bytes):
        return packet.data
    return f"{int(packet.type)}{packet.data}"


def encode_payload(packets: list[EnginePacket]) -> str:
    """One polling body holding `packets` (binary data as base64 after ``b``)."""
    parts = [
        "b" + base64.b64encode(p.data).decode() if isinstance(p.data, bytes) else encode_engine(p)
        for p in packets
    ]
    return RECORD_SEPARATOR.join(parts)  # type: ignore[arg-type]


# --- Socket.IO ------------------------------------------------------------------------------


def parse_socket(text: str) -> SocketPacket:
    """One Socket.IO packet from the data of an Engine.IO MESSAGE (``2["hi"]``, not ``42...``)."""
    if not text:
        raise PacketError("empty Socket.IO packet")
    try:
        kind = SocketType(int(text[0]))
    except ValueError:
        message = f"unknown Socket.IO packet type {text[0]!r} in {text[:20]!r}"
        raise PacketError(message) from None
    rest = text[1:]
    attachments = 0
    if kind in (SocketType.BINARY_EVENT, SocketType.BINARY_ACK):
        count, dash, rest = rest.partition("-")
        if not dash or not count.isdigit():
            raise PacketError(f"a binary packet starts with '<attachments>-': {text[:20]!r}")
        attachments = int(count)
    namespace = "/"
    if rest.startswith("/"):
        end = rest.find(",")
        namespace, rest = (rest, "") if end < 0 else (rest[:end], rest[end + 1 :])
    digits = len(rest) - len(rest.lstrip("0123456789"))
    ack_id = int(rest[:digits]) if digits else None
    rest = rest[digits:]
    data = None
    if rest:
        try:
            data = json.loads(rest, parse_constant=_not_json)
        except ValueError:
            raise PacketError(f"the data of a Socket.IO packet is JSON: {rest[:30]!r}") from None
    if kind in (SocketType.EVENT, SocketType.BINARY_EVENT) and not (
        isinstance(data, list) and data and isinstance(data[0], str)
    ):
        raise PacketError(f'an event\'s data is ["name", ...args]: {text[:30]!r}')
    if kind in (SocketType.ACK, SocketType.BINARY_ACK) and (
        ack_id is None or not isinstance(data, list)
    ):
        raise PacketError(f"an ack carries an id and a list of values: {text[:30]!r}")
    return SocketPacket(kind, namespace, ack_id, data, attachments)


def _not_json(name: str) -> Any:
    # Python's json reads NaN and Infinity, which are not JSON (RFC 8259) and not equal to
    # themselves: refuse them like any other invalid data.
    raise ValueError(f"{name} is not JSON")


def encode_socket(packet: SocketPacket) -> str:
    """The text of `packet`, to be sent as an Engine.IO MESSAGE (prefix ``4``)."""
    text = str(int(packet.type))
    if packet.type in (SocketType.BINARY_EVENT, SocketType.BINARY_ACK):
        text += f"{packet.attachments}-"
    if packet.namespace != "/":
        text += packet.namespace + ","
    if packet.id is not None:
        text += str(packet.id)
    if packet.data is not None:
        text += json.dumps(packet.data, separators=(",", ":"))
    return text


# --- what a packet does ---------------------------------------------------------------------


def explain(packet: EnginePacket) -> str:
    """One line saying what `packet` does, Socket.IO meaning included when it carries one."""
    if packet.type is EngineType.MESSAGE and isinstance(packet.data, bytes):
        return f"binary data ({len(packet.data)} B), an attachment of the event before"
    text = packet.data
    assert isinstance(text, str)
    match packet.type:
        case EngineType.OPEN:
            return _explain_open(text)
        case EngineType.CLOSE:
            return "Engine.IO close: the session ends"
        case EngineType.PING:
            if text == "probe":
                return "probe: does the new WebSocket carry packets? (upgrade step 1)"
            return "ping from the server: answer 3 within pingTimeout, or be dropped"
        case EngineType.PONG:
            if text == "probe":
                return "probe answered: the WebSocket works (upgrade step 2)"
            return "pong: the client is alive"
        case EngineType.UPGRADE:
            return "upgrade done: this WebSocket carries the session now (upgrade step 3)"
        case EngineType.NOOP:
            return "no-op: releases a waiting long poll during the upgrade"
    try:
        inner = parse_socket(text)
    except PacketError as exc:
        return f"message, not Socket.IO: {exc}"
    return _explain_socket(inner)


def _explain_open(text: str) -> str:
    try:
        settings = json.loads(text)
        ping, timeout = settings["pingInterval"], settings["pingTimeout"]
        upgrades = settings.get("upgrades", [])
    except (ValueError, KeyError, TypeError):
        return "open (with settings that do not parse)"
    can = f"may upgrade to {', '.join(upgrades)}" if upgrades else "no upgrade offered"
    return f"open: session id, ping every {ping} ms, dead after {timeout} ms more; {can}"


def _explain_socket(p: SocketPacket) -> str:
    where = "" if p.namespace == "/" else f" on {p.namespace}"
    asks = "" if p.id is None else f", wants ack {p.id}"
    match p.type:
        case SocketType.CONNECT:
            if isinstance(p.data, dict) and "sid" in p.data:
                return f"connected to namespace {p.namespace} (the server's answer)"
            return f"connect to namespace {p.namespace}" + (" with auth" if p.data else "")
        case SocketType.DISCONNECT:
            return f"leave namespace {p.namespace}"
        case SocketType.EVENT:
            return f"event {p.data[0]!r}{where} with {len(p.data) - 1} argument(s){asks}"
        case SocketType.ACK:
            return f"ack {p.id}{where}: the answer to event {p.id}"
        case SocketType.CONNECT_ERROR:
            return f"connection to {p.namespace} refused: {p.data}"
        case SocketType.BINARY_EVENT:
            return f"event {p.data[0]!r}{where} with {p.attachments} binary attachment(s){asks}"
        case SocketType.BINARY_ACK:
            return f"ack {p.id}{where} with {p.attachments} binary attachment(s)"
    raise AssertionError(p.type)  # pragma: no cover - every type is matched above
