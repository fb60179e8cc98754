"""Decoding a captured byte stream into records: HTTP heads, then WebSocket frames.

Pure logic over bytes, no I/O: the tap feeds each direction's chunks to a `DirectionDecoder`
and stores the `WireRecord`s it returns. A stream starts in HTTP mode; a request carrying
``Upgrade: websocket`` switches the client's direction to frames after its head, and a
``101 Switching Protocols`` answer switches the server's. Bytes that cannot be decoded are
still counted, as opaque records, so byte totals stay exact.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import protocol

CLIENT_TO_SERVER = "C→S"
SERVER_TO_CLIENT = "S→C"

#: How many raw bytes and payload bytes a frame record keeps (`size` and `length` stay exact);
#: an HTTP record keeps its whole head.
RAW_KEEP = 256
PAYLOAD_KEEP = 65_536
#: An HTTP head longer than this is not decoded (the stream is shown as opaque bytes).
MAX_HEAD = 65_536
#: Nor is a frame longer than this: the decoder would have to hold all of it in memory.
MAX_FRAME = 16 * 2**20


@dataclass(frozen=True)
class WireRecord:
    """One thing seen on the wire: an HTTP head, a WebSocket frame, or undecodable bytes."""

    seq: int
    """Order of arrival at the tap, from 1, across all connections."""
    conn: int
    """Which connection through the tap, from 1."""
    t: float
    """Seconds since the tap started, when the record's last byte arrived."""
    direction: str
    """`CLIENT_TO_SERVER` or `SERVER_TO_CLIENT`."""
    kind: str
    """``"http"``, ``"frame"`` or ``"bytes"``."""
    size: int
    """Bytes this record took on the wire (head and body; frame header and payload)."""
    raw: bytes = b""
    """The first bytes exactly as they crossed the wire (masked, for client frames)."""
    # HTTP heads
    start_line: str = ""
    headers: protocol.Headers | None = None
    body_length: int = 0
    # WebSocket frames
    opcode: int | None = None
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    mask_key: bytes | None = None
    length: int = 0
    """Payload length from the frame header."""
    payload: bytes = b""
    """The payload, unmasked (the first `PAYLOAD_KEEP` bytes); for HTTP, the body."""
    error: str = ""

    def numbered(self, seq: int) -> WireRecord:
        return dataclasses.replace(self, seq=seq)

    @property
    def masked(self) -> bool:
        """True for a frame sent with a masking key (every client frame, RFC 6455 §5.3)."""
        return self.mask_key is not None

    @property
    def opcode_name(self) -> str:
        if self.kind != "frame":
            return self.kind.upper()
        try:
            return protocol.Opcode(self.opcode).name
        except ValueError:
            return f"0x{self.opcode:X}"

    @property
    def text(self) -> str | None:
        """The payload decoded as UTF-8, or None if it is not valid UTF-8."""
        try:
            return self.payload.decode()
        except UnicodeDecodeError:
            return None

    @property
    def header_length(self) -> int:
        """Bytes of frame header (size minus payload); for HTTP, the head's size."""
        return self.size - (self.length if self.kind == "frame" else self.body_length)

    def preview(self, width: int = 40) -> str:
        """A one-line summary of the content, for tables."""
        if self.kind == "http":
            return self.start_line
        if self.kind == "bytes":
            return f"{self.error} ({self.payload[:16].hex(' ')})" if self.error else ""
        if self.opcode == protocol.Opcode.CLOSE:
            try:
                code, reason = protocol.parse_close(self.payload)
            except protocol.ProtocolError as exc:
                return f"invalid close payload: {exc}"
            return "no status code" if code is None else f"{code} {reason!r}"
        text = self.text
        if self.opcode in (protocol.Opcode.TEXT, protocol.Opcode.CONT) and text is not None:
            shown = repr(text if len(text) <= width else text[:width] + "…")
        else:
            shown = self.payload[:16].hex(" ") + (" …" if self.length > 16 else "")
        return shown


#: The heading of `format_row()`'s columns.
ROW_COLUMNS = (
    f"{'#':>3}  {'conn':>4}  {'time':>10}  dir  {'type':<6}  FIN  RSV  {'mask':<10}  "
    f"{'len':>6}  {'wire':>6}  payload"
)


def format_row(r: WireRecord, width: int = 40) -> str:
    """One line for a table of records, under `ROW_COLUMNS`: seq, conn, time, direction, type,
    FIN, RSV bits, mask key, payload length, bytes on the wire, a preview of `width` characters.
    Printed tables (`WireTable`) and the inspector's list both use it."""
    start = f"{r.seq:>3}  {r.conn:>4}  {r.t * 1000:>7.1f} ms  {r.direction}  {r.opcode_name:<6}"
    if r.kind != "frame":
        return f"{start}  {'':3}  {'':3}  {'':10}  {'':>6}  {r.size:>6}  {r.preview(width)}"
    rsv = f"{r.rsv1:d}{r.rsv2:d}{r.rsv3:d}"
    mask = "0x" + r.mask_key.hex() if r.mask_key else "-"
    return (
        f"{start}  {r.fin:>3d}  {rsv}  {mask:<10}  {r.length:>6}  {r.size:>6}  {r.preview(width)}"
    )


