"""Exercise 10 · A WebSocket server from scratch (capstone: lessons 03 and 04)

Build a WebSocket echo server on plain asyncio streams, with no WebSocket library: only the
standard library. Real clients grade it: websockets' asyncio and sync clients, the
`websocket-client` package, a raw socket that sends exactly the bytes a test wants (also the
bytes a client must never send), and requests copied from what Chromium and Firefox send.

`serve(host, port)` and `handle_connection(reader, writer)` are given: they glue your
functions together, answer a refused handshake with `error_response`, and turn the
`ProtocolError` you raise into a Close frame before hanging up. The two exceptions are given
too, with the signatures of the course's own codec (`wslab.protocol`) and of the earlier
exercises: ``HandshakeError(status, message, headers=())`` before the upgrade (an HTTP status
to answer with) and ``ProtocolError(message, close_code=1002)`` after it (the code of the
Close frame to send). Raise them; don't import them from `wslab` (the grader runs your file
on its own). Write:

1. `read_handshake(reader)`: read the HTTP request head and split it into its parts (§4.1).
2. `handshake_response(request)`: check the request and return the ``101`` response (§4.2).
3. `read_frame(reader, max_size)`: read one frame from a client, checking every rule a single
   frame can break, and return it unmasked (§5.2, §5.3, §5.5).
4. `encode_frame(opcode, payload)`: a frame from the server: never masked (§5.1).
5. `run_session(reader, writer)`: the conversation after the handshake: reassemble fragmented
   messages and echo them, answer pings, and end with the closing handshake (§5.4, §5.5, §7).
6. `check_close(payload)`: the code of a Close frame, refusing the ones that break the rules.

The tests check:

- the handshake: a 101 with the right ``Sec-WebSocket-Accept`` for websockets' clients, for
  Chromium's and Firefox's exact requests (``Connection: keep-alive, Upgrade`` too) and for
  requests that spell header names and the ``websocket`` and ``Upgrade`` tokens in any case
  (``sec-websocket-key``, ``UPGRADE: WebSocket``) or repeat ``Connection`` on two lines; no
  extension accepted: the browsers and websockets offer permessage-deflate, you decline it by
  not mentioning it;
- refusals, each request wrong in one way only: 426 with ``Upgrade: websocket`` when the
  client did not ask to upgrade to ``websocket`` (a plain GET, ``Upgrade: h2c``); 426 with
  ``Sec-WebSocket-Version: 13`` for another version (400 is fine when the header is missing);
  400 for a method other than GET (or 405), an HTTP version other than 1.1 (or 505), no
  ``Host``, a ``Connection`` without the ``Upgrade`` token (or 426), a key missing, not base64
  or not 16 bytes once decoded, and a head that is not HTTP: a header line without a colon, or
  whose name is not a token (RFC 9110 §5.1: no spaces, not even before the colon); an endless
  head gets a 400 or a closed connection. After a refusal, the connection closes;
- a client that has not sent its whole request head within `HANDSHAKE_TIMEOUT` seconds (all
  of it, however it dribbles in) gets a 408 and the connection closes (read
  `HANDSHAKE_TIMEOUT` when you need it: the tests shorten it);
- echo: text and binary messages, empty ones, sizes around the length encodings (125, 126,
  65535, 65536 bytes) up to 1 MiB, fragmented ones (even a character split across frames);
- a ping gets a pong with the same payload, also between the fragments of a message; an
  unsolicited pong gets no answer;
- the closing handshake: answer a Close with a Close carrying the same code (1000 if it had
  none), then close the TCP connection;
- failing the connection: a Close frame with the right code, then the TCP connection closed.
  1002 for an unmasked frame, RSV bits set, a reserved opcode, a control frame that is
  fragmented or over 125 bytes, a continuation frame with no message started, a new message
  before the last one ended, a Close payload of 1 byte or with a code that may not be sent
  (1005, 999, …); 1007 for a text message or a close reason that is not UTF-8; 1009 for a
  message over `MAX_MESSAGE_SIZE`, decided from the frame header, before reading the payload;
- a client that misbehaves or stalls halfway through a frame never delays the others.

Hints:

- `reader.readuntil(b"\\r\\n\\r\\n")` reads the head (past 64 KiB without the blank line, it
  raises `asyncio.LimitOverrunError`); `reader.readexactly(n)` reads frames.
  `asyncio.IncompleteReadError` (the client left) is handled for you. ``async with
  asyncio.timeout(HANDSHAKE_TIMEOUT):`` around the read bounds the whole head, not each byte.
- Header names are case-insensitive and ``Connection`` and ``Upgrade`` are comma-separated
  lists of case-insensitive tokens: ``"upgrade" in value.lower()`` would also accept
  ``Connection: x-upgrade``. A name is a token: letters, digits and ``!#$%&'*+-.^_`|~``.
- Unmasking is XOR with the 4-byte key repeated; on 1 MiB a Python loop per byte is slow, so
  XOR two big integers (``int.from_bytes``) instead.
- A character can be split across two fragments: decode text with
  ``codecs.getincrementaldecoder("utf-8")()`` fragment by fragment (``final=True`` on the
  last), which also catches bad UTF-8 as soon as it arrives.

Check your work: ``python -m wslab grade --exercise ex10`` or, in a lesson,
``wslab.check("ex10")``. Each failing test names what it sent and what came back.
"""

