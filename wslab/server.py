"""`wslab.serve()`: any websockets handler, served from a background thread of the kernel.

The handler is an ordinary websockets 17 handler, ``async def handler(websocket): ...``, exactly
as in websockets' docs; `serve()` awaits websockets' own `serve()` inside the service's loop and
binds 127.0.0.1 on port 0 (the OS picks a free port), so nothing is ever reachable from outside
and nothing collides with whatever else runs on the machine.

Only websockets' documented API is used, so what a learner sees is websockets' own behaviour.
One example worth knowing: bytes that are not an HTTP request at all (a TLS ClientHello, a line
typed by hand into a raw socket) get no answer: websockets closes the TCP connection, and only
its debug log (which would slow every frame, so wslab does not keep it) says why. Requests that
do parse but are not a valid WebSocket handshake get an HTTP error (400, 405, 426...).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import traceback
import warnings
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed

from ._handlers import check_handler
from ._service import LOOPBACK, Service

Handler = Callable[[ServerConnection], Awaitable[None]]

#: Seconds stop() waits for clients to answer the closing handshake before hanging up.
STOP_GRACE = 2.0


#: Options wslab sets differently from websockets' defaults, and why.
DEFAULT_OPTIONS: dict[str, Any] = {
    # The course looks at frames on the wire; compressed payloads would be unreadable there.
    # Lesson 04 turns compression on explicitly to show what it does.
    "compression": None,
}


class Server(Service):
    """A websockets server running in its own thread; see `serve()`."""

    kind = "server"
    scheme = "ws"

    def __init__(self, handler: Handler, name: str, options: dict[str, Any]) -> None:
        super().__init__(name)
        self.handler = handler
        self.options = {**DEFAULT_OPTIONS, **options}
        self.connections_total = 0
        """Connections accepted since the server started."""
        self.errors: list[BaseException] = []
        """Exceptions raised by the handler (also in the log, with their traceback)."""
        self._ids = itertools.count(1)
        self._server: Any = None
        # Every connection a handler saw, until it is gone: stop() hangs up on those that do
        # not finish their closing handshake in time (websockets' Server lists OPEN ones only).
        self._seen: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        self._active = 0
        self._idle = threading.Condition()

    # --- public API ------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        """WebSocket connections open right now."""
        return len(self._server.connections) if self._server is not None else 0

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every connection's handler has finished and its closing is logged."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._active == 0, timeout):
                raise TimeoutError(f"{self._active} connection(s) still open after {timeout} s")

    # --- lifecycle -------------------------------------------------------------------------

    async def _start(self) -> tuple[str, int]:
        host = self.options.pop("host", LOOPBACK)
        port = self.options.pop("port", 0)
        if self.options.get("ssl") is not None:
            self.scheme = "wss"  # TLS: see wslab.tls.local_tls()
        self._server = await websockets_serve(
            self._handle, host, port, logger=self._log.logger, **self.options
        )
        return self._server.sockets[0].getsockname()[:2]

    async def _stop(self) -> None:
        # websockets closes open connections with 1001 (going away) and waits for handlers.
        self._server.close()
        try:
            async with asyncio.timeout(STOP_GRACE):
                await self._server.wait_closed()
        except TimeoutError:
            # A client that stopped reading (a wslab client in a cell that no longer calls
            # recv()) never answers our Close frame: don't wait websockets' close_timeout
            # (10 s) for it. Its 1001 is already on its way; hang up, as an exiting process would.
            for connection in list(self._seen):  # also those closing
                connection.transport.abort()
            await self._server.wait_closed()

    # --- per connection --------------------------------------------------------------------

    async def _handle(self, websocket: ServerConnection) -> None:
        self._seen.add(websocket)
        with self._idle:
            self._active += 1
        try:
            await self._run_handler(websocket)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    async def _run_handler(self, websocket: ServerConnection) -> None:
        number = next(self._ids)
        self.connections_total += 1
        host, port = websocket.remote_address[:2]
        peer = f"{host}:{port}"
        self._log.info(f"connection {number} open from {peer} {websocket.request.path}")
        try:
            await self.handler(websocket)
        except ConnectionClosed:
            # The peer went away while the handler was sending or receiving: that is how
            # connections end, not an error worth a traceback.
            pass
        except Exception as exc:
            self.errors.append(exc)
            self._log.error(
                f"connection {number}: handler raised {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exception(exc)).rstrip()
            )
            await websocket.close(1011, "handler failed")
        else:
            await websocket.close()
        code = websocket.close_code
        reason = websocket.close_reason
        described = "no close frame" if code is None else f"code {code}"
        self._log.info(
            f"connection {number} closed ({described}{' ' + repr(reason) if reason else ''})"
        )


def serve(handler: Handler, name: str | None = None, **options: Any) -> Server:
    """Serve `handler` on ``ws://127.0.0.1:<free port>/`` from a background thread.

    `name` defaults to the handler's name. A server already running under that name is
    stopped first, so re-running a cell is safe; pass distinct names to run one handler twice.
    Other keyword arguments go to `websockets.asyncio.server.serve` (e.g. ``origins``,
    ``max_size``, ``ping_interval``, ``compression="deflate"``; ``ssl`` for ``wss://``, see
    `wslab.tls.local_tls`).

    Warning: ``host="0.0.0.0"`` (or any address but loopback) makes the server reachable from
    other machines, so that anyone on the network can connect and run your handler. The
    default, 127.0.0.1, keeps it inside this computer; change it only if you mean it.

    To run a server in a child process instead (for measurements), use `wslab.serve_process`.
    ``process=True`` is an older spelling of that, kept for now (PendingDeprecationWarning).
    """
    if options.pop("process", False):
        # Pending, not yet Deprecation: lessons still use this spelling, and a warning
        # printed in a cell would be noise to a learner who did nothing wrong.
        warnings.warn(
            "serve(..., process=True) will be deprecated: use wslab.serve_process(...), "
            "which returns a ProcessServer",
            PendingDeprecationWarning,
            stacklevel=2,
        )
        from ._process import serve_process  # only for this deprecated spelling: no cycle

        return serve_process(handler, name=name, **options)  # type: ignore[return-value]
    check_handler(handler)
    name = name or getattr(handler, "__name__", "server")
    return Server(handler, name, options).start()
