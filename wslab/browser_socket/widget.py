"""`wslab.browser_socket(url)`: a real browser WebSocket, opened by the page that shows the
notebook, driven from Python.

The widget's front end (static/browser_socket.js, an ES module anywidget loads: no build step)
runs ``new WebSocket(url)`` in the page, shows the socket's state and its live event log, and
reports every event to the kernel over the report channel (`channel`), which also carries
Python's commands to the page. Blocking calls (`wait_open()`, `next_message()`, a `send()`
waiting for the page to confirm) therefore work while a cell runs.

Without a page (a script, an automated run of the notebook) nothing ever attaches: the blocking
calls raise `NoBrowserError` once `ATTACH_TIMEOUT` has passed since the socket was created,
and ``with socket.needs_browser():`` turns that into a sentence for the learner.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from urllib.parse import urlsplit

import anywidget
import traitlets
from websockets.asyncio.server import ServerConnection

from .._registry import registry
from ..browser_url import browser_url
from . import channel
from .backpressure import Comparison, comparison
from .model import (
    BinaryType,
    Close,
    Event,
    HandlerError,
    Message,
    Open,
    Page,
    ReadyState,
    Reply,
    ReportError,
    Shown,
    SocketModel,
    State,
)

__all__ = [
    "BrowserSocket",
    "NoBrowserError",
    "OpenFailed",
    "PageGone",
    "SocketView",
    "browser_socket",
]

#: Seconds after its creation within which a page must have attached to a socket.
ATTACH_TIMEOUT = 8.0

#: The bound for later sockets once one found no page, while no page ever attached in this
#: kernel: a kernel without a browser (a script, an automated run) does not wait again and again.
RECHECK_TIMEOUT = 1.0

#: Seconds a command may take to be confirmed by the page.
COMMAND_TIMEOUT = 5.0

#: The kind of registry key browser sockets are held under.
BROWSER_SOCKET = "browser socket"

_LOOPBACK = ("127.0.0.1", "localhost")


class _Pages:
    """What this kernel has learned about pages: one attached, or one was missing."""

    attached = False
    missing = False


class NoBrowserError(RuntimeError):
    """No page runs this socket: the notebook is not open in a browser (or not trusted to run
    widgets)."""


class PageGone(RuntimeError):
    """The page that ran this socket went away (reloaded or closed): its socket went with it."""


class OpenFailed(ConnectionError):
    """The browser could not open the socket; its events say all a page is told."""


class SocketView(anywidget.AnyWidget):
    """The widget: its front end runs the socket in the page and shows its state and events.

    Apart from `BrowserSocket` because an ipywidget's ``close()`` closes the widget (ipywidgets
    calls it when collecting one), while a socket's ``close()`` is the browser's.
    """

    _esm = resources.files(__package__).joinpath("static", "browser_socket.js").read_text()
    url = traitlets.Unicode().tag(sync=True)
    """The URL the page opens: the one given in Python, or the Jupyter server's proxy path."""
    protocols = traitlets.List(traitlets.Unicode()).tag(sync=True)
    report_url = traitlets.Unicode().tag(sync=True)
    token = traitlets.Unicode().tag(sync=True)


