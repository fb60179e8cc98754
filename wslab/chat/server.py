"""`wslab.chat_server()`: the course's chat room, a page and a WebSocket on one port.

The glue between websockets and the sans-I/O parts: `protocol` parses what clients send,
`room.ChatState` decides what happens, and this module only moves bytes. One port serves both:

- ``GET /``, ``/chat.js``, ``/chat.css``: the browser client, answered from websockets'
  ``process_request`` hook, which may return an HTTP response instead of upgrading;
- ``/ws``: the WebSocket. Its Origin header must be in the allow-list (by default the page's own
  origin, plus no Origin at all so that Python clients get in); any other gets 403. A browser
  always sends Origin, so a page on another site cannot use a learner's browser to chat here
  (cross-site WebSocket hijacking).

Why `websockets.broadcast()` and not ``await websocket.send()`` in a loop: ``send()`` waits
while a connection's write buffer is above its high-water mark, so one member who stops reading
would stall the loop, and with it every message to every other member. See `_deliver()` for
what broadcast() does instead, and what this server adds so that memory stays bounded.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from importlib import resources
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .. import browser_url
from ..server import Server
from . import protocol
from .pacing import PresencePacer
from .room import ChatState, Delivery

__all__ = ["ChatServer", "chat_server"]

#: Where the WebSocket lives; every other path is the page or 404.
WS_PATH = "/ws"

#: The files of the browser client, by path: (file in wslab/chat/static, Content-Type).
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
    "/chat.css": ("chat.css", "text/css; charset=utf-8"),
}

#: The smallest frame limit (bytes); larger frames close the connection with 1009.
MAX_FRAME = 64 * 1024

#: Seconds a call from the notebook's thread may wait for the server's loop.
CALL_TIMEOUT = 10.0

#: Bytes a member may leave unread before the server drops it (see `_deliver()`).
MAX_BACKLOG = 1024 * 1024


class ChatServer(Server):
    """A chat server running in its own thread; see `chat_server()`."""

    kind = "chat server"

    def __init__(
        self,
        name: str,
        history: int,
        max_text: int,
        origins: Iterable[str | None] | None,
        max_backlog: int,
    ) -> None:
        options = {
            "process_request": self._process_request,
            # Room for max_text characters even when each is 4 UTF-8 bytes or a 6-byte \uXXXX.
            "max_size": max(MAX_FRAME, 6 * max_text + 1024),
        }
        super().__init__(self._chat, name, options)
        self.max_text = max_text
        """The longest text (in characters) a say or whisper may carry."""
        self.max_backlog = max_backlog
        """Unread bytes after which a member is dropped as too slow."""
        self.dropped = 0
        """Members dropped because they did not read fast enough."""
        self._extra_origins = [None] if origins is None else list(origins)
        self._proxied_origins: set[str] = set()  # learnt from pages served through Jupyter
        self._state = ChatState(history)
        self._lock = threading.Lock()  # the state is read from the notebook's thread too
        self._flush_timer: asyncio.TimerHandle | None = None
        self._pacer = PresencePacer()  # when to flush, on the loop's clock (see pacing.py)
        self._files = {
            path: (resources.files(__package__).joinpath("static", file).read_bytes(), kind)
            for path, (file, kind) in STATIC.items()
        }

    # --- public API ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where WebSocket clients connect: ``ws://127.0.0.1:<port>/ws``."""
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    @property
    def page_url(self) -> str:
        """The chat page, for a browser: ``http://127.0.0.1:<port>/``, or on hosted JupyterLab
        the same through the Jupyter server, ``{base_url}proxy/<port>/`` (see `browser_url`)."""
        return browser_url.browser_url(self.port, "/", host=self.host)

    @property
    def origins(self) -> list[str | None]:
        """Origin headers accepted on /ws; None stands for "no Origin header" (not a browser).

        The page's own origin; through the proxy of a hosted JupyterLab, the page's origin is
        the Jupyter server's, so that one (and only that one) is admitted too."""
        own = [f"http://{self.host}:{self.port}"]
        if browser_url.route() is browser_url.Route.PROXY:
            own += browser_url.browser_origins() + sorted(self._proxied_origins)
        return [*own, *self._extra_origins]

    def members(self, room: str = protocol.DEFAULT_ROOM) -> list[str]:
        """Nicks in `room` right now, sorted."""
        with self._lock:
            return self._state.members(room)

    def history(self, room: str = protocol.DEFAULT_ROOM) -> list[dict[str, Any]]:
        """The messages `room` keeps for members who join, oldest first."""
        with self._lock:
            return self._state.history(room)

    def rooms(self) -> list[str]:
        """Rooms the server remembers (with members or kept messages), sorted."""
        with self._lock:
            return self._state.rooms()

    def typing(self, room: str = protocol.DEFAULT_ROOM) -> list[str]:
        """Nicks typing in `room` right now, sorted."""
        with self._lock:
            return self._state.typing(room)

    def drop(self, nick: str) -> bool:
        """Cut `nick`'s connection without a closing handshake, as a failing network would.

        The client sees the connection end abnormally (1006) and the others see `nick` leave:
        a way to watch a client reconnect and recover what it missed. False if nobody is `nick`.
        """

        async def cut() -> bool:
            with self._lock:
                websocket = self._state.client(nick)
            if websocket is None:
                return False
            self._log.info(f"dropping {nick!r} on request")
            websocket.transport.abort()
            return True

        return self._loop.run(cut(), timeout=CALL_TIMEOUT)

    # --- HTTP ------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer page requests and refused origins over HTTP; let /ws upgrade (None)."""
        path = request.path.partition("?")[0]
        if path == WS_PATH:
            origin = request.headers.get("Origin")
            if not self._origin_allowed(origin):
                self._log.info(f"refused a WebSocket from Origin {origin!r} (403)")
                return connection.respond(403, f"Origin {origin} is not allowed here.\n")
            return None
        if path in self._files and "Upgrade" not in request.headers:
            if origin := browser_url.forwarded_origin(request.headers):
                self._proxied_origins.add(origin)  # a hub's public origin (see forwarded_origin)
            body, content_type = self._files[path]
            return self._page(body, content_type, request.headers.get("Host"))
        return connection.respond(404, f"Nothing at {path}; the chat's WebSocket is at /ws.\n")

    def _origin_allowed(self, origin: str | None) -> bool:
        """Whether `origin` is in `origins`, the cheap ones tried first: Python clients (no
        Origin) and the page's own origin are admitted without `browser_url.route()`, which
        looks for the Jupyter server's runtime file: ~0.1 ms, measured as a third of the CPU
        time a bare websockets server spends on accepting a connection."""
        if origin in self._extra_origins or origin == f"http://{self.host}:{self.port}":
            return True
        return origin in self.origins

    def _page(self, body: bytes, content_type: str, host: str | None) -> Response:
        # The page's WebSocket goes back to the host the browser loaded it from: this port, or
        # the Jupyter server whose proxy forwarded the request (it passes the browser's Host).
        if not (host and browser_url.HOST_HEADER.fullmatch(host)):
            host = f"{self.host}:{self.port}"
        headers = Headers(
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                # A second line of defence: even if some text were ever rendered as markup,
                # the browser would run no script but ours and connect nowhere but here.
                (
                    "Content-Security-Policy",
                    "default-src 'none'; script-src 'self'; style-src 'self'; "
                    f"img-src 'self' data:; connect-src ws://{host} wss://{host}; "
                    "base-uri 'none'; "
                    "form-action 'none'",
                ),
                ("Connection", "close"),
            ]
        )
        return Response(200, "OK", headers, body)

    # --- WebSocket -------------------------------------------------------------------------

    async def _chat(self, websocket: ServerConnection) -> None:
        """One client: 1. read a frame, 2. parse it, 3. update the state, 4. deliver."""
        self._pacer.connected(asyncio.get_running_loop().time())
        try:
            async for data in websocket:
                try:
                    event: protocol.ClientMessage | protocol.ChatError = protocol.parse(
                        data, self.max_text
                    )
                except protocol.ChatError as refused:
                    event = refused
                with self._lock:
                    outcome = self._state.receive(websocket, event)
                self._deliver(outcome.deliveries)
                self._schedule_flush(changed=isinstance(event, protocol.Join))
                if outcome.close is not None:
                    await websocket.close(*outcome.close)  # logged by Server as it closes
                    return
        finally:  # however it ended: closed, reset, dropped as too slow, server stopping
            with self._lock:
                self._state.disconnect(websocket)
            self._schedule_flush(changed=True)

    def _schedule_flush(self, changed: bool) -> None:
        """Note a join or leave (`changed`: the message was a join, maybe refused, or the client
        left) and make sure a timer will flush it when `pacing` says. One timer at most."""
        loop = asyncio.get_running_loop()
        if changed:
            self._pacer.changed(loop.time())
        due = self._pacer.due()
        if due is not None and self._flush_timer is None:
            self._flush_timer = loop.call_at(due, self._flush)

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        self._flush_timer = None
        due = self._pacer.due()
        if due is not None and loop.time() < due:  # changes came since the timer was set
            self._flush_timer = loop.call_at(due, self._flush)
            return
        with self._lock:
            deliveries = self._state.flush()
        self._deliver(deliveries)  # may drop slow members: their leaving schedules the next
        self._pacer.flushed(loop.time(), told=bool(deliveries))

    def _deliver(self, deliveries: list[Delivery]) -> None:
        """Send each message to its recipients without ever waiting for any of them.

        `broadcast()` (websockets 17.4, src/websockets/asyncio/connection.py) is a plain
        function, not a coroutine: it skips connections that are not OPEN, and for the others
        frames the message and calls `Connection.send_data()`, i.e. ``transport.write()``, which
        hands the bytes to the kernel and appends whatever the kernel's full socket buffer does
        not take to the transport's own buffer, without limit. There is no backpressure: the
        high-water mark (``write_limit``, 32 KiB) only makes ``send()`` wait in ``drain()``;
        broadcast() never drains. So the buffer of a member who stops reading grows with every
        message ("messages will pile up in its write buffer until the connection times out",
        its docstring says; with the default keepalive that is 20 to 40 s). A write that fails
        is logged and skipped, not raised. The room never waits for a slow member: the price is
        memory.

        This server bounds that memory: a member whose unsent bytes exceed `max_backlog` is
        dropped at once (``transport.abort()``: a close frame would wait behind the backlog
        it will never read), the others see it leave, and `dropped` counts it.
        """
        for recipients, message in deliveries:
            live = [ws for ws in recipients if not ws.transport.is_closing()]
            broadcast(live, protocol.encode(message))
            for websocket in live:
                self._check_backlog(websocket)

    def _check_backlog(self, websocket: ServerConnection) -> None:
        backlog = websocket.transport.get_write_buffer_size()
        if backlog > self.max_backlog:
            self.dropped += 1
            with self._lock:
                nick = self._state.nick(websocket)
            self._log.info(
                f"dropped {nick!r}: {backlog} bytes unread (max_backlog {self.max_backlog})"
            )
            websocket.transport.abort()


