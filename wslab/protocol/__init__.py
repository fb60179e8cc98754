"""RFC 6455, the WebSocket wire format, as plain functions over bytes.

This package is "sans-I/O": it never touches a socket, an event loop or a thread. You hand
it the bytes you received and it hands back events (a parsed request, a list of frames);
you ask it for bytes to send and write them yourself. The same code therefore works with
asyncio, threads, a notebook cell or a unit test, and every rule can be tested byte by byte.
"""

from .closing import (
    EXPLANATIONS,
    CloseCode,
    describe_close_code,
    encode_close,
    is_valid_close_code,
    parse_close,
)
from .errors import HandshakeError, ProtocolError
from .frames import (
    FIELD_NAMES,
    FieldSpan,
    Frame,
    FrameParser,
    Opcode,
    apply_mask,
    binary,
    check_text,
    close,
    continuation,
    encode_frame,
    header_fields,
    header_layout,
    header_length,
    ping,
    pong,
    text,
)
from .handshake import (
    GUID,
    Headers,
    Request,
    Response,
    accept_key,
    build_error_response,
    build_request,
    build_response,
    check_request,
    check_response,
    find_head_end,
    generate_key,
    parse_request,
    parse_response,
)

__all__ = [
    "EXPLANATIONS",
    "FIELD_NAMES",
    "GUID",
    "CloseCode",
    "FieldSpan",
    "Frame",
    "FrameParser",
    "HandshakeError",
    "Headers",
    "Opcode",
    "ProtocolError",
    "Request",
    "Response",
    "accept_key",
    "apply_mask",
    "binary",
    "build_error_response",
    "build_request",
    "build_response",
    "check_request",
    "check_response",
    "check_text",
    "close",
    "continuation",
    "describe_close_code",
    "encode_close",
    "encode_frame",
    "find_head_end",
    "generate_key",
    "header_fields",
    "header_layout",
    "header_length",
    "is_valid_close_code",
    "parse_close",
    "parse_request",
    "parse_response",
    "ping",
    "pong",
    "text",
]
