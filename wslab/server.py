"""`wslab.serve()`: any websockets handler, served from a background thread of the kernel.

The handler is an ordinary websockets 17 handler, ``async def handler(websocket): ...``, exactly
as in websockets' docs; `serve()` awaits websockets' own `serve()` inside the service's loop and
binds 127.0.0.1 on port 0 (the OS picks a free port), so nothing is ever reachable from outside
and nothing collides with whatever else runs on the machine.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import threading
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.protocol import State
from websockets.server import ServerProtocol

from ._process import ProcessServer, serve_process  # _process imports no server module
from ._service import LOOPBACK, Service, _registry

Handler = Callable[[ServerConnection], Awaitable[None]]

#: Seconds stop() waits for clients to answer the closing handshake before hanging up.
STOP_GRACE = 2.0


class AnsweringConnection(ServerConnection):
    """websockets' server connection, except that a request it cannot parse gets a 400.

    websockets 17 hangs up without a word when the bytes before the handshake are not an
    HTTP request (`ServerProtocol.parse()` sets `InvalidMessage`, then sends EOF). Someone
    typing a request by hand deserves to see why, so the 400 goes out just before that EOF.
    A client that left mid-request (EOFError) is not answered: nobody would read it.
    """

    def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
        super().__init__(protocol, *args, **kwargs)
        send_eof = protocol.send_eof

        def answer_then_send_eof() -> None:
            exc = protocol.handshake_exc
            if (
                protocol.state is State.CONNECTING
                and not protocol.writes  # no response on its way yet
                and type(exc) is InvalidMessage
                and not isinstance(exc.__cause__, EOFError)
            ):
                reason = f"{exc}: {exc.__cause__}"
                text = f"Failed to open a WebSocket connection: {reason}.\n"
                response = protocol.reject(400, text)
                protocol.writes.append(response.serialize())
                protocol.logger.info("connection rejected (400 Bad Request): %s", reason)
            send_eof()

        protocol.send_eof = answer_then_send_eof  # type: ignore[method-assign]


#: Options wslab sets differently from websockets' defaults, and why.
DEFAULT_OPTIONS: dict[str, Any] = {
    # The course looks at frames on the wire; compressed payloads would be unreadable there.
    # Lesson 04 turns compression on explicitly to show what it does.
    "compression": None,
    # Answer requests that are not HTTP with 400 instead of silence.
    "create_connection": AnsweringConnection,
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
            for connection in list(self._server.all_connections):  # also those closing
                connection.transport.abort()
            await self._server.wait_closed()

    # --- per connection --------------------------------------------------------------------

    async def _handle(self, websocket: ServerConnection) -> None:
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


def serve(
    handler: Handler | str, name: str | None = None, *, process: bool = False, **options: Any
) -> Server | ProcessServer:
    """Serve `handler` on ``ws://127.0.0.1:<free port>/`` from a background thread.

    `name` defaults to the handler's name. A server already running under that name is
    stopped first, so re-running a cell is safe; pass distinct names to run one handler twice.
    Other keyword arguments go to `websockets.asyncio.server.serve` (e.g. ``origins``,
    ``max_size``, ``ping_interval``, ``compression="deflate"``; ``ssl`` for ``wss://``, see
    `wslab.tls.local_tls`).

    Warning: ``host="0.0.0.0"`` (or any address but loopback) makes the server reachable from
    other machines, so that anyone on the network can connect and run your handler. The
    default, 127.0.0.1, keeps it inside this computer; change it only if you mean it.

    ``process=True`` runs the server in a child process instead, with a GIL of its own (for
    measurements; see `wslab._process`). The child imports the handler by name, so it must
    live in a .py file, not a notebook cell; `handler` may also be a built-in server's name
    ("echo", "push", "http", "room", "tcp-echo", "bench") or "module:function", and the
    options must then be JSON values.
    """
    if process:
        return serve_process(handler, name=name, **options)
    _check_handler(handler)
    name = name or getattr(handler, "__name__", "server")
    _registry.replace(name)
    return Server(handler, name, options)._launch()


def _check_handler(handler: Handler) -> None:
    """Catch the mistakes learners make with handlers before any client connects."""
    if not callable(handler):
        raise TypeError(f"handler must be an async function, got {handler!r}")
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):  # some callables have no signature; let them run
        return
    required = [
        p
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(required) == 2:
        raise TypeError(
            "handler takes (websocket, path), the signature of websockets < 13. websockets 17 "
            "calls handler(websocket); read the path from websocket.request.path."
        )
    if len(required) != 1:
        raise TypeError("handler must take exactly one argument, the websocket connection")
    if not (
        inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(type(handler).__call__)
    ):
        raise TypeError("handler must be an async function: async def handler(websocket): ...")