def chat_server(
    name: str = "chat",
    *,
    history: int = 100,
    max_text: int = 2000,
    origins: Iterable[str | None] | None = None,
    max_backlog: int = MAX_BACKLOG,
) -> ChatServer:
    """Start (or restart) the chat: the page at ``.page_url``, the WebSocket at ``.url``.

    `history`: messages each room keeps for members who join or come back. `max_text`: the
    longest text, in characters (longer ones get a ``too_long`` error). `origins`: Origin
    headers accepted on /ws besides the page's own; None (the default) means ``[None]``, i.e.
    also clients that send no Origin (Python clients); ``[]`` admits the page only.
    `max_backlog`: bytes a member may leave unread before it is dropped as too slow.

    A chat server already running under `name` is stopped first, so re-running a cell is safe,
    and `wslab.stop_all()` stops it.
    """
    if history < 0:
        raise ValueError(f"history must be >= 0, got {history}")
    if max_text < 1:
        raise ValueError(f"max_text must be >= 1, got {max_text}")
    if max_backlog < 0:
        raise ValueError(f"max_backlog must be >= 0, got {max_backlog}")
    if isinstance(origins, str):
        raise TypeError("origins is a list of origins, e.g. ['http://localhost:8888']")
    return ChatServer(name, history, max_text, origins, max_backlog).start()
