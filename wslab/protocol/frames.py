"""WebSocket frames: the unit everything travels in after the handshake (RFC 6455 §5).

Every frame starts with a 2-byte header (§5.2)::

     0                   1
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
    +-+-+-+-+-------+-+-------------+
    |F|R|R|R| opcode|M| Payload len |  then 0, 2 or 8 bytes of extended length,
    |I|S|S|S|  (4)  |A|     (7)     |  then a 4-byte masking key if M is set,
    |N|V|V|V|       |S|             |  then the payload.
    | |1|2|3|       |K|             |
    +-+-+-+-+-------+-+-------------+

:func:`encode_frame` turns a :class:`Frame` into those bytes and :class:`FrameParser` turns
bytes, arriving in any chunks at all, back into frames.
"""

from __future__ import annotations

import enum
import os
import struct
from dataclasses import dataclass
from typing import NamedTuple

from .closing import encode_close, parse_close
from .errors import ProtocolError


class Opcode(enum.IntEnum):
    """What a frame carries (§5.2). 3-7 and 11-15 are reserved for future use."""

    CONT = 0x0  # the next fragment of a message (§5.4)
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        """Control frames (opcode with the high bit set) manage the connection (§5.5)."""
        return self >= 0x8


_OPCODES = frozenset(Opcode)  # the defined opcodes; every other 4-bit value is reserved


@dataclass(frozen=True)
class Frame:
    """One frame, with its payload always stored *unmasked*.

    ``mask_key`` records how the frame was (or will be) masked on the wire: clients must
    mask every frame, servers must not (§5.1). ``opcode`` is a plain int only for the
    reserved opcodes a lenient parser lets through.
    """

    opcode: Opcode | int
    payload: bytes
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    mask_key: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.opcode <= 15:
            raise ValueError(f"opcode must fit in 4 bits, not {self.opcode}")
        if self.opcode in _OPCODES:
            object.__setattr__(self, "opcode", Opcode(self.opcode))
        if self.mask_key is not None and len(self.mask_key) != 4:
            raise ValueError(f"mask_key must be 4 bytes, not {len(self.mask_key)}")
        if not isinstance(self.payload, bytes):  # accept bytearray / memoryview too
            object.__setattr__(self, "payload", bytes(self.payload))

    @property
    def masked(self) -> bool:
        """Whether the frame is masked on the wire."""
        return self.mask_key is not None

    @property
    def length(self) -> int:
        """Payload length in bytes."""
        return len(self.payload)

    @property
    def is_control(self) -> bool:
        """Whether this is a control frame (Close, Ping, Pong or a reserved 11-15)."""
        return self.opcode >= 0x8

    def __str__(self) -> str:
        name = self.opcode.name if isinstance(self.opcode, Opcode) else f"OPCODE_{self.opcode}"
        parts = [name, f"fin={int(self.fin)}", f"len={self.length}"]
        parts += [f"rsv{i}" for i, bit in enumerate((self.rsv1, self.rsv2, self.rsv3), 1) if bit]
        if self.masked:
            parts.append("masked")
        return " ".join(parts + [_preview(self)])


