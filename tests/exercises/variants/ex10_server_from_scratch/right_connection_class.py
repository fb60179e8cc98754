"""ex10, right: one class per connection, a regex for the head, a buffer for the frames.

Where the reference solution reads with ``readuntil`` and ``readexactly`` in free functions,
this one keeps a bytearray and asks for more bytes until a whole frame header is there,
compares header names after ``casefold()``, and raises its own two exceptions (same
signatures as the reference). It must earn full marks all the same.
"""

import asyncio
import base64
import binascii
import hashlib
import re
import struct
from http import HTTPStatus

MAX_MESSAGE_SIZE = 16 * 2**20
HANDSHAKE_TIMEOUT = 10.0
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

REQUEST_LINE = re.compile(r"(?P<method>[A-Z]+) (?P<target>\S+) (?P<version>HTTP/\d\.\d)")
HEADER_LINE = re.compile(r"(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(?P<value>.*?)[ \t]*")
ALLOWED_CLOSE = {*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)}


class HandshakeError(Exception):
    def __init__(self, status, message, headers=()):
        super().__init__(status, message)
        self.status, self.message, self.headers = status, message, tuple(headers)


class ProtocolError(Exception):
    def __init__(self, message, close_code=1002):
        super().__init__(message, close_code)
        self.message, self.close_code = message, close_code


def comma_tokens(values):
    return {item.strip().casefold() for value in values for item in value.split(",")}


class Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.buffer = bytearray()

    # --- the opening handshake ---

    async def read_head(self):
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                head = await self.reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            raise HandshakeError(408, "too slow") from None
        except asyncio.LimitOverrunError:
            raise HandshakeError(400, "head too long") from None
        first, *lines = head.decode("latin-1")[:-4].split("\r\n")
        match = REQUEST_LINE.fullmatch(first)
        if not match:
            raise HandshakeError(400, "bad request line")
        headers = {}
        for line in lines:
            field = HEADER_LINE.fullmatch(line)
            if not field:
                raise HandshakeError(400, f"bad header line {line!r}")
            headers.setdefault(field["name"].casefold(), []).append(field["value"])
        return match, headers

    def accept(self, request_line, headers):
        if request_line["method"] != "GET":
            raise HandshakeError(405, "GET only", [("Allow", "GET")])
        if request_line["version"] != "HTTP/1.1":
            raise HandshakeError(505, "HTTP/1.1 only")
        if "host" not in headers:
            raise HandshakeError(400, "no Host")
        if "websocket" not in comma_tokens(headers.get("upgrade", [])):
            raise HandshakeError(426, "WebSocket only", [("Upgrade", "websocket")])
        if "upgrade" not in comma_tokens(headers.get("connection", [])):
            raise HandshakeError(426, "Connection: Upgrade needed", [("Upgrade", "websocket")])
        if headers.get("sec-websocket-version") != ["13"]:
            raise HandshakeError(426, "version 13 only", [("Sec-WebSocket-Version", "13")])
        keys = headers.get("sec-websocket-key", [])
        try:
            if len(keys) != 1 or len(base64.b64decode(keys[0], validate=True)) != 16:
                raise ValueError
        except (ValueError, binascii.Error):
            raise HandshakeError(400, "bad Sec-WebSocket-Key") from None
        digest = hashlib.sha1(keys[0].encode() + GUID).digest()
        return (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + base64.b64encode(digest) + b"\r\n\r\n"
        )

    def refuse(self, error):
        body = error.message.encode() + b"\n"
        head = [f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}"]
        head += [f"{name}: {value}" for name, value in error.headers]
        head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        self.writer.write("\r\n".join(head).encode() + body)

    # --- frames ---

    async def need(self, count):
        while len(self.buffer) < count:
            data = await self.reader.read(65536)
            if not data:
                raise asyncio.IncompleteReadError(bytes(self.buffer), count)
            self.buffer += data

    def take(self, count):
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    async def frame(self, room):
        await self.need(2)
        b0, b1 = self.buffer[0], self.buffer[1]
        opcode, fin = b0 & 0x0F, b0 >> 7
        if b0 & 0x70:
            raise ProtocolError("reserved bits")
        if opcode not in (0, 1, 2, 8, 9, 10):
            raise ProtocolError("reserved opcode")
        if not b1 & 0x80:
            raise ProtocolError("client frames are masked")
        size, offset = b1 & 0x7F, 2
        if opcode >= 8 and (not fin or size > 125):
            raise ProtocolError("bad control frame")
        if size >= 126:
            width = 2 if size == 126 else 8
            await self.need(2 + width)
            size = int.from_bytes(self.buffer[2 : 2 + width], "big")
            offset += width
        if opcode < 8 and size > room:
            raise ProtocolError("too big", 1009)
        await self.need(offset + 4 + size)
        self.take(offset)
        mask = self.take(4)
        data = self.take(size)
        key = int.from_bytes((mask * (size // 4 + 1))[:size], "big")
        return bool(fin), opcode, (int.from_bytes(data, "big") ^ key).to_bytes(size, "big")

    def write(self, opcode, payload):
        size = len(payload)
        if size < 126:
            header = bytes([0x80 | opcode, size])
        elif size < 65536:
            header = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
        self.writer.write(header + payload)

    async def session(self):
        kind, parts = None, []
        while True:
            fin, opcode, payload = await self.frame(MAX_MESSAGE_SIZE - sum(map(len, parts)))
            if opcode == 9:
                self.write(10, payload)
            elif opcode == 8:
                code = 1000
                if payload:
                    if len(payload) < 2:
                        raise ProtocolError("short close")
                    code = int.from_bytes(payload[:2], "big")
                    if code not in ALLOWED_CLOSE:
                        raise ProtocolError("forbidden close code")
                    try:
                        payload[2:].decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtocolError("close reason not UTF-8", 1007) from None
                self.write(8, code.to_bytes(2, "big"))
                return
            elif opcode in (1, 2, 0):
                if (opcode == 0) != (kind is not None):
                    raise ProtocolError("bad fragment sequence")
                kind = kind if opcode == 0 else opcode
                parts.append(payload)
                if fin:
                    message = b"".join(parts)
                    if kind == 1:
                        try:
                            message.decode("utf-8")
                        except UnicodeDecodeError:
                            raise ProtocolError("not UTF-8", 1007) from None
                    self.write(kind, message)
                    kind, parts = None, []
                elif kind == 1:
                    try:  # fail fast on bytes that no continuation can repair
                        b"".join(parts).decode("utf-8")
                    except UnicodeDecodeError as error:
                        if error.reason != "unexpected end of data":
                            raise ProtocolError("not UTF-8", 1007) from None
            await self.writer.drain()

    async def run(self):
        try:
            try:
                request_line, headers = await self.read_head()
                self.writer.write(self.accept(request_line, headers))
            except HandshakeError as error:
                self.refuse(error)
                return
            try:
                await self.session()
            except ProtocolError as error:
                self.write(8, struct.pack("!H", error.close_code) + error.message.encode()[:100])
            await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.writer.close()


async def serve(host, port):
    return await asyncio.start_server(lambda r, w: Connection(r, w).run(), host, port)
