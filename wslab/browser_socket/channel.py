"""The report channel: how a page that runs a browser socket talks to the kernel.

Why a second WebSocket instead of the widget's own messages: while a cell runs, the kernel does
not read widget (comm) messages from the front end, so a cell that waits for one would wait
forever. This channel is a wslab server on its own thread: the page's reports reach Python while
a cell blocks, and Python's commands reach the page the same way.

The page finds the channel at a browser-facing URL (`wslab.browser_url`: direct, or through the
Jupyter server's ``/proxy/PORT/``) and proves which socket it runs with the widget's random
token, which only the page that shows the widget has. One page per socket: a second page (the
notebook open in two tabs) is refused with 4409. The protocol itself is in `model`.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import Protocol

from websockets.asyncio.server import ServerConnection

from ..browser_url import browser_url
from ..server import Server, serve
from .model import ReportError, SocketModel

__all__ = ["Attachable", "forget", "register", "report_url"]

#: The service's name in `wslab.running()`.
NAME = "browser-sockets"

#: Seconds a page may take between connecting and saying hello.
HELLO_TIMEOUT = 10.0

#: The largest report: a message the page received, base64-encoded (4/3 of its size).
MAX_REPORT = 64 * 2**20

#: The channel's answer to a page's hello: go ahead, open the socket.
WELCOME = '{"type": "welcome"}'

#: Close codes of the channel (private use range, RFC 6455 §7.4.2).
UNKNOWN_TOKEN = 4403
TAKEN = 4409


class Attachable(Protocol):
    """What the channel needs from a browser socket (`BrowserSocket` implements it)."""

    model: SocketModel

    def _attach(self, connection: ServerConnection, loop: asyncio.AbstractEventLoop,
                hello: str) -> bool: ...  # fmt: skip

    def _report(self, text: str | bytes) -> None: ...

    def _detach(self, connection: ServerConnection) -> None: ...


_sockets: dict[str, Attachable] = {}
_lock = threading.Lock()
_service: Server | None = None


def register(socket: Attachable) -> str:
    """Admit `socket` to the channel (starting it if needed); return its new token."""
    token = secrets.token_urlsafe(24)
    with _lock:
        _sockets[token] = socket
    return token


def forget(token: str) -> None:
    """The socket of `token` is gone: refuse its token from now on."""
    with _lock:
        _sockets.pop(token, None)


def report_url() -> str:
    """The channel's URL as the browser must use it (starting the service if needed)."""
    global _service
    with _lock:
        if _service is None or not _service.running:
            _service = serve(_handle, name=NAME, max_size=MAX_REPORT)
        port = _service.port
    return browser_url(port, "/", scheme="ws")


async def _handle(websocket: ServerConnection) -> None:
    try:
        hello = await asyncio.wait_for(websocket.recv(), HELLO_TIMEOUT)
    except TimeoutError:
        await websocket.close(1008, "no hello")
        return
    socket = None
    try:
        token, _ = SocketModel("").hello(hello)
        with _lock:
            socket = _sockets.get(token)
    except ReportError as exc:
        await websocket.close(1008, str(exc)[:120])
        return
    if socket is None:
        await websocket.close(UNKNOWN_TOKEN, "unknown token: this socket is gone")
        return
    if not socket._attach(websocket, asyncio.get_running_loop(), hello):
        await websocket.close(TAKEN, "another page runs this socket")
        return
    await websocket.send(WELCOME)
    try:
        async for report in websocket:
            socket._report(report)
    except ReportError as exc:
        await websocket.close(1008, str(exc)[:120])
    finally:
        socket._detach(websocket)
