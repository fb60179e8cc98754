"""Where a WebSocket client's credentials can travel, and a handshake that checks them.

A browser's ``new WebSocket(url)`` sends no headers of the page's choosing: no Authorization
header. What it can use: the URL's query string, a cookie (sent by the browser itself), or the
first message after the handshake. `token_from_request` finds a token in the first two;
`token_check` refuses a handshake without a valid one (401 or 403, `tokens.verify`), before
the handler runs, and hands the claims to the handler as ``websocket.claims``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from ..protocol import HandshakeError
from .tokens import verify

#: The query parameter and the cookie that carry the token.
TOKEN_NAME = "token"


def token_from_request(request: Request) -> str | None:
    """The token in the query string (``?token=``) or else in the ``token`` cookie."""
    found = parse_qs(urlsplit(request.path).query).get(TOKEN_NAME)
    if found:
        return found[0]
    cookie = SimpleCookie()
    try:
        cookie.load(request.headers.get("Cookie", ""))
    except CookieError:
        return None
    return cookie[TOKEN_NAME].value if TOKEN_NAME in cookie else None


def token_check(
    key: bytes, audience: str, clock: Callable[[], float] = time.time
) -> Callable[[ServerConnection, Request], Response | None]:
    """A ``process_request`` for `wslab.serve`: 401 without a valid token, 403 for another
    audience; an accepted connection carries the token's claims as ``websocket.claims``."""

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        token = token_from_request(request)
        try:
            if token is None:
                raise HandshakeError(401, "missing token")
            connection.claims = verify(token, key, audience, clock())
        except HandshakeError as error:
            return connection.respond(error.status, error.message + "\n")
        return None

    return process_request
