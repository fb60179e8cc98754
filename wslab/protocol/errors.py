"""The two ways a WebSocket conversation can go wrong, as exceptions.

Every failure in this package ends in one of two exceptions, and each one carries the
*answer* the endpoint owes its peer, not just a complaint:

* Before the connection is upgraded, the peers speak HTTP. A bad opening handshake is a
  :class:`HandshakeError`, which knows the HTTP status (and any extra headers) a server
  should reply with (RFC 6455 §4.2.2).
* After the upgrade, the peers speak frames. A bad frame is a :class:`ProtocolError`,
  which knows the close code the endpoint must send before dropping the connection
  (RFC 6455 §7.1.7 "Fail the WebSocket Connection", codes in §7.4.1).

Keeping the answer inside the exception lets the I/O layer stay dumb: catch, reply, close.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus


class ProtocolError(Exception):
    """A peer broke the framing rules; the connection must be failed.

    ``close_code`` is the status code to put in the Close frame we send back:
    1002 (protocol error) by default, 1007 for invalid UTF-8, 1009 for a message
    that is too big (RFC 6455 §7.4.1).
    """

    def __init__(self, message: str, close_code: int = 1002) -> None:
        super().__init__(message, close_code)
        self.message = message
        self.close_code = close_code

    def __str__(self) -> str:
        return f"{self.message} (close code {self.close_code})"


class HandshakeError(Exception):
    """An opening handshake was refused; the connection is never upgraded.

    ``status`` is the HTTP status a server should answer with (400 Bad Request,
    426 Upgrade Required, 403 Forbidden…). ``headers`` are extra response headers
    the RFC asks for, e.g. ``("Sec-WebSocket-Version", "13")`` on a 426 caused by an
    unsupported version (RFC 6455 §4.2.2). ``message`` says which header was wrong
    and why; :func:`wslab.protocol.handshake.build_error_response` sends it as the body.
    """

    def __init__(
        self,
        status: int,
        message: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.headers: tuple[tuple[str, str], ...] = tuple(headers)

    @property
    def phrase(self) -> str:
        """The standard reason phrase for ``status``, e.g. ``"Upgrade Required"``.

        Named ``phrase``, not ``reason``: in this course a *reason* is the text of a Close frame.
        """
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"

    def __str__(self) -> str:
        return f"{self.status} {self.phrase}: {self.message}"
