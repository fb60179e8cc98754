"""`wslab.socketio_server()`: a real python-socketio server in a background thread of the kernel.

python-socketio's `AsyncServer` is attached to an aiohttp application, and aiohttp serves it on
127.0.0.1 port 0 from the service's own event loop, like every wslab server: a notebook cell
that blocks never stalls it, re-running the cell replaces it, `wslab.stop_all()` stops it.
Both libraries log to the service's log (``server.log()``), never to the notebook.

By default the server is the Socket.IO chat tutorial's, in Python: it serves a page at ``/``,
relays ``"chat message"`` to everyone with its offset, answers with an ack, lets clients
``"join"`` rooms and talk to one, and gives a client that comes back with ``auth={"offset": n}``
the messages it missed (the tutorial's "server delivery"). ``chat=False`` gives a bare server
for your own handlers: ``@server.sio.on("event")``.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

import socketio
from aiohttp import web

from .._service import LOOPBACK, Service

#: How long stopping waits for aiohttp's open requests (long polls) before closing them.
SHUTDOWN_TIMEOUT = 1.0


class SocketIOServer(Service):
    """A python-socketio server on aiohttp, in its own thread; see `socketio_server()`."""

    kind = "socketio server"
    scheme = "http"

    def __init__(self, name: str, chat: bool, options: dict[str, Any]) -> None:
        super().__init__(name)
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            logger=self._log.logger,
            engineio_logger=self._log.logger,
            **options,
        )
        """The python-socketio server itself: register handlers with ``@server.sio.on(...)``."""
        self.history: list[str] = []
        """The chat's messages so far; a message's offset is its position, from 1."""
        self._runner: web.AppRunner | None = None
        if chat:
            _tutorial_chat(self.sio, self.history)

    # --- public API ------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        """Where a plain WebSocket client reaches Engine.IO directly, skipping polling."""
        return f"ws://{self.host}:{self.port}/socket.io/?EIO=4&transport=websocket"

    @property
    def clients(self) -> int:
        """Engine.IO sessions open right now (whatever their transport)."""
        return len(self.sio.eio.sockets)

    # --- lifecycle -------------------------------------------------------------------------

    async def _start(self) -> tuple[str, int]:
        app = web.Application()
        app.router.add_get("/", _page)
        self.sio.attach(app)
        self._runner = web.AppRunner(
            app,
            handle_signals=False,  # the kernel owns the signals
            access_log=None,
            logger=self._log.logger,  # aiohttp's own errors, else they reach stderr
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, 0).start()
        return self._runner.addresses[0][:2]

    async def _stop(self) -> None:
        if self.sio.eio.sockets:  # close every session: Engine.IO close, WebSocket close
            try:
                async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                    await self.sio.eio.disconnect()
            except TimeoutError:
                # A session whose client already left waits forever for its queue to drain;
                # aiohttp's cleanup below closes its connection anyway.
                self._log.info("sessions still closing; closing their connections")
        await self.sio.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()


def socketio_server(name: str = "socketio", *, chat: bool = True, **options: Any) -> SocketIOServer:
    """Start (or restart) a python-socketio server at ``http://127.0.0.1:<port>/``.

    Keyword arguments go to `socketio.AsyncServer`, e.g. ``ping_interval`` and
    ``ping_timeout`` (seconds), ``allow_upgrades=False`` (clients stay on HTTP long polling),
    ``transports=["websocket"]``, ``async_handlers=False`` (handle each client's events one
    at a time, in order). ``chat=False`` leaves out the tutorial's chat handlers.

    A server already running under `name` is replaced, and `wslab.stop_all()` stops it.
    """
    return SocketIOServer(name, chat, options).start()


# --- the chat tutorial, server side ----------------------------------------------------------


async def _page(request: web.Request) -> web.Response:
    page = resources.files(__package__).joinpath("static/index.html").read_text()
    return web.Response(text=page, content_type="text/html")


def _tutorial_chat(sio: socketio.AsyncServer, history: list[str]) -> None:
    """The Socket.IO chat tutorial's server: emit, broadcast, acks, rooms, server delivery."""

    @sio.event
    async def connect(sid: str, environ: dict, auth: Any) -> None:
        # Server delivery: a client says the last offset it saw, and gets what came after.
        offset = auth.get("offset") if isinstance(auth, dict) else None
        if isinstance(offset, int) and 0 <= offset < len(history):
            for number, message in enumerate(history[offset:], start=offset + 1):
                await sio.emit("chat message", (message, number), to=sid)

    @sio.on("chat message")
    async def chat_message(sid: str, message: Any) -> int:
        history.append(str(message))
        offset = len(history)
        await sio.emit("chat message", (message, offset))  # to everyone, the sender too
        return offset  # the ack: the sender learns its message is stored, and where

    @sio.event
    async def join(sid: str, room: str) -> list[str]:
        await sio.enter_room(sid, room)
        return sorted(sio.rooms(sid))

    @sio.on("to room")
    async def to_room(sid: str, room: str, message: Any) -> None:
        await sio.emit("chat message", (message, None), room=room, skip_sid=sid)