import asyncio
import base64
import binascii
import codecs
import hashlib
import re
import struct
from http import HTTPStatus

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

# Opcodes (§5.2). The other ten values are reserved: receiving one fails the connection.
CONT, TEXT, BINARY = 0x0, 0x1, 0x2
CLOSE, PING, PONG = 0x8, 0x9, 0xA  # control frames: opcode >= 0x8 (§5.5)

# Close codes (§7.4.1).
NORMAL_CLOSURE = 1000
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007  # e.g. a text message that is not UTF-8
MESSAGE_TOO_BIG = 1009

MAX_MESSAGE_SIZE = 16 * 2**20  # bytes in one message, all its fragments together
HANDSHAKE_TIMEOUT = 10.0  # seconds a client has to send its whole request head


class HandshakeError(Exception):
    """The opening handshake is refused: answer with HTTP `status`, `message` and `headers`.

    ``HandshakeError(426, "only version 13", [("Sec-WebSocket-Version", "13")])``: the same
    signature and attributes as `wslab.protocol.HandshakeError`.
    """

    def __init__(self, status: int, message: str, headers=()) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.headers = tuple(headers)

    @property
    def phrase(self) -> str:
        """The standard reason phrase of `status`, e.g. ``"Upgrade Required"``."""
        return HTTPStatus(self.status).phrase


class ProtocolError(Exception):
    """The client broke the rules after the handshake: fail the connection with `close_code`.

    ``ProtocolError("reserved opcode 3")`` closes with 1002, ``ProtocolError("not UTF-8",
    1007)`` with 1007: the same signature and attributes as `wslab.protocol.ProtocolError`.
    """

    def __init__(self, message: str, close_code: int = 1002) -> None:
        super().__init__(message, close_code)
        self.message = message
        self.close_code = close_code


# --- Given: the server and the life of one connection ---------------------------------------


async def serve(host: str, port: int) -> asyncio.Server:
    """Listen on host:port (0 picks a free port); each client runs `handle_connection`."""
    return await asyncio.start_server(handle_connection, host, port)