class BrowserSocket:
    """A WebSocket in the browser; see `browser_socket()`."""

    def __init__(self, url: str, protocols: Sequence[str] = ()) -> None:
        self.model = SocketModel(url, tuple(protocols))
        self._changed = threading.Condition()
        self._connection: ServerConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gone = False
        self._replies: dict[int, Reply] = {}
        # Per reader (next_message, next_output): the events before it were looked at.
        self._cursors = {Message: 0, Shown: 0}
        self._created = time.monotonic()
        self.url = url
        """The URL as given in Python."""
        self.browser_url = _browser_facing(url)
        """The URL the page opens: the same, or the Jupyter server's proxy path to it."""
        self.token = channel.register(self)
        self.view = SocketView(
            url=self.browser_url,
            protocols=list(protocols),
            report_url=channel.report_url(),
            token=self.token,
        )
        registry.hold((BROWSER_SOCKET, self), self, self._stop)

    # --- the browser's API, from Python -------------------------------------------------------

    def send(self, data: str | bytes) -> None:
        """``socket.send(data)`` in the page: text, or bytes as a binary message. Returns once
        the page has called it; raises what the browser threw (e.g. while CONNECTING)."""
        self._command(*self.model.send(data))

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """``socket.close(code, reason)`` in the page (``close()`` for code None); the close
        event follows: see `wait_closed()`."""
        self._command(*self.model.close(code, reason))

    @property
    def ready_state(self) -> ReadyState:
        """``readyState``, read in the page now."""
        return self._current().ready_state

    @property
    def buffered_amount(self) -> int:
        """``bufferedAmount``, read in the page now: bytes sent but not yet handed to the
        network. It grows while the server does not read."""
        return self._current().buffered_amount

    @property
    def binary_type(self) -> BinaryType:
        """``binaryType``: what binary messages are in the page, a Blob or an ArrayBuffer."""
        return self._current().binary_type

    @binary_type.setter
    def binary_type(self, value: BinaryType | str) -> None:
        self._command(*self.model.set_binary_type(value))

    @property
    def protocol(self) -> str:
        """``protocol``: the subprotocol the server picked, "" for none."""
        return self._current().protocol

    @property
    def extensions(self) -> str:
        """``extensions``: what the server agreed to, e.g. permessage-deflate."""
        return self._current().extensions

    @property
    def events(self) -> list[Event]:
        """Every event the page reported so far, oldest first."""
        with self._changed:
            return list(self.model.events)

    @property
    def page(self) -> Page:
        """The page that runs the socket: its origin, its browser's User-Agent."""
        self._require_page()
        assert self.model.page is not None
        return self.model.page

    # --- code for the page, and what the page measures ---------------------------------------

    def on(self, event: str, code: str) -> None:
        """Make `code` (JavaScript) the page's handler of the socket's `event` ("open", "message",
        "error" or "close"), replacing the one set before; "" removes it.

        `code` is the body of ``async (event, socket, show) => { ... }``: `event` is the
        browser's event, `socket` the page's WebSocket, and ``show(text)`` adds a row to the
        widget and reaches Python (`next_output()`). Code that does not compile raises
        `JavaScriptError` here and changes nothing; a handler that throws when it runs shows
        the error in the widget, and Python gets it as a `HandlerError` event (`next_output()`
        raises it).
        """
        self._command(*self.model.on(event, code))

    def next_output(self, timeout: float = 5.0) -> str:
        """The next text a handler passed to ``show()``, not returned before; raises the
        `JavaScriptError` of a handler that threw instead, `TimeoutError` after `timeout`."""
        event = self._next(Shown, HandlerError, timeout, "show() or error from a handler")
        if isinstance(event, HandlerError):
            raise event.error
        assert isinstance(event, Shown)
        return event.text

    def compare_backpressure(
        self, url: str, count: int = 64, size: int = 256 * 1024, timeout: float = 60.0
    ) -> Comparison:
        """Have this socket's page send `count` messages of `size` bytes to `url` with each of
        the browser's APIs, ``WebSocket`` then ``WebSocketStream`` (when it has one), on two new
        connections; return what it measured. The server must answer each message it reads
        with the number it has read so far (see `wslab.browser_socket.backpressure`); a
        server that does not, or a run longer than `timeout` seconds, raises `BrowserError`."""
        number, frame = self.model.compare(_browser_facing(_checked(url)), count, size, timeout)
        reply = self._command(number, frame, 2 * timeout + COMMAND_TIMEOUT)
        if reply.measured is None:
            raise ReportError("the page's reply to compare measured nothing")
        return comparison(reply.measured, count, size)

    # --- waiting, for cells -------------------------------------------------------------------

    def wait_open(self, timeout: float = 10.0) -> BrowserSocket:
        """Wait for the open event; raise `OpenFailed` if the socket closed without opening."""
        self._require_page()
        self._wait(lambda: self._seen(Open) or self._seen(Close), timeout, "the open event")
        if not self._seen(Open):
            described = ", then ".join(_describe(event) for event in self.events)
            raise OpenFailed(
                f"the browser could not open {self.url}: {described}. A page is never told "
                "why; the server's log and the wire are"
            )
        return self

    def next_message(self, timeout: float = 5.0) -> Message:
        """The next message event not returned before; raise `ConnectionError` once the socket
        has closed and every message was returned, `TimeoutError` after `timeout`."""
        event = self._next(Message, Close, timeout, "a message", final=True)
        if isinstance(event, Close):
            raise ConnectionError(f"the socket is closed: {_describe(event)}")
        assert isinstance(event, Message)
        return event

    def wait_closed(self, timeout: float = 10.0) -> Close:
        """Wait for the close event and return it (code, reason, wasClean)."""
        self._require_page()
        self._wait(lambda: self._seen(Close), timeout, "the close event")
        return next(e for e in reversed(self.events) if isinstance(e, Close))

    @contextlib.contextmanager
    def needs_browser(self) -> Iterator[None]:
        """For a cell that needs the page: without one, print why instead of raising."""
        try:
            yield
        except NoBrowserError as exc:
            print(f"This cell needs the notebook open in JupyterLab. {exc}")

    def _repr_mimebundle_(self, **kwargs):
        """Shown as its widget (the last line of a cell, or display())."""
        bundle = self.view._repr_mimebundle_(**kwargs)
        if bundle is None:  # the view was closed
            return {"text/plain": repr(self)}, {}
        data, metadata = bundle
        return {**data, "text/plain": repr(self)}, metadata

    def __repr__(self) -> str:
        return f"<BrowserSocket {self.url} {self.model.state.ready_state.name}>"

    # --- the report channel's side (see channel.Attachable) -----------------------------------

    def _attach(
        self, connection: ServerConnection, loop: asyncio.AbstractEventLoop, hello: str
    ) -> bool:
        with self._changed:
            if self._connection is not None or self._gone:
                return False
            _, self.model.page = self.model.hello(hello)
            _Pages.attached = True
            self._connection, self._loop = connection, loop
            self._changed.notify_all()
            return True

    def _report(self, text: str | bytes) -> None:
        with self._changed:
            result = self.model.receive(text)
            if isinstance(result, Reply):
                self._replies[result.id] = result
            self._changed.notify_all()

    def _detach(self, connection: ServerConnection) -> None:
        with self._changed:
            if connection is self._connection:
                self._gone = True
                self._changed.notify_all()

    # --- internals ----------------------------------------------------------------------------

    def _require_page(self) -> None:
        """Wait (bounded) for a page to attach; raise if none did, or if it went away."""
        bound = RECHECK_TIMEOUT if _Pages.missing and not _Pages.attached else ATTACH_TIMEOUT
        remaining = self._created + bound - time.monotonic()
        with self._changed:
            self._changed.wait_for(lambda: self._connection is not None, max(0.0, remaining))
            if self._connection is None:
                _Pages.missing = True
                raise NoBrowserError(
                    f"no browser is showing this notebook: no page ran the socket to {self.url} "
                    f"within {bound:g} s (a script or an automated run has no page)"
                )

    def _wait(self, condition, timeout: float, what: str) -> None:
        met = False

        def done() -> bool:
            nonlocal met
            met = condition()  # called once per wake-up: `condition` may consume what it finds
            return met or self._gone

        with self._changed:
            if not self._changed.wait_for(done, timeout):
                raise TimeoutError(f"no {what} within {timeout:g} s")
            if not met:
                raise PageGone("the page that ran this socket went away (reloaded or closed)")

    def _next(
        self, wanted: type, other: type, timeout: float, what: str, final: bool = False
    ) -> Event:
        """The next event of kind `wanted` or `other` not returned before by this reader (the
        one of `wanted`). A `final` `other` (a close) is not consumed: it ends every wait."""
        self._require_page()
        found: list[Event] = []

        def arrived() -> bool:
            for index in range(self._cursors[wanted], len(self.model.events)):
                event = self.model.events[index]
                if isinstance(event, (wanted, other)):
                    found.append(event)
                    stays = final and isinstance(event, other)
                    self._cursors[wanted] = index + (0 if stays else 1)
                    return True
            return False

        self._wait(arrived, timeout, what)
        return found[-1]

    def _command(self, number: int, frame: str, timeout: float = COMMAND_TIMEOUT) -> Reply:
        self._require_page()
        with self._changed:
            if self._gone:
                raise PageGone("the page that ran this socket went away (reloaded or closed)")
            connection, loop = self._connection, self._loop
        assert connection is not None and loop is not None
        asyncio.run_coroutine_threadsafe(connection.send(frame), loop)
        self._wait(lambda: number in self._replies, timeout, "answer from the page")
        with self._changed:
            reply = self._replies.pop(number)
        if reply.error is not None:
            raise reply.error
        return reply

    def _current(self) -> State:
        """The state read in the page now; the last one reported once the page is gone."""
        self._require_page()
        with self._changed:
            if self._gone:
                return self.model.state
        state = self._command(*self.model.query()).state
        assert state is not None
        return state

    def _seen(self, kind: type) -> bool:
        return any(isinstance(event, kind) for event in self.model.events)

    def _stop(self) -> None:
        """Close the page's socket if it is still up (1001, as a page that goes away does)."""
        channel.forget(self.token)
        with self._changed:
            live = self._connection is not None and not self._gone
            closed = self._seen(Close)
            connection, loop = self._connection, self._loop
        if live and not closed and connection is not None and loop is not None:
            _, frame = self.model.close(1000, "wslab.stop_all()")
            asyncio.run_coroutine_threadsafe(connection.send(frame), loop)


def browser_socket(url: str, protocols: str | Sequence[str] | None = None) -> BrowserSocket:
    """A WebSocket opened by the browser that shows this notebook: ``new WebSocket(url,
    protocols)`` in the page. Show it (last line of a cell) to see its state and events live.

    A server of this kernel (``ws://127.0.0.1:PORT/...``) is reached the way the browser can:
    directly, or through the Jupyter server when JupyterLab is hosted (`wslab.browser_url`).
    """
    if isinstance(protocols, str):
        protocols = [protocols]
    return BrowserSocket(_checked(url), tuple(protocols or ()))


def _checked(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"a WebSocket URL starts with ws:// or wss://, got {url!r}")
    return url


def _browser_facing(url: str) -> str:
    """`url` as the page must open it: a loopback server goes through `browser_url`."""
    parts = urlsplit(url)
    if parts.hostname not in _LOOPBACK or parts.port is None:
        return url
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return browser_url(parts.port, path, host=parts.hostname, scheme=parts.scheme)


def _describe(event: Event) -> str:
    if isinstance(event, Close):
        clean = str(event.was_clean).lower()
        return f"close (code {event.code}, reason {event.reason!r}, wasClean {clean})"
    return type(event).__name__.lower() + " event"
