"""What a tap recorded, read as Socket.IO: one row per packet, with what the packet does.

A `wslab.tap` in front of a Socket.IO server records HTTP requests and responses (with their
bodies) and WebSocket frames. `wire()` reads them the way Engine.IO uses them: a polling
request's body and a polling response's body each hold packets separated by ``\\x1e``; a
WebSocket message holds one packet. Each packet becomes a `PacketRow` whose `meaning` comes
from `packets.explain()`. Pure logic over the records: no sockets here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .. import protocol
from .._wire import CLIENT_TO_SERVER, SERVER_TO_CLIENT, WireRecord
from . import packets

#: The longest packet text a row shows (the rest becomes "…").
WIDTH = 36


@dataclass(frozen=True)
class PacketRow:
    """One packet (or one HTTP step) of a Socket.IO conversation."""

    seq: int
    """The tap record it came from (several packets can share one HTTP body)."""
    conn: int
    direction: str
    transport: str
    """``"polling"`` (HTTP), ``"websocket"``, or ``"http"`` for requests that are neither."""
    packet: str
    """The packet's text as sent (``42["hi"]``), or the HTTP step (``GET open``)."""
    meaning: str
    size: int
    """Bytes on the wire: the frame for a WebSocket packet, the packet's text for polling."""


class PacketTable(list[PacketRow]):
    """Rows that print as a table, one line each (in the order the tap saw them)."""

    def client(self) -> PacketTable:
        """Only what the client sent: its own order, whatever the server did meanwhile."""
        return PacketTable(r for r in self if r.direction == CLIENT_TO_SERVER)

    def server(self) -> PacketTable:
        """Only what the server sent."""
        return PacketTable(r for r in self if r.direction == SERVER_TO_CLIENT)

    def __str__(self) -> str:
        head = f"{'conn':>4}  dir  {'transport':<9}  {'packet':<{WIDTH}}  meaning"
        return "\n".join([head, *map(self._row, self)])

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's pretty printer
        p.text(str(self))

    @staticmethod
    def _row(r: PacketRow) -> str:
        shown = r.packet if len(r.packet) <= WIDTH else r.packet[: WIDTH - 1] + "…"
        return f"{r.conn:>4}  {r.direction}  {r.transport:<9}  {shown:<{WIDTH}}  {r.meaning}"


def wire(records: Iterable[WireRecord]) -> PacketTable:
    """Socket.IO rows for `records` (e.g. ``tap.frames()``), oldest first."""
    return PacketTable(row for record in records for row in _rows(record))


def _rows(r: WireRecord) -> Iterator[PacketRow]:
    def row(transport: str, packet: str, meaning: str, size: int) -> PacketRow:
        return PacketRow(r.seq, r.conn, r.direction, transport, packet, meaning, size)

    if r.kind == "http":
        yield from _http_rows(r, row)
    elif r.kind == "frame":
        yield _frame_row(r, row)
    else:
        yield row("?", r.payload[:16].hex(" "), r.error or "bytes the tap could not decode", r.size)


def _http_rows(r: WireRecord, row) -> Iterator[PacketRow]:
    assert r.headers is not None
    body = r.payload
    if r.start_line.startswith("HTTP/"):  # a response
        status = r.start_line.split(" ", 2)[1]
        if status == "101":
            yield row("websocket", "HTTP 101", "Switching Protocols: the WebSocket is open", r.size)
        elif status != "200":
            yield row("http", r.start_line[9:], f"refused: {body.decode(errors='replace')}", r.size)
        elif body.lower() == b"ok":
            yield row("polling", "200 OK", "the server took the POSTed packets", r.size)
        else:
            yield from _body_rows(body, r, row)
        return
    method, target = r.start_line.split(" ")[:2]
    parts = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if "EIO" not in query:
        yield row("http", f"{method} {parts.path}", "plain HTTP, not Engine.IO", r.size)
        return
    sid = query.get("sid")
    if "websocket" in r.headers.get("Upgrade", "").lower():
        step = f"WebSocket handshake, sid={sid}" if sid else "WebSocket handshake"
        why = "upgrade: the same session moves here" if sid else "a session over WebSocket only"
        yield row("websocket", step, why, r.size)
    elif method == "GET" and sid is None:
        yield row("polling", "GET (no sid)", "open a session over HTTP long polling", r.size)
    elif method == "GET":
        yield row("polling", f"GET sid={sid}", "long poll: wait for the server's packets", r.size)
    else:
        yield from _body_rows(body, r, row)


def _body_rows(body: bytes, r: WireRecord, row) -> Iterator[PacketRow]:
    try:
        found = packets.parse_payload(body)
    except packets.PacketError as exc:
        yield row("polling", body[:WIDTH].decode(errors="replace"), f"not Engine.IO: {exc}", r.size)
        return
    for packet in found:
        text = packets.encode_payload([packet])
        yield row("polling", text, packets.explain(packet), len(text.encode()))


def _frame_row(r: WireRecord, row) -> PacketRow:
    match r.opcode:
        case protocol.Opcode.TEXT if r.text is not None:
            try:
                packet = packets.parse_engine(r.text)
            except packets.PacketError as exc:
                return row("websocket", r.text, f"not Engine.IO: {exc}", r.size)
            return row("websocket", r.text, packets.explain(packet), r.size)
        case protocol.Opcode.BINARY:
            meaning = packets.explain(packets.parse_engine(r.payload))
            return row("websocket", r.preview(), meaning, r.size)
        case protocol.Opcode.CLOSE:
            return row("websocket", f"Close {r.preview()}", "WebSocket closing handshake", r.size)
        case protocol.Opcode.PING | protocol.Opcode.PONG:
            name = r.opcode_name.capitalize()
            return row("websocket", name, "WebSocket's own keepalive, below Engine.IO", r.size)
    return row("websocket", r.preview(), f"a {r.opcode_name} frame", r.size)