class WireTable(list[WireRecord]):
    """Records that print as a table, one line each."""

    columns = ROW_COLUMNS

    def __str__(self) -> str:
        return "\n".join([self.columns, *(format_row(r) for r in self)])

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's pretty printer
        p.text(str(self))


class Mode(enum.Enum):
    """What a direction's decoder expects next. It only moves forward: HTTP → FRAMES after an
    upgrade, and either → OPAQUE (for good) after bytes it cannot decode."""

    HTTP = "http"
    FRAMES = "frames"
    OPAQUE = "opaque"


class DirectionDecoder:
    """Turns one direction's chunks into record fields, whatever the chunking."""

    def __init__(self, direction: str) -> None:
        self.direction = direction
        self.mode = Mode.HTTP
        self._buffer = bytearray()
        self._skip_body = 0
        self._waiting: dict[str, Any] | None = None  # a head whose body is still arriving
        self._parser = protocol.FrameParser(strict=False, max_payload=MAX_FRAME)
        self._pending = bytearray()  # raw bytes fed to the frame parser, not yet attributed

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        if self.mode is Mode.FRAMES:
            return list(self._frames(data))
        if self.mode is Mode.OPAQUE:
            return [_opaque(data)]
        self._buffer += data
        return list(self._http())

    # --- HTTP ------------------------------------------------------------------------------

    def _http(self) -> Iterator[dict[str, Any]]:
        while self._buffer and self.mode is Mode.HTTP:
            if self._skip_body:
                # The body is kept in the head's record (its first PAYLOAD_KEEP bytes), which
                # is yielded once the body is complete: Socket.IO's long polling lives there.
                skipped = min(self._skip_body, len(self._buffer))
                assert self._waiting is not None
                room = max(0, PAYLOAD_KEEP - len(self._waiting["payload"]))
                self._waiting["payload"] += bytes(self._buffer[: min(skipped, room)])
                del self._buffer[:skipped]
                self._skip_body -= skipped
                if not self._skip_body:
                    yield self._body_done()
                continue
            end = protocol.find_head_end(bytes(self._buffer))
            if end is None:
                if len(self._buffer) > MAX_HEAD:
                    yield self._give_up("HTTP head too long to decode")
                return
            head = bytes(self._buffer[:end])
            del self._buffer[:end]
            try:
                fields = self._head(head)
                if self._skip_body:
                    self._waiting = fields
                else:
                    yield fields
            except protocol.HandshakeError as exc:
                self._buffer[:0] = head
                yield self._give_up(f"not HTTP: {exc}")
                return
        if self.mode is Mode.FRAMES and self._buffer:
            rest = bytes(self._buffer)
            self._buffer.clear()
            yield from self._frames(rest)

    def _head(self, head: bytes) -> dict[str, Any]:
        if self.direction == CLIENT_TO_SERVER:
            message = protocol.parse_request(head)
            start_line = f"{message.method} {message.target} {message.version}"
            upgrade = message.headers.get("Upgrade", "")
            if "websocket" in upgrade.lower():
                self.mode = Mode.FRAMES
        else:
            message = protocol.parse_response(head)
            start_line = f"{message.version} {message.status} {message.reason}"
            if message.status == 101:
                self.mode = Mode.FRAMES
        body = 0
        if self.mode is Mode.HTTP:
            try:
                body = max(0, int(message.headers.get("Content-Length", "0")))
            except ValueError:
                body = 0
            self._skip_body = body
        return {
            "kind": "http",
            "size": len(head) + body,
            "raw": head,
            "start_line": start_line,
            "headers": message.headers,
            "body_length": body,
            "payload": b"",
        }

    def _body_done(self) -> dict[str, Any]:
        fields, self._waiting = self._waiting, None
        assert fields is not None
        return fields

    def _give_up(self, error: str) -> dict[str, Any]:
        self.mode = Mode.OPAQUE
        data = bytes(self._buffer)
        self._buffer.clear()
        return _opaque(data, error)

    # --- frames ----------------------------------------------------------------------------

    def _frames(self, data: bytes) -> Iterator[dict[str, Any]]:
        self._pending += data
        try:
            frames = self._parser.feed(data)
        except protocol.ProtocolError as exc:
            self.mode = Mode.OPAQUE
            data = bytes(self._pending)
            self._pending.clear()
            yield _opaque(data, f"not a valid frame: {exc}")
            return
        for frame in frames:
            size = protocol.header_length(frame) + frame.length
            raw = bytes(self._pending[: min(size, RAW_KEEP)])
            del self._pending[:size]
            yield {
                "kind": "frame",
                "size": size,
                "raw": raw,
                "opcode": frame.opcode,
                "fin": frame.fin,
                "rsv1": frame.rsv1,
                "rsv2": frame.rsv2,
                "rsv3": frame.rsv3,
                "mask_key": frame.mask_key,
                "length": frame.length,
                "payload": frame.payload[:PAYLOAD_KEEP],
            }


def _opaque(data: bytes, error: str = "") -> dict[str, Any]:
    return {
        "kind": "bytes",
        "size": len(data),
        "raw": data[:RAW_KEEP],
        "payload": data[:PAYLOAD_KEEP],
        "length": len(data),
        "error": error,
    }
