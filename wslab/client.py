"""`wslab.connect()`: a synchronous WebSocket client made for notebook cells.

It is websockets' own sync client with the defaults a notebook needs:

- every receive has a timeout, because a receive that blocks forever freezes the kernel;
- ``proxy=None``, because websockets >= 15 honours system proxy settings and a proxy cannot
  reach a server on the kernel's loopback;
- it works both in a ``with`` block and across cells with an explicit ``close()``, without
  websockets' deprecation warning for the latter (cells are not ``with`` blocks);
- every client wslab opens is closed by `wslab.stop_all()` and at exit.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any, Self

from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as websockets_connect
from websockets.typing import Data

#: Seconds a receive, the opening handshake or the closing handshake may take by default.
DEFAULT_TIMEOUT = 5.0

#: Stands for "the client's own timeout" in methods that take an optional timeout.
_DEFAULT = object()

_clients: weakref.WeakSet[Client] = weakref.WeakSet()
_clients_lock = threading.Lock()


class Client:
    """A connected WebSocket client; `connection` is the underlying websockets connection."""

    def __init__(self, connection: ClientConnection, timeout: float | None) -> None:
        self.connection = connection
        self.timeout = timeout

    # --- messages --------------------------------------------------------------------------

    def send(self, message: Data) -> None:
        """Send a text (str) or binary (bytes) message."""
        self.connection.send(message)

    def recv(self, timeout: float | None | object = _DEFAULT) -> Data:
        """Receive the next message; raise TimeoutError if none arrives in time."""
        return self.connection.recv(self._timeout(timeout))

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
        """Run the closing handshake; safe to call more than once."""
        self.connection.close(code, reason)

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
    client = Client(connection, timeout)
    with _clients_lock:
        _clients.add(client)
    return client


def close_all_clients() -> None:
    """Close every client `connect()` opened and that is still open."""
    with _clients_lock:
        clients = list(_clients)
    for client in clients:
        try:
            client.close(1001, "going away")
        except Exception:
            pass
