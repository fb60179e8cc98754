"""Exercise 02 · The opening handshake, from the client's side (lesson 03, the opening handshake)

A WebSocket client opens with one HTTP/1.1 request and must check the server's answer before
it sends a single frame (RFC 6455 §4.1). Write both halves.

`build_request(host, path="/", key=None, origin=None)` returns ``(request_bytes, key)``:

- the request line ``GET <path> HTTP/1.1``, then the headers ``Host``, ``Upgrade: websocket``,
  ``Connection: Upgrade``, ``Sec-WebSocket-Key`` and ``Sec-WebSocket-Version: 13``, plus
  ``Origin`` only when `origin` is given; every line ends with CRLF and an empty line ends the
  head (§4.1, items 1-9 of "the handshake");
- when `key` is None, a fresh key: base64 of 16 random bytes (``os.urandom(16)``). Return the key
  you used: the client needs it to check the answer.

`check_response(data, key)` gets the server's response head (its bytes up to and including the
empty line) and the key you sent. It returns the headers as a dict, names in lower case and
values as sent without surrounding spaces (``{"upgrade": "websocket", ...}``), or raises
`HandshakeError` with a message that names the problem, checking in the order of §4.1 ("the
client MUST validate the server's response"):

1. the status is not 101: say which status came back (e.g. ``expected 101, got 200 OK``);
2. ``Upgrade`` is missing or is not ``websocket``: mention "Upgrade";
3. ``Connection`` is missing or has no ``upgrade`` token: mention "Connection";
4. ``Sec-WebSocket-Accept`` is missing or is not `accept_key(key)`: mention "Sec-WebSocket-Accept";
5. ``Sec-WebSocket-Extensions`` or ``Sec-WebSocket-Protocol`` is present: this client offered
   no extension and no subprotocol, so the server may not choose one: name the header.

`HandshakeError(status, message, headers=())` is given below, with the signature and attributes
(``.status``, ``.message``, ``.headers``) of ``wslab.protocol.HandshakeError``: keep them. Its
`status` is the response's own status when that is not 101 (so a caller can tell "403
Forbidden" from a broken server), and 400 for every other problem, as ``wslab.protocol`` does.

Header names are case-insensitive (``upgrade:`` is ``Upgrade:``), and so are the values
``websocket`` and ``upgrade``. ``Connection`` is a comma-separated list of tokens:
``Connection: keep-alive, Upgrade`` is fine, ``Connection: keep-alive,upgrade`` too, but
``Connection: upgrade-insecure-requests`` has no ``upgrade`` token. The status is the number:
a 101 may come with any reason phrase. The accept value is base64, so compare it exactly.

The tests send your request to a real websockets server over a raw socket, feed its real 101
to `check_response`, and feed `check_response` crafted responses with one mistake each.

Hints: ``data.decode("latin-1").split("\\r\\n")`` gives the status line, the header lines and
two empty strings; ``line.partition(":")`` splits a header line. `accept_key` is given (it is
ex01's answer).

Check your work: ``python -m wslab grade --exercise ex02`` or, in lesson 03,
``wslab.check("ex02")``.
"""

import base64
import hashlib
import os
from collections.abc import Iterable
from http import HTTPStatus

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeError(Exception):
    """The opening handshake failed; `status` is the HTTP status, `message` says why.

    Given, like ``wslab.protocol.HandshakeError`` (same signature, same attributes).
    """

    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.headers = tuple(headers)

    @property
    def phrase(self) -> str:
        """The standard reason phrase of `status`, e.g. ``"Forbidden"``."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"

    def __str__(self) -> str:
        return f"{self.status} {self.phrase}: {self.message}"


def accept_key(key: str) -> str:
    """Return the Sec-WebSocket-Accept value for a Sec-WebSocket-Key (given: ex01's answer)."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def build_request(
    host: str, path: str = "/", key: str | None = None, origin: str | None = None
) -> tuple[bytes, str]:
    """Return the client's opening handshake for ``ws://host/path`` and the key it carries."""
    raise NotImplementedError("ex02: write this part (see the instructions at the top)")


def check_response(data: bytes, key: str) -> dict[str, str]:
    """Check the server's response head against the key we sent; return its headers."""
    raise NotImplementedError("ex02: write this part (see the instructions at the top)")