def _preview(frame: Frame, limit: int = 40) -> str:
    """A short, human-readable view of a payload, for ``Frame.__str__``."""
    if frame.opcode == Opcode.CLOSE:
        try:
            code, reason = parse_close(frame.payload)
            return "(no code)" if code is None else f"{int(code)} {reason!r}"
        except ProtocolError:
            pass
    elif frame.opcode in (Opcode.TEXT, Opcode.PING, Opcode.PONG):
        text = frame.payload[:limit].decode("utf-8", errors="replace")
        return repr(text) + ("…" if frame.length > limit else "")
    data = frame.payload[: limit // 2]
    return data.hex(" ") + ("…" if frame.length > len(data) else "")


def apply_mask(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` repeated (§5.3); applying it twice undoes it.

    Masking is not encryption: the key travels in clear right before the payload. It exists
    so a malicious page cannot choose the bytes a confused proxy sees (§10.3).
    """
    if len(key) != 4:
        raise ValueError(f"mask key must be 4 bytes, not {len(key)}")
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    # One big-integer XOR instead of a Python loop per byte: ~100x faster on 64 KiB.
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


class FieldSpan(NamedTuple):
    """One field of a frame on the wire: its name and its first and last bit (both included),
    bits numbered from 0, the most significant bit of the frame's first byte (§5.2's drawing)."""

    name: str
    first_bit: int
    last_bit: int

    @property
    def first_byte(self) -> int:
        return self.first_bit // 8

    @property
    def stop_byte(self) -> int:
        """One past the last byte the field touches."""
        return self.last_bit // 8 + 1


#: The fields of a frame, in wire order (the names `header_fields()` gives).
FIELD_NAMES = (
    "FIN",
    "RSV1",
    "RSV2",
    "RSV3",
    "opcode",
    "MASK",
    "payload len",
    "extended length",
    "masking key",
    "payload",
)


def header_layout(data: bytes) -> tuple[int, bool, int | None]:
    """Read the frame header at the start of `data` without checking anything (§5.2).

    Returns the bytes of extended length (0, 2 or 8), the MASK bit, and the payload length,
    None when `data` stops inside the extended length. ValueError under 2 bytes.
    """
    if len(data) < 2:
        raise ValueError(f"a frame starts with a 2-byte header; got {len(data)} byte(s)")
    masked = bool(data[1] & 0x80)
    length: int | None = data[1] & 0x7F
    extended = {126: 2, 127: 8}.get(length, 0)  # 126 → 16-bit length, 127 → 64-bit
    if extended:
        field = data[2 : 2 + extended]
        length = int.from_bytes(field, "big") if len(field) == extended else None
    return extended, masked, length


def header_fields(data: bytes) -> list[FieldSpan]:
    """The fields of the frame at the start of `data`, with their bit spans, in wire order.

    The one place that knows the layout of §5.2: the inspector and the bit plots draw from it.
    Spans are what the header announces (the payload's may run past the end of `data`, for
    the first bytes of a long frame); when `data` stops inside the extended length, the
    payload's span runs to the end of `data`. An empty payload has no span.
    """
    extended, masked, length = header_layout(data)
    spans = [
        FieldSpan("FIN", 0, 0),
        FieldSpan("RSV1", 1, 1),
        FieldSpan("RSV2", 2, 2),
        FieldSpan("RSV3", 3, 3),
        FieldSpan("opcode", 4, 7),
        FieldSpan("MASK", 8, 8),
        FieldSpan("payload len", 9, 15),
    ]
    bit = 16
    if extended:
        spans.append(FieldSpan("extended length", bit, bit + 8 * extended - 1))
        bit += 8 * extended
    if masked:
        spans.append(FieldSpan("masking key", bit, bit + 31))
        bit += 32
    if length is None:  # the extended length is cut off: the payload runs to the end of data
        length = len(data)
    if length:
        spans.append(FieldSpan("payload", bit, bit + 8 * length - 1))
    return spans


def header_length(frame: Frame) -> int:
    """Return the size of the frame's header on the wire: 2, +2 or +8 for length, +4 for key."""
    extended = 0 if frame.length <= 125 else 2 if frame.length <= 0xFFFF else 8
    return 2 + extended + (4 if frame.masked else 0)


def encode_frame(frame: Frame) -> bytes:
    """Serialize ``frame`` (§5.2), using the shortest length encoding, as the RFC requires.

    Raises ProtocolError for a fragmented or over-125-byte control frame (§5.5). Reserved
    opcodes and RSV bits are encoded as given, so a lesson can build a bad frame on purpose.
    """
    if frame.is_control and not frame.fin:
        raise ProtocolError(f"control frame {frame.opcode!s} must not be fragmented (§5.5)")
    if frame.is_control and frame.length > 125:
        raise ProtocolError(f"control frame payload is {frame.length} bytes; the limit is 125")
    byte1 = frame.fin << 7 | frame.rsv1 << 6 | frame.rsv2 << 5 | frame.rsv3 << 4 | frame.opcode
    mask_bit = 0x80 if frame.masked else 0
    if frame.length <= 125:
        header = struct.pack("!BB", byte1, mask_bit | frame.length)
    elif frame.length <= 0xFFFF:
        header = struct.pack("!BBH", byte1, mask_bit | 126, frame.length)
    else:
        header = struct.pack("!BBQ", byte1, mask_bit | 127, frame.length)
    if frame.mask_key is None:
        return header + frame.payload
    return header + frame.mask_key + apply_mask(frame.payload, frame.mask_key)


def _key(mask: bool | bytes) -> bytes | None:
    """``True`` → a fresh random key (§5.3 wants it unpredictable), bytes → that key."""
    if mask is True:
        return os.urandom(4)
    if mask is False:
        return None
    return bytes(mask)


def text(data: str, *, mask: bool | bytes = False, fin: bool = True) -> bytes:
    """Encode a Text frame (clients pass ``mask=True``)."""
    return encode_frame(Frame(Opcode.TEXT, data.encode("utf-8"), fin, mask_key=_key(mask)))


def binary(data: bytes, *, mask: bool | bytes = False, fin: bool = True) -> bytes:
    """Encode a Binary frame."""
    return encode_frame(Frame(Opcode.BINARY, data, fin, mask_key=_key(mask)))


def continuation(data: bytes, *, mask: bool | bytes = False, fin: bool = True) -> bytes:
    """Encode a Continuation frame: the next fragment of a text or binary message (§5.4)."""
    return encode_frame(Frame(Opcode.CONT, data, fin, mask_key=_key(mask)))


def ping(payload: bytes = b"", *, mask: bool | bytes = False) -> bytes:
    """Encode a Ping frame; the peer must answer with a Pong echoing the payload (§5.5.2)."""
    return encode_frame(Frame(Opcode.PING, payload, mask_key=_key(mask)))


def pong(payload: bytes = b"", *, mask: bool | bytes = False) -> bytes:
    """Encode a Pong frame (§5.5.3)."""
    return encode_frame(Frame(Opcode.PONG, payload, mask_key=_key(mask)))


def close(code: int | None = None, reason: str = "", *, mask: bool | bytes = False) -> bytes:
    """Encode a Close frame; see :func:`wslab.protocol.closing.encode_close` (§5.5.1)."""
    return encode_frame(Frame(Opcode.CLOSE, encode_close(code, reason), mask_key=_key(mask)))


def check_text(payload: bytes) -> str:
    """Decode a complete text message, or raise ProtocolError 1007 if it is not UTF-8 (§8.1).

    Call it on the reassembled message: one fragment may end in the middle of a character.
    """
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"text message is not valid UTF-8: {exc.reason}", 1007) from None


class FrameParser:
    """Turn a byte stream into frames, whatever chunks the bytes arrive in.

    ``expect_masked`` is True on a server (clients must mask), False on a client, None to
    accept both. ``max_payload`` bounds memory: a longer frame raises ProtocolError 1009 as
    soon as its header is read. ``allowed_rsv`` is a bitmask of RSV bits an extension has
    negotiated (0b100 = RSV1, for permessage-deflate). ``strict=False`` skips every policy
    check (opcodes, RSV, masking, control frame rules) for a wire tap that only displays
    traffic; ``max_payload`` still applies.
    """

    def __init__(
        self,
        *,
        expect_masked: bool | None = None,
        max_payload: int | None = None,
        strict: bool = True,
        allowed_rsv: int = 0,
    ) -> None:
        self.expect_masked = expect_masked
        self.max_payload = max_payload
        self.strict = strict
        self.allowed_rsv = allowed_rsv
        self._buffer = bytearray()
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> bytes:
        """The bytes received but not yet part of a complete frame."""
        return bytes(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data`` to the stream and return every frame it completes, in order.

        On a ProtocolError the parser is done for: the error is raised now and on every later
        call, and frames completed earlier in the same call are dropped, because a failed
        connection processes nothing more (§7.1.7).
        """
        if self._error is not None:  # after a protocol error the stream is meaningless
            raise self._error
        self._buffer += data
        frames: list[Frame] = []
        position = 0
        try:
            while (parsed := self._parse_one(position)) is not None:
                frame, position = parsed
                frames.append(frame)
        except ProtocolError as error:
            self._error = error
            self._buffer.clear()
            raise
        del self._buffer[:position]
        return frames

    def _parse_one(self, start: int) -> tuple[Frame, int] | None:
        """Parse the frame at ``start``; return it and where it ends, or None if incomplete.

        Each check runs as soon as the bytes it needs are here, so bad frames fail early.
        """
        buffer = self._buffer
        if len(buffer) - start < 1:
            return None
        byte1 = buffer[start]
        fin, rsv, opcode = bool(byte1 & 0x80), byte1 >> 4 & 0b111, byte1 & 0x0F
        if self.strict:
            self._check_first_byte(fin, rsv, opcode)
        if len(buffer) - start < 2:
            return None
        masked, length = bool(buffer[start + 1] & 0x80), buffer[start + 1] & 0x7F
        if self.strict:
            self._check_second_byte(opcode, masked, length)
        position = start + 2
        if length >= 126:  # 126: 16-bit length follows, 127: 64-bit length follows (§5.2)
            size = 2 if length == 126 else 8
            if len(buffer) - position < size:
                return None
            length = int.from_bytes(buffer[position : position + size], "big")
            position += size
            if size == 8 and length >> 63:
                raise ProtocolError("64-bit payload length has its most significant bit set")
            if self.strict and length <= (125 if size == 2 else 0xFFFF):
                raise ProtocolError(f"payload length {length} not in the minimal encoding")
        if self.max_payload is not None and length > self.max_payload:
            raise ProtocolError(
                f"payload of {length} bytes exceeds max_payload={self.max_payload}", 1009
            )
        end = position + (4 if masked else 0) + length
        if len(buffer) < end:
            return None
        mask_key = bytes(buffer[position : position + 4]) if masked else None
        payload = bytes(buffer[end - length : end])
        if mask_key is not None:
            payload = apply_mask(payload, mask_key)
        frame = Frame(opcode, payload, fin, *(bool(rsv & bit) for bit in (4, 2, 1)), mask_key)
        return frame, end

    def _check_first_byte(self, fin: bool, rsv: int, opcode: int) -> None:
        """Opcode, RSV bits and control-frame fragmentation (§5.2, §5.5)."""
        if opcode not in _OPCODES:
            raise ProtocolError(f"reserved opcode {opcode}")
        if rsv & ~self.allowed_rsv:  # §5.2: non-zero only if an extension says so
            bits = ", ".join(f"RSV{i}" for i, bit in ((1, 4), (2, 2), (3, 1)) if rsv & bit)
            raise ProtocolError(f"{bits} set but no extension was negotiated for it")
        if opcode >= 0x8 and not fin:
            raise ProtocolError(f"fragmented control frame ({Opcode(opcode).name} with fin=0)")

    def _check_second_byte(self, opcode: int, masked: bool, length: int) -> None:
        """Masking direction and control-frame size (§5.1, §5.5)."""
        if self.expect_masked is True and not masked:
            raise ProtocolError("unmasked frame from a client (clients must mask, §5.1)")
        if self.expect_masked is False and masked:
            raise ProtocolError("masked frame from a server (servers must not mask, §5.1)")
        if opcode >= 0x8 and length > 125:  # 126 and 127 announce a longer length
            raise ProtocolError(f"control frame {Opcode(opcode).name} longer than 125 bytes")
