"""`wslab.connect()`: a synchronous WebSocket client made for notebook cells.

It is websockets' own sync client with the defaults a notebook needs:

- every receive has a timeout, because a receive that blocks forever freezes the kernel;
- ``proxy=None``, because websockets >= 15 honours system proxy settings and a proxy cannot
  reach a server on the kernel's loopback;
- it works both in a ``with`` block and across cells with an explicit ``close()``, without
  websockets' deprecation warning for the latter (cells are not ``with`` blocks);
- every client wslab opens is held in wslab's registry until it is closed, so `wslab.stop_all()`
  (and the end of the process) closes it even when no variable refers to it any more
  (``wslab.connect(url).request("x")``);
- closing does not wait for messages the cell never read: see `Client.close()`;
- when a wslab server of this kernel is behind the URL and its handler crashes, the error
  that the client then meets (a 1011 close, a timeout) carries a note saying what the
  handler raised, so a bug in a handler never looks like a silent hang.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, Self
from urllib.parse import urlsplit

from websockets.exceptions import ConcurrencyError, ConnectionClosed, ConnectionClosedOK
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as websockets_connect
from websockets.typing import Data

from ._registry import registry, running

#: Seconds a receive, the opening handshake or the closing handshake may take by default.
DEFAULT_TIMEOUT = 5.0

#: Stands for "the client's own timeout" in methods that take an optional timeout.
_DEFAULT = object()

#: The kind of registry key clients are held under.
CLIENT = "client"


class Client:
    """A connected WebSocket client; `connection` is the underlying websockets connection."""

    def __init__(
        self, connection: ClientConnection, timeout: float | None, server: Any = None
    ) -> None:
        self.connection = connection
        self.timeout = timeout
        self._server = server  # the wslab Server behind the URL, if it runs in this kernel
        self._errors_seen = len(getattr(server, "errors", ()))

    # --- messages --------------------------------------------------------------------------

    def send(self, message: Data) -> None:
        """Send a text (str) or binary (bytes) message."""
        try:
            self.connection.send(message)
        except ConnectionClosed as exc:
            self._closed_by_peer()
            self._note_server_errors(exc)
            raise

    def recv(self, timeout: float | None | object = _DEFAULT) -> Data:
        """Receive the next message; raise TimeoutError if none arrives in time."""
        try:
            return self.connection.recv(self._timeout(timeout))
        except ConnectionClosed as exc:
            self._closed_by_peer()
            self._note_server_errors(exc)
            raise
        except TimeoutError as exc:
            self._note_server_errors(exc)
            raise

    def request(self, message: Data, timeout: float | None | object = _DEFAULT) -> Data:
        """Send a message and return the next message received (one round trip)."""
        self.send(message)
        return self.recv(timeout)

    def ping(self, data: Data | None = None, timeout: float | None | object = _DEFAULT) -> float:
        """Send a ping, wait for its pong and return the round-trip time in seconds.

        `data` is the ping's payload (at most 125 bytes); by default websockets picks 4 random
        bytes, so that each pong can be matched to its ping.
        """
        started = time.perf_counter()
        pong = self.connection.ping(data)
        if not pong.wait(self._timeout(timeout)):
            raise TimeoutError("no pong received in time")
        return time.perf_counter() - started

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Run the closing handshake; safe to call more than once.

        Messages not read yet are dropped. Why they must be read at all: websockets stops
        reading the socket while more than ``max_queue`` (16) messages wait unread (flow
        control, see "Memory and buffers" in its docs), and the server's Close frame arrives
        behind the messages it sent before it. So a thread reads and drops them while
        ``close()`` waits; without it, closing a client that stopped reading a busy server
        (a push server, a chat) would wait the whole close timeout and end in 1006.
        """
        try:
            if not self.closed:
                drain: threading.Thread | None = threading.Thread(
                    target=self._drop_unread, name="wslab-client-close", daemon=True
                )
                try:
                    drain.start()  # type: ignore[union-attr]
                except RuntimeError:  # at interpreter exit, Python 3.12 starts no thread
                    drain = None
                try:
                    self.connection.close(code, reason)
                finally:
                    if drain is not None:
                        drain.join()
        finally:
            registry.release((CLIENT, self), self)

    def _drop_unread(self) -> None:
        try:
            while True:  # until the connection is closed, which close() guarantees
                self.connection.recv(timeout=None)
        except (ConnectionClosed, ConcurrencyError):
            # Closed; or another thread is in recv() already, so it does the reading.
            pass

    def _closed_by_peer(self) -> None:
        registry.release((CLIENT, self), self)

    # --- state -----------------------------------------------------------------------------

    @property
    def local_port(self) -> int:
        """The client's own TCP port: the same for every message of one connection."""
        return self.connection.local_address[1]

    @property
    def close_code(self) -> int | None:
        return self.connection.close_code

    @property
    def close_reason(self) -> str | None:
        return self.connection.close_reason

    @property
    def closed(self) -> bool:
        return self.connection.close_code is not None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Data]:
        """Iterate over messages until the server closes the connection normally.

        Each wait has the client's timeout, like `recv()`: a server that goes quiet raises
        TimeoutError instead of freezing the notebook.
        """
        while True:
            try:
                yield self.recv()
            except ConnectionClosedOK:
                return

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Client {self.connection.request.path} {state}>"

    def _timeout(self, timeout: float | None | object) -> float | None:
        return self.timeout if timeout is _DEFAULT else timeout  # type: ignore[return-value]

    def _note_server_errors(self, exc: BaseException) -> None:
        """Add what the server's handler raised since we connected to `exc`, once."""
        errors = getattr(self._server, "errors", [])[self._errors_seen :]
        if not errors:
            return
        self._errors_seen += len(errors)
        error, name = errors[-1], self._server.name
        exc.add_note(
            f"The server {name!r} behind this connection failed: its handler raised "
            f"{type(error).__name__}: {error}\n"
            f"(the traceback is in its log: wslab.running()[{name!r}].log('error'))"
        )


def connect(url: str, *, timeout: float | None = DEFAULT_TIMEOUT, **options: Any) -> Client:
    """Open a WebSocket connection to `url` and return a `Client`.

    `timeout` bounds the opening handshake, each `recv()` and the closing handshake. Other
    keyword arguments go to `websockets.sync.client.connect` (e.g. ``origin``,
    ``subprotocols``, ``additional_headers``, ``compression``).
    """
    options.setdefault("proxy", None)
    options.setdefault("open_timeout", timeout)
    options.setdefault("close_timeout", timeout)
    # legacy=True returns the connection itself, for use across cells without `with`.
    connection = websockets_connect(url, legacy=True, **options)
    client = Client(connection, timeout, _server_at(url))
    # Held (strongly) until closed: the connection's own thread keeps it open after the last
    # reference to `client` is gone, so only the registry can still close it.
    registry.hold((CLIENT, client), client, lambda: client.close(1001, "going away"))
    return client


def _server_at(url: str) -> Any:
    """The wslab service of this kernel listening at `url`'s port, looking through taps."""
    services = list(running().values())
    port = urlsplit(url).port
    for _ in range(len(services)):  # a tap in front of a tap...; never loop forever
        service = next((s for s in services if s.port == port), None)
        if service is None or not hasattr(service, "target"):
            return service
        port = urlsplit(service.target).port
    return None
