"""ex05, another style: struct, a set of codes built from ranges, one parse for both checks."""

import struct

ON_THE_WIRE = frozenset([*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)])


class ProtocolError(Exception):
    def __init__(self, message: str, close_code: int = 1002) -> None:
        super().__init__(message, close_code)
        self.message = message
        self.close_code = close_code

    def __str__(self) -> str:
        return f"{self.message} (close code {self.close_code})"


def is_valid_close_code(code: int) -> bool:
    return code in ON_THE_WIRE


def encode_close(code=None, reason=""):
    if code is None:
        if reason:
            raise ValueError("no reason without a code")
        return b""
    if code not in ON_THE_WIRE:
        raise ValueError(f"{code} is not sent on the wire")
    data = struct.pack("!H", code) + reason.encode()
    if len(data) > 125:
        raise ValueError("a Close payload is at most 125 bytes")
    return data


def parse_close(payload):
    match len(payload):
        case 0:
            return None, ""
        case 1:
            raise ProtocolError("one byte cannot hold a close code")
        case n if n > 125:
            raise ProtocolError("a Close payload is at most 125 bytes")
    (code,) = struct.unpack("!H", payload[:2])
    if code not in ON_THE_WIRE:
        raise ProtocolError(f"{code} is not sent on the wire")
    try:
        return code, str(payload[2:], "utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the reason is not UTF-8", 1007) from None
