"""The opening handshake: one HTTP request and one HTTP response (RFC 6455 §4).

A WebSocket connection starts life as an ordinary HTTP/1.1 GET that asks to "upgrade"
the TCP connection. The server agrees with ``101 Switching Protocols`` and proves it
understood by hashing the client's random key (§1.3). After the blank line that ends
the response, both sides stop speaking HTTP and start sending frames.

This module only turns bytes into objects, objects into bytes, and checks the rules.
The caller reads the socket, finds the end of the head with :func:`find_head_end`,
and writes whatever bytes we build.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .errors import HandshakeError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3, the same for everyone

# RFC 7230 §3.2.6: header names and methods are "tokens"; values must not contain controls
# other than horizontal tab (§3.2). Bytes 0x80-0xFF ("obs-text") are tolerated in values and
# decoded as latin-1, which is what HTTP/1.1 historically meant.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE_CHAR = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) (HTTP/[0-9]\.[0-9])")
_STATUS_LINE = re.compile(r"(HTTP/[0-9]\.[0-9]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?")


# --- Headers, requests and responses --------------------------------------------------------


@dataclass(frozen=True)
class Headers:
    """An immutable, ordered list of ``(name, value)`` header pairs.

    HTTP header names are case-insensitive (RFC 7230 §3.2) but a wire tap should show
    them exactly as sent, so names are stored untouched and compared with ``.lower()``.
    A name may repeat, which is why this is a list of pairs and not a dict.
    """

    pairs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", tuple((str(n), str(v)) for n, v in self.pairs))

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of header ``name`` (any case), or ``default``."""
        values = self.get_all(name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Return every value of header ``name`` (any case), in order."""
        lowered = name.lower()
        return [value for key, value in self.pairs if key.lower() == lowered]

    def tokens(self, name: str) -> list[str]:
        """Split a comma-separated header like ``Connection: keep-alive, Upgrade`` into
        lower-cased tokens, across all its occurrences (RFC 7230 §7, empty items dropped)."""
        return [
            item.strip(" \t").lower()
            for value in self.get_all(name)
            for item in value.split(",")
            if item.strip(" \t")
        ]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


@dataclass(frozen=True)
class Request:
    """An HTTP request head, e.g. ``GET /chat HTTP/1.1`` plus headers."""

    method: str
    target: str
    version: str
    headers: Headers


@dataclass(frozen=True)
class Response:
    """An HTTP response head, e.g. ``HTTP/1.1 101 Switching Protocols`` plus headers."""

    version: str
    status: int
    reason: str
    headers: Headers


# --- Reading heads --------------------------------------------------------------------------


def find_head_end(buffer: bytes) -> int | None:
    """Return the index just past the first ``\\r\\n\\r\\n`` in ``buffer``, or None.

    An I/O layer appends what it reads to a buffer and calls this until it gets an index;
    ``buffer[:end]`` is then the head and ``buffer[end:]`` already belongs to the frames.
    (A real server also caps the buffer size, so nobody can feed it an endless head.)
    """
    index = buffer.find(b"\r\n\r\n")
    return None if index == -1 else index + 4


def head_lines(data: bytes) -> list[str]:
    """The lines of the HTTP head at the start of `data`: the start line, then one per header,
    each without its CRLF; the blank line that ends the head, and what follows, left out.

    Nothing is checked but the framing (HandshakeError 400 without a CRLF CRLF): this is the
    one place a head is cut into lines, for the parsers below and for pictures of a head.
    Latin-1 maps every byte to one character, so decoding cannot fail.
    """
    end = find_head_end(data)
    if end is None:
        raise HandshakeError(400, "HTTP head is incomplete: it must end with CRLF CRLF")
    return data[: end - 4].decode("latin-1").split("\r\n")


def _split_head(data: bytes) -> tuple[str, Headers]:
    """Check the framing of a head and return its first line and its headers."""
    first, *lines = head_lines(data)
    end = find_head_end(data)
    if end != len(data):
        raise HandshakeError(400, f"{len(data) - end} unexpected bytes after the HTTP head")
    # The regexes below reject what HTTP does not allow (non-ASCII outside of header values).
    pairs = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise HandshakeError(400, f"header line without a colon: {line!r}")
        if not _TOKEN.fullmatch(name):  # also rejects "Name :" and obsolete line folding
            raise HandshakeError(400, f"invalid header name: {name!r}")
        value = value.strip(" \t")
        if _BAD_VALUE_CHAR.search(value):
            raise HandshakeError(400, f"control character in the value of {name}: {value!r}")
        pairs.append((name, value))
    return first, Headers(tuple(pairs))


def parse_request(data: bytes) -> Request:
    """Parse one HTTP request head (ending in CRLF CRLF); HandshakeError(400) if malformed."""
    first, headers = _split_head(data)
    match = _REQUEST_LINE.fullmatch(first)
    if match is None:
        raise HandshakeError(400, f"malformed request line: {first!r}")
    method, target, version = match.groups()
    return Request(method, target, version, headers)


def parse_response(data: bytes) -> Response:
    """Parse one HTTP response head (ending in CRLF CRLF); HandshakeError(400) if malformed."""
    first, headers = _split_head(data)
    match = _STATUS_LINE.fullmatch(first)
    if match is None:
        raise HandshakeError(400, f"malformed status line: {first!r}")
    version, status, reason = match.groups()
    return Response(version, int(status), reason or "", headers)


# --- Keys -----------------------------------------------------------------------------------


def generate_key() -> str:
    """Return a fresh ``Sec-WebSocket-Key``: base64 of 16 random bytes (§4.1 item 7)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_key(key: str) -> str:
    """Return the ``Sec-WebSocket-Accept`` that answers ``key``: base64(SHA-1(key + GUID)).

    The hash proves the server read *this* handshake and speaks WebSocket, so a cache or a
    plain HTTP server cannot accept an upgrade by accident (§1.3). It is not security.
    """
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


# --- Building heads -------------------------------------------------------------------------


def _head(first_line: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """Serialize a head, refusing CR/LF in names or values (header injection)."""
    lines = [first_line]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE_CHAR.search(value):
            raise ValueError(f"invalid header {name!r}: {value!r}")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def build_request(
    host: str,
    target: str = "/",
    key: str | None = None,
    *,
    origin: str | None = None,
    subprotocols: Sequence[str] = (),
    extra_headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """Build a client opening handshake (§4.1).

    Keep the ``key`` you pass: :func:`check_response` needs it. When ``key`` is None a new
    one is generated; recover it with ``parse_request(data).headers.get("Sec-WebSocket-Key")``.
    """
    if not target.startswith("/") or _BAD_VALUE_CHAR.search(target) or " " in target:
        raise ValueError(f"invalid request target: {target!r}")
    headers = [
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key if key is not None else generate_key()),
        ("Sec-WebSocket-Version", "13"),
    ]
    if origin is not None:  # browsers always send it; servers use it against CSWSH (§10.2)
        headers.append(("Origin", origin))
    if subprotocols:
        headers.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    headers.extend(extra_headers)
    return _head(f"GET {target} HTTP/1.1", headers)


def build_response(
    key: str,
    *,
    subprotocol: str | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """Build the ``101 Switching Protocols`` answer to a client whose key is ``key`` (§4.2.2)."""
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if subprotocol is not None:
        headers.append(("Sec-WebSocket-Protocol", subprotocol))
    headers.extend(extra_headers)
    return _head("HTTP/1.1 101 Switching Protocols", headers)


def build_error_response(error: HandshakeError) -> bytes:
    """Build a plain-text HTTP error response that refuses the upgrade (§4.2.2)."""
    body = error.message.encode("utf-8")
    headers = [
        *error.headers,
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    return _head(f"HTTP/1.1 {error.status} {error.phrase}", headers) + body


# --- Checking heads -------------------------------------------------------------------------


def check_request(request: Request) -> str:
    """Check a client handshake as a server must (§4.2.1) and return its key.

    Raises HandshakeError with the status to answer: 426 (plus the header the client should
    fix) when the client may retry differently, 400 when the request is simply wrong.
    """
    headers = request.headers
    if request.method != "GET":  # §4.1 item 2
        raise HandshakeError(400, f"method must be GET, not {request.method}")
    if request.version != "HTTP/1.1":
        raise HandshakeError(400, f"HTTP version must be HTTP/1.1, not {request.version}")
    if "Host" not in headers:  # §4.2.1 item 2
        raise HandshakeError(400, "missing Host header")
    # §4.2.1 item 3. Without "websocket" in Upgrade this is not a WebSocket request at all
    # (a plain GET, or another protocol); 426 plus our Upgrade header tells the client so.
    if "websocket" not in headers.tokens("Upgrade"):
        found = ", ".join(headers.get_all("Upgrade")) or "missing"
        raise HandshakeError(
            426, f"Upgrade header must contain websocket ({found})", [("Upgrade", "websocket")]
        )
    if "upgrade" not in headers.tokens("Connection"):  # §4.2.1 item 4
        found = ", ".join(headers.get_all("Connection")) or "missing"
        raise HandshakeError(400, f"Connection header must contain upgrade ({found})")
    # §4.2.1 item 6, checked before the key: a client speaking another version may use
    # another key format, and the 426 tells it which version to retry with (§4.4).
    versions = headers.get_all("Sec-WebSocket-Version")
    if versions != ["13"]:
        found = ", ".join(versions) or "missing"
        raise HandshakeError(
            426,
            f"Sec-WebSocket-Version header must be 13 ({found})",
            [("Sec-WebSocket-Version", "13")],
        )
    keys = headers.get_all("Sec-WebSocket-Key")  # §4.2.1 item 5, §11.3.1
    if len(keys) != 1:
        raise HandshakeError(400, f"Sec-WebSocket-Key header must appear once, not {len(keys)}")
    key = keys[0]
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise HandshakeError(400, f"Sec-WebSocket-Key header is not base64: {key!r}") from None
    if len(decoded) != 16:
        raise HandshakeError(
            400, f"Sec-WebSocket-Key header must encode 16 bytes, not {len(decoded)}: {key!r}"
        )
    return key


def check_response(
    response: Response,
    key: str,
    *,
    subprotocols: Sequence[str] = (),
    extensions: Sequence[str] = (),
) -> None:
    """Check the server's answer as a client must (§4.1, "the client MUST validate").

    ``key`` is the one we sent; ``subprotocols`` and ``extensions`` (names) are what we offered.
    The raised HandshakeError's status is the response's own status when it is not 101
    (so the caller can tell "403 Forbidden" from a broken server), and 400 otherwise.
    """
    headers = response.headers
    if response.status != 101:  # item 1
        raise HandshakeError(
            response.status, f"expected status 101, got {response.status} {response.reason}"
        )
    if "websocket" not in headers.tokens("Upgrade"):  # item 2
        found = ", ".join(headers.get_all("Upgrade")) or "missing"
        raise HandshakeError(400, f"Upgrade header must be websocket ({found})")
    if "upgrade" not in headers.tokens("Connection"):  # item 3
        found = ", ".join(headers.get_all("Connection")) or "missing"
        raise HandshakeError(400, f"Connection header must contain upgrade ({found})")
    accepts = headers.get_all("Sec-WebSocket-Accept")  # item 4
    if accepts != [accept_key(key)]:
        found = ", ".join(accepts) or "missing"
        raise HandshakeError(
            400, f"Sec-WebSocket-Accept header must be {accept_key(key)} ({found})"
        )
    offered = [name.lower() for name in extensions]
    for extension in headers.tokens("Sec-WebSocket-Extensions"):  # item 5
        name = extension.partition(";")[0].strip()
        if name not in offered:
            raise HandshakeError(400, f"server chose extension {name}, which we did not offer")
    chosen = headers.get_all("Sec-WebSocket-Protocol")  # item 6
    if chosen and (len(chosen) != 1 or chosen[0] not in subprotocols):
        raise HandshakeError(
            400, f"server chose subprotocol {', '.join(chosen)}, which we did not offer"
        )
