"""ex04, another style: struct and an offset instead of deleting bytes as frames come out,
and it also enforces §5.4's order (a CONT continues a message; a new message waits for the
last one to end). A correct parser that checks more than asked must lose nothing."""

import struct
from dataclasses import dataclass

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
KNOWN = frozenset({CONT, TEXT, BINARY, CLOSE, PING, PONG})


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes
    masked: bool


class ProtocolError(Exception):
    def __init__(self, message: str, close_code: int = 1002) -> None:
        super().__init__(message, close_code)
        self.message = message
        self.close_code = close_code

    def __str__(self) -> str:
        return f"{self.message} (close code {self.close_code})"


def apply_mask(data: bytes, mask_key: bytes) -> bytes:
    return bytes(b ^ k for b, k in zip(data, mask_key * (len(data) // 4 + 1), strict=False))


class FrameParser:
    def __init__(self, expect_masked: bool = True, max_payload: int = 1 << 20) -> None:
        self.expect_masked = expect_masked
        self.max_payload = max_payload
        self._data = b""
        self._in_message = False

    def _check_order(self, opcode: int, fin: bool) -> None:
        if opcode & 0x8:
            return  # control frames may come between fragments
        if opcode == CONT and not self._in_message:
            raise ProtocolError("a continuation frame with no message to continue")
        if opcode != CONT and self._in_message:
            raise ProtocolError("a new message before the last one ended")
        self._in_message = not fin

    def feed(self, data: bytes) -> list[Frame]:
        self._data += data
        out, at = [], 0
        while len(self._data) - at >= 2:
            first, second = struct.unpack_from("!BB", self._data, at)
            fin, opcode = bool(first >> 7), first & 0x0F
            masked, size = bool(second >> 7), second & 0x7F
            if first & 0x70:
                raise ProtocolError("reserved bits set")
            if opcode not in KNOWN:
                raise ProtocolError(f"opcode {opcode:#x} is reserved")
            if opcode & 0x8 and (not fin or size > 125):
                raise ProtocolError("control frames are unfragmented and at most 125 bytes")
            if masked is not self.expect_masked:
                raise ProtocolError("wrong masking for this side")
            head = 2 + {126: 2, 127: 8}.get(size, 0)
            if len(self._data) - at < head:
                break
            if size == 126:
                (size,) = struct.unpack_from("!H", self._data, at + 2)
            elif size == 127:
                (size,) = struct.unpack_from("!Q", self._data, at + 2)
            if size > self.max_payload:
                raise ProtocolError("too big", 1009)
            key_end = head + (4 if masked else 0)
            if len(self._data) - at < key_end + size:
                break
            body = self._data[at + key_end : at + key_end + size]
            if masked:
                body = apply_mask(body, self._data[at + head : at + key_end])
            self._check_order(opcode, fin)
            out.append(Frame(fin, opcode, body, masked))
            at += key_end + size
        self._data = self._data[at:]
        return out