async def handle_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One client from start to end: the handshake, the session, then the TCP close."""
    try:
        try:
            request = await read_handshake(reader)
            writer.write(handshake_response(request))
        except HandshakeError as error:
            writer.write(error_response(error))
            return
        try:
            await run_session(reader, writer)
        except ProtocolError as error:
            # Fail the WebSocket connection (§7.1.7): a Close frame saying why, then hang up.
            reason = error.message.encode()[:123].decode(errors="ignore").encode()
            writer.write(encode_frame(CLOSE, struct.pack("!H", error.close_code) + reason))
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass  # the client left without a goodbye: nobody is listening any more
    finally:
        writer.close()


def error_response(error: HandshakeError) -> bytes:
    """A plain-text HTTP response refusing the upgrade (§4.2.2)."""
    body = (error.message + "\n").encode()
    lines = [
        f"HTTP/1.1 {error.status} {error.phrase}",
        *(f"{name}: {value}" for name, value in error.headers),
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --- Yours: the opening handshake (lesson 03) -----------------------------------------------

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP token (RFC 9110 §5.6.2)


async def read_handshake(reader: asyncio.StreamReader) -> dict:
    """Read one HTTP request head; return its parts as a dict.

    ``{"method": "GET", "target": "/chat", "version": "HTTP/1.1", "headers": {...}}`` with
    header names lower-cased and the values of a repeated header joined by ", ".
    Raise HandshakeError(400, ...) for a head that is not HTTP, or too long, and
    HandshakeError(408, ...) when it is not all there within HANDSHAKE_TIMEOUT seconds.
    """
    ### BEGIN SOLUTION
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):  # for the whole head, not each read
            head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:  # 64 KiB without a blank line: not a request we want
        raise HandshakeError(400, "request head too long") from None
    except TimeoutError:  # a client this slow ties up a connection (slowloris): let it go
        raise HandshakeError(408, f"no complete request within {HANDSHAKE_TIMEOUT:g} s") from None
    request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise HandshakeError(400, f"not an HTTP request line: {request_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not TOKEN.fullmatch(name):  # no space, even before the colon
            raise HandshakeError(400, f"malformed header line: {line[:80]!r}")
        name, value = name.lower(), value.strip(" \t")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    method, target, version = parts
    return {"method": method, "target": target, "version": version, "headers": headers}
    ### END SOLUTION


def handshake_response(request: dict) -> bytes:
    """Check a client's handshake (§4.2.1) and return the 101 response that accepts it.

    Raise HandshakeError(426, ..., headers) when the client asked for something else than
    WebSocket version 13 (and say what to ask for), HandshakeError(400, ...) when the
    request is wrong. Accept no extension and no subprotocol: just don't mention them.
    """
    ### BEGIN SOLUTION
    headers = request["headers"]

    def tokens(name: str) -> set[str]:
        return {token.strip(" \t").lower() for token in headers.get(name, "").split(",")}

    if request["method"] != "GET" or request["version"] != "HTTP/1.1":
        raise HandshakeError(400, "a WebSocket handshake is a GET in HTTP/1.1")
    if "host" not in headers:
        raise HandshakeError(400, "missing Host header")
    if "websocket" not in tokens("upgrade"):
        raise HandshakeError(426, "this is a WebSocket server", (("Upgrade", "websocket"),))
    if "upgrade" not in tokens("connection"):
        raise HandshakeError(400, "the Connection header must contain Upgrade")
    if headers.get("sec-websocket-version") != "13":
        version = (("Sec-WebSocket-Version", "13"),)  # the version to retry with (§4.4)
        raise HandshakeError(426, "only version 13 is supported", version)
    key = headers.get("sec-websocket-key", "")
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except binascii.Error:
        valid_key = False
    if not valid_key:
        raise HandshakeError(400, "Sec-WebSocket-Key must be 16 bytes in base64")
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept}\r\n"
        "\r\n"
    ).encode()
    ### END SOLUTION


# --- Yours: frames (lesson 04) --------------------------------------------------------------


async def read_frame(reader: asyncio.StreamReader, max_size: int) -> tuple[bool, int, bytes]:
    """Read one frame from a client; return ``(fin, opcode, payload)``, the payload unmasked.

    Raise ProtocolError(message) (close code 1002) for any rule a single frame breaks: RSV
    bits set, a reserved opcode, no mask, a control frame fragmented or over 125 bytes; and
    ProtocolError(message, 1009) for a data frame with more than `max_size` bytes of payload,
    as soon as its header says so (don't wait for a payload you will refuse).
    """
    ### BEGIN SOLUTION
    first, second = await reader.readexactly(2)
    fin, rsv, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
    masked, length = bool(second & 0x80), second & 0x7F
    if rsv:
        raise ProtocolError("RSV bits set, but no extension was negotiated")
    if opcode not in (CONT, TEXT, BINARY, CLOSE, PING, PONG):
        raise ProtocolError(f"reserved opcode {opcode}")
    if opcode >= CLOSE and not fin:
        raise ProtocolError("fragmented control frame")
    if opcode >= CLOSE and length > 125:
        raise ProtocolError("control frame over 125 bytes")
    if not masked:
        raise ProtocolError("unmasked frame from a client")
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    if opcode < CLOSE and length > max_size:
        raise ProtocolError(f"message over {MAX_MESSAGE_SIZE} bytes", MESSAGE_TOO_BIG)
    mask = await reader.readexactly(4)
    payload = await reader.readexactly(length)
    # XOR with the key repeated (§5.3), as one big-integer operation rather than a loop.
    stream = (mask * (length // 4 + 1))[:length]
    unmasked = int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")
    return fin, opcode, unmasked.to_bytes(length, "big")
    ### END SOLUTION


def encode_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server frame: FIN and opcode, the shortest length encoding, no mask (§5.2)."""
    ### BEGIN SOLUTION
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length <= 125:
        header = struct.pack("!BB", first, length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload
    ### END SOLUTION


# --- Yours: the session (lesson 04) ---------------------------------------------------------


async def run_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo every message until the closing handshake; raise ProtocolError to fail instead.

    Reassemble fragments (§5.4), answer each ping with a pong carrying its payload, even
    between fragments (§5.5.2), ignore pongs, check text is UTF-8 (§8.1), and answer a Close
    with a Close carrying the same code, then return (§5.5.1, §7.4). Give `read_frame` the
    room the message has left: MAX_MESSAGE_SIZE minus what its earlier fragments carried.
    """
    ### BEGIN SOLUTION
    message_type = None  # TEXT or BINARY while a message is being received, else None
    fragments: list[bytes] = []
    size = 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    while True:
        fin, opcode, payload = await read_frame(reader, MAX_MESSAGE_SIZE - size)
        if opcode == PING:
            writer.write(encode_frame(PONG, payload))
        elif opcode == PONG:
            pass  # an unsolicited pong is a heartbeat: no answer (§5.5.3)
        elif opcode == CLOSE:
            code = check_close(payload)
            writer.write(encode_frame(CLOSE, struct.pack("!H", code)))
            return  # handle_connection drains and closes the TCP connection
        else:
            if opcode == CONT and message_type is None:
                raise ProtocolError("continuation frame with no message started")
            if opcode != CONT and message_type is not None:
                raise ProtocolError("new message before the last one ended")
            if opcode != CONT:
                message_type = opcode
            if message_type == TEXT:
                try:
                    decoder.decode(payload, final=fin)  # fails at the first invalid byte
                except UnicodeDecodeError:
                    raise ProtocolError("text message is not UTF-8", INVALID_DATA) from None
            fragments.append(payload)
            size += len(payload)
            if fin:
                writer.write(encode_frame(message_type, b"".join(fragments)))
                message_type, fragments, size = None, [], 0
                decoder.reset()
        await writer.drain()
    ### END SOLUTION


def check_close(payload: bytes) -> int:
    """The close code of a Close frame's payload (1000 if it has none), checked (§5.5.1)."""
    ### BEGIN SOLUTION
    if not payload:
        return NORMAL_CLOSURE
    if len(payload) == 1:
        raise ProtocolError("Close payload of 1 byte")
    (code,) = struct.unpack("!H", payload[:2])
    # On the wire: 1000-1003, 1007-1014 (1004 reserved, 1005/1006/1015 local only), 3000-4999.
    if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
        raise ProtocolError(f"close code {code} may not be sent")
    try:
        payload[2:].decode()
    except UnicodeDecodeError:
        raise ProtocolError("close reason is not UTF-8", INVALID_DATA) from None
    return code
    ### END SOLUTION
