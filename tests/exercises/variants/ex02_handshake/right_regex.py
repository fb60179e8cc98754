"""ex02, another style: a regular expression per line, secrets for the key, early returns."""

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable
from http import HTTPStatus

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STATUS_LINE = re.compile(r"HTTP/1\.[01] (\d{3})(?: (.*))?")
HEADER_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")


class HandshakeError(Exception):
    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.headers = tuple(headers)

    @property
    def phrase(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"

    def __str__(self) -> str:
        return f"{self.status} {self.phrase}: {self.message}"


def accept_key(key: str) -> str:
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def build_request(host, path="/", key=None, origin=None):
    key = key if key is not None else base64.b64encode(secrets.token_bytes(16)).decode()
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    )
    if origin is not None:
        head += f"Origin: {origin}\r\n"
    return (head + "\r\n").encode(), key


def check_response(data, key):
    text = data.decode("latin-1")
    if not text.endswith("\r\n\r\n"):
        raise HandshakeError(400, "the head does not end with an empty line")
    first, *rest = text[:-4].split("\r\n")
    status = STATUS_LINE.fullmatch(first)
    if status is None:
        raise HandshakeError(400, f"not a status line: {first!r}")
    if status.group(1) != "101":
        code = int(status.group(1))
        raise HandshakeError(code, f"expected 101, got {code} {status.group(2) or ''}")
    found: dict[str, list[str]] = {}
    for line in rest:
        header = HEADER_LINE.fullmatch(line)
        if header is None:
            raise HandshakeError(400, f"not a header line: {line!r}")
        found.setdefault(header.group(1).lower(), []).append(header.group(2))
    headers = {name: ", ".join(values) for name, values in found.items()}
    if headers.get("upgrade", "").casefold() != "websocket":
        raise HandshakeError(400, "the Upgrade header is not websocket")
    tokens = {t.strip().casefold() for t in re.split(",", headers.get("connection", ""))}
    if "upgrade" not in tokens:
        raise HandshakeError(400, "the Connection header lacks the upgrade token")
    if found.get("sec-websocket-accept") != [accept_key(key)]:
        raise HandshakeError(400, "the Sec-WebSocket-Accept header is wrong or missing")
    for name in ("sec-websocket-extensions", "sec-websocket-protocol"):
        if name in headers:
            raise HandshakeError(400, f"{name}: the server chose what we did not offer")
    return headers
