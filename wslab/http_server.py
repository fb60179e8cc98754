"""`wslab.http_server()`: the plain HTTP server that lesson 01 compares WebSockets against.

Lesson 01 shows how far HTTP gets with live data: request/response, short polling (ask again
and again) and long polling (ask, and the server holds the answer until something happens).
This is a small HTTP/1.1 server on asyncio streams, short enough to read in one go. A request
is a *head* (a request line, header lines, an empty line) followed by exactly Content-Length
bytes of body; a response is the same, the other way. Everything else here is about staying
up while clients misbehave.

Left out on purpose: chunked transfer coding (answered 501, since we cannot find where such a
body ends we also close), HEAD, compression, and a Date header (responses are byte-for-byte
the same on every run, so the lessons can count bytes on the wire).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import socket
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import protocol
from ._service import LOOPBACK, Service
from ._streams import no_delay

__all__ = ["HttpServer", "http_server"]

#: Options of `http_server()` and their defaults.
DEFAULT_OPTIONS: dict[str, Any] = {
    "host": LOOPBACK,
    "port": 0,  # the OS picks a free port
    "max_body": 1024 * 1024,  # bytes; larger bodies get 413
    "history": 1000,  # events kept for pollers that fall behind
    "idle_timeout": 30.0,  # seconds a keep-alive connection may sit idle between requests
    "request_timeout": 10.0,  # seconds for a started request (head and body) to arrive
}
MAX_HEAD = 16 * 1024  # request line + headers; larger gets 431
LONG_POLL_DEFAULT, LONG_POLL_MAX = 20.0, 60.0  # seconds
LINGER = 2.0  # seconds to discard a client's leftover bytes before closing; see _linger()
STOP_GRACE = 2.0  # seconds stop() lets a request being answered finish
CALL_TIMEOUT = 10.0  # seconds publish() and tcp_nodelay() wait for the loop thread
TEXT, JSON = "text/plain; charset=utf-8", "application/json"

_TARGET = re.compile(r"/[!-~]*")  # origin-form: a path and query of visible ASCII


@dataclass
class Request:
    """One parsed request. Header names are lower-cased; `query` keeps each name's first value."""

    method: str
    target: str
    version: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def wants_keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told to close; 1.0 closes unless asked not to."""
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        return "keep-alive" in tokens if self.version == "HTTP/1.0" else "close" not in tokens


@dataclass
class Response:
    """What a handler returns; `encode()` turns it into bytes on the wire."""

    status: int
    body: bytes = b""
    content_type: str = TEXT
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False  # the connection cannot be reused after this response

    def encode(self, connection: str | None) -> bytes:
        """The bytes on the wire. The header set is fixed, so sizes are the same on every run."""
        lines = [
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Server: wslab",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        if connection:
            lines.append(f"Connection: {connection}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def _text(status: int, text: str, **kwargs: Any) -> Response:
    return Response(status, text.encode(), TEXT, **kwargs)


def _json(status: int, value: Any) -> Response:
    return Response(status, json.dumps(value).encode(), JSON)


class HttpError(Exception):
    """Raised anywhere while reading or handling a request; becomes a short text response."""

    def __init__(self, status: int, message: str, close: bool = False, headers=()) -> None:
        super().__init__(message)
        self.response = _text(status, message, close=close, headers=tuple(headers))


_Handler = Callable[[Request], Awaitable[Response]]


class _Closed(Exception):
    """The client is gone or idle: close quietly, there is nobody to answer."""


def parse_head(head: bytes) -> Request:
    """Parse a request head (ending in its empty line) into a `Request` without a body.

    The syntax of the request line and header lines is checked by the course's codec, the same
    code that parses WebSocket handshakes; what is left here is what an HTTP server adds.
    """
    try:
        parsed = protocol.parse_request(head)
    except protocol.HandshakeError as exc:
        raise HttpError(400, exc.message, close=True) from None
    method, target, version = parsed.method, parsed.target, parsed.version
    if not _TARGET.fullmatch(target):
        raise HttpError(400, "malformed request line: the target must start with /", close=True)
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HttpError(505, f"unsupported version {version!r}", close=True)
    headers: dict[str, str] = {}
    for name, value in parsed.headers:
        name = name.lower()
        if name in headers:  # repeated fields combine into a list, except where that's a trick
            if name in ("content-length", "host", "transfer-encoding"):
                raise HttpError(400, f"repeated {name} header", close=True)
            value = f"{headers[name]}, {value}"
        headers[name] = value
    url = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    return Request(method, target, version, url.path, query, headers)


@dataclass(eq=False)
class _Connection:
    number: int
    peer: str
    writer: asyncio.StreamWriter
    task: asyncio.Task
    sock: Any  # asyncio's wrapper of the socket.socket
    busy: bool = False  # between a complete request and the end of its response
    requests: int = 0


class HttpServer(Service):
    """An HTTP/1.1 server with an event feed, running in its own thread; see `http_server()`."""

    kind = "http server"
    scheme = "http"

    def __init__(self, name: str, interval: float | None, options: dict[str, Any]) -> None:
        super().__init__(name)
        options = {**DEFAULT_OPTIONS, **options}
        self.interval = interval
        self.max_body: int = options["max_body"]
        self.idle_timeout: float = options["idle_timeout"]
        self.request_timeout: float = options["request_timeout"]
        self._bind = (options["host"], options["port"])
        self._events: deque[dict[str, Any]] = deque(maxlen=int(options["history"]))
        self._last_seq = self._requests_total = self._connections_total = self._waiting = 0
        self._connections: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()  # set, then replaced, on every new event
        self._closing = False
        self._server: asyncio.Server | None = None
        self._timer: asyncio.Task | None = None
        self._routes: dict[str, dict[str, _Handler]] = {
            "/": {"GET": self._get_root},
            "/echo": {"GET": self._get_echo, "POST": self._post_echo},
            "/events": {"GET": self._get_events, "POST": self._post_events},
            "/events/wait": {"GET": self._wait_events},
        }

    # --- public API ------------------------------------------------------------------------

    @property
    def requests_total(self) -> int:
        """Requests answered since start, error answers included."""
        return self._requests_total

    @property
    def connections_total(self) -> int:
        """TCP connections accepted since start."""
        return self._connections_total

    @property
    def open_connections(self) -> int:
        """TCP connections open right now."""
        return len(self._connections)

    @property
    def waiting(self) -> int:
        """Long polls (GET /events/wait) parked right now, waiting for an event."""
        return self._waiting

    @property
    def last_seq(self) -> int:
        """Sequence number of the latest event (0 before the first)."""
        return self._last_seq

    def publish(self, data: Any) -> int:
        """Publish ``{"type": "message", "seq": n, "data": data}`` from any thread; return n."""
        data = json.loads(json.dumps(data))  # a snapshot; TypeError here if not JSON-able
        if not self.running:
            raise RuntimeError(f"{self.kind} {self.name!r} is stopped")
        return self._loop.run(self._publish_async("message", data=data), timeout=CALL_TIMEOUT)

    def tcp_nodelay(self) -> dict[str, bool]:
        """TCP_NODELAY on the server side of each open connection, by client ``host:port``."""
        if not self.running:
            return {}
        return self._loop.run(self._read_nodelay(), timeout=CALL_TIMEOUT)

    # --- lifecycle -------------------------------------------------------------------------

    async def _start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, *self._bind, limit=MAX_HEAD)
        if self.interval is not None:
            self._timer = asyncio.create_task(self._tick(), name=f"{self.name}-timer")
        return self._server.sockets[0].getsockname()[:2]

    async def _stop(self) -> None:
        """Stop the timer and accepting; answer or close every connection; wait for them all."""
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        self._server.close()  # stop accepting
        self._changed.set()  # parked long polls wake up and answer with what there is
        for conn in list(self._connections.values()):
            if not conn.busy:  # idle, or half a request: nothing worth finishing
                conn.writer.close()
        tasks = [conn.task for conn in self._connections.values()]
        if tasks:  # busy ones finish their response (with Connection: close), then close
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._server.wait_closed()

    # --- events ----------------------------------------------------------------------------

    def _publish(self, kind: str, **fields: Any) -> int:
        """Append an event and wake every long poll. Runs on the loop thread only."""
        self._last_seq += 1
        self._events.append({"type": kind, "seq": self._last_seq, **fields})
        self._changed.set()
        self._changed = asyncio.Event()  # whoever waits from now on waits for the next one
        return self._last_seq

    async def _publish_async(self, kind: str, **fields: Any) -> int:
        return self._publish(kind, **fields)

    async def _tick(self) -> None:
        """Something happens on the server every `interval` seconds: that's what pollers chase."""
        while True:
            await asyncio.sleep(self.interval)
            self._publish("tick", source="timer")

    def _events_after(self, since: int) -> list[dict[str, Any]]:
        return [event for event in self._events if event["seq"] > since]

    async def _read_nodelay(self) -> dict[str, bool]:
        option = (socket.IPPROTO_TCP, socket.TCP_NODELAY)
        return {c.peer: bool(c.sock.getsockopt(*option)) for c in self._connections.values()}

    # --- one connection --------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One TCP connection: read a request, answer it, repeat while both sides agree."""
        host, port = (writer.get_extra_info("peername") or ("?", 0))[:2]
        sock = writer.get_extra_info("socket")
        conn = _Connection(next(self._ids), f"{host}:{port}", writer, asyncio.current_task(), sock)
        self._connections_total += 1
        self._connections[conn.number] = conn
        self._log.info(f"connection {conn.number} open from {conn.peer}")
        why = "cancelled"
        try:
            # Nagle's algorithm holds back a small segment until the previous one is ACKed, and
            # the client delays its ACK by up to 40 ms: with Nagle on, keep-alive requests take
            # ~44 ms here instead of ~0.2 ms. asyncio already turns it off on its transports
            # (stdlib http.server does not); we say so explicitly because it matters. Each
            # response is also one write(), so a head never waits for an ACK before its body.
            no_delay(writer)
            why = await self._serve_requests(conn, reader)
        except ConnectionError as exc:  # reset or broken pipe: the client went away
            why = f"{type(exc).__name__}"
        except Exception as exc:  # noqa: BLE001 -- a bug here: log it, keep serving the rest
            why = "internal error"
            self._log.error(
                f"connection {conn.number}: {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exception(exc)).rstrip()
            )
        finally:
            del self._connections[conn.number]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._log.info(
                f"connection {conn.number} closed: {why} "
                f"({conn.requests} request{'s' * (conn.requests != 1)})"
            )

    async def _serve_requests(self, conn: _Connection, reader: asyncio.StreamReader) -> str:
        """The keep-alive loop; returns why the connection ends."""
        while not self._closing:
            try:
                request = await self._read_request(reader)
            except _Closed as closed:
                return str(closed)
            except HttpError as error:  # the stream is out of step: answer, then close
                await self._send(conn, error.response, "close")
                await self._linger(reader, conn.writer)
                return f"answered {error.response.status}"
            conn.busy = True
            response = await self._dispatch(request)
            keep = request.wants_keep_alive() and not response.close and not self._closing
            connection = None if keep else "close"
            if keep and request.version == "HTTP/1.0":
                connection = "keep-alive"  # a 1.0 client assumes close unless told otherwise
            await self._send(conn, response, connection)
            conn.busy = False
            if not keep:
                await self._linger(reader, conn.writer)
                return "Connection: close"
        return "server stopping"

    async def _read_request(self, reader: asyncio.StreamReader) -> Request:
        """Read one request: raise _Closed if the client is done, HttpError if it is wrong."""
        try:  # an idle keep-alive connection may wait a while for its next request...
            async with asyncio.timeout(self.idle_timeout):
                first = await reader.readexactly(1)
        except TimeoutError:
            raise _Closed(f"idle for {self.idle_timeout:g} s") from None
        except asyncio.IncompleteReadError:
            raise _Closed("closed by client") from None
        try:  # ...but once a request has started, all of it must arrive soon
            async with asyncio.timeout(self.request_timeout):
                head = first + await reader.readuntil(b"\r\n\r\n")  # at most MAX_HEAD bytes
                request = parse_head(head)
                request.body = await reader.readexactly(self._body_length(request))
                return request
        except asyncio.LimitOverrunError:
            raise HttpError(431, f"request head over {MAX_HEAD} bytes", close=True) from None
        except asyncio.IncompleteReadError:
            raise _Closed("closed by client mid-request") from None
        except TimeoutError:
            raise HttpError(408, "request incomplete after timeout", close=True) from None

    def _body_length(self, request: Request) -> int:
        # With no trustworthy length we cannot tell where the next request starts: close.
        if "transfer-encoding" in request.headers:
            raise HttpError(501, "Transfer-Encoding not supported; send Content-Length", True)
        value = request.headers.get("content-length", "0")
        if not value.isascii() or not value.isdigit():
            raise HttpError(400, "bad Content-Length", close=True)
        if int(value) > self.max_body:
            raise HttpError(413, f"body over {self.max_body} bytes", close=True)
        return int(value)

    async def _send(self, conn: _Connection, response: Response, connection: str | None) -> None:
        self._requests_total += 1
        conn.requests += 1
        if response.status >= 400:
            self._log.info(
                f"connection {conn.number}: {response.status} "
                f"{response.body.decode(errors='replace')}"
            )
        conn.writer.write(response.encode(connection))
        await conn.writer.drain()

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close, then discard what the client still sends, before closing for real.

        Closing a socket with unread bytes in its receive buffer makes the kernel send RST
        instead of FIN, and a RST can destroy our answer before the client reads it (a 413 sent
        while the client is still uploading). So we send FIN first and drain until the client
        closes too, or LINGER seconds pass.
        """
        if self._closing:
            return
        with contextlib.suppress(Exception):
            writer.write_eof()
            async with asyncio.timeout(LINGER):
                while await reader.read(65536):
                    pass

    # --- endpoints -------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> Response:
        methods = self._routes.get(request.path)
        try:
            if methods is None:
                raise HttpError(404, f"no such path: {request.path}")
            if request.method not in methods:
                allow = ", ".join(methods)
                raise HttpError(405, f"{request.method} not allowed", headers=[("Allow", allow)])
            return await methods[request.method](request)
        except HttpError as error:
            return error.response
        except Exception as exc:  # noqa: BLE001 -- a bug in an endpoint is a 500, not a crash
            self._log.error(
                f"{request.method} {request.target}: {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exception(exc)).rstrip()
            )
            return _text(500, "internal server error")

    async def _get_root(self, request: Request) -> Response:
        return _text(200, "Hello from wslab's HTTP server.\n")

    async def _get_echo(self, request: Request) -> Response:
        return _text(200, request.query.get("msg", ""))

    async def _post_echo(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "application/octet-stream")
        return Response(200, request.body, content_type)

    async def _post_events(self, request: Request) -> Response:
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8, or [[[[... too deep
            raise HttpError(400, "body is not JSON") from None
        return _json(201, {"seq": self._publish("message", data=data)})

    async def _get_events(self, request: Request) -> Response:
        """Short poll: whatever is new, right now, even if that is nothing."""
        since = _number(request, "since", int, 0)
        return _json(200, {"events": self._events_after(since), "last": self._last_seq})

    async def _wait_events(self, request: Request) -> Response:
        """Long poll: answer as soon as there is something new, or with nothing at `timeout`."""
        since = _number(request, "since", int, 0)
        timeout = min(_number(request, "timeout", float, LONG_POLL_DEFAULT), LONG_POLL_MAX)
        self._waiting += 1
        try:
            async with asyncio.timeout(timeout):
                while not self._events_after(since) and not self._closing:
                    await self._changed.wait()  # no await between check and wait: no race
        except TimeoutError:
            pass
        finally:
            self._waiting -= 1
        return _json(200, {"events": self._events_after(since), "last": self._last_seq})


def _number(request: Request, name: str, kind: type, default: float) -> Any:
    value = request.query.get(name)
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise HttpError(400, f"{name} must be a number") from None
    if kind is float and not (math.isfinite(number) and number >= 0):
        raise HttpError(400, f"{name} must be a number >= 0")
    return number


def http_server(name: str = "http", interval: float | None = 0.5, **options: Any) -> HttpServer:
    """Serve HTTP on ``http://127.0.0.1:<free port>/`` from a background thread.

    Endpoints: ``GET /``; ``GET /echo?msg=...`` and ``POST /echo``; the event feed
    ``GET /events?since=N`` (short poll), ``GET /events/wait?since=N&timeout=S`` (long poll)
    and ``POST /events`` (publish a JSON body). A timer publishes a tick every `interval`
    seconds; ``interval=None`` turns it off so that only `publish()` and POSTs make events.
    Options: ``max_body``, ``history``, ``host``, ``port``, ``idle_timeout``,
    ``request_timeout`` (defaults in `DEFAULT_OPTIONS`). A server already running under `name`
    is stopped first, so re-running a cell is safe.

    Warning: ``host="0.0.0.0"`` (or any address but loopback) makes the server reachable from
    other machines, so that anyone on the network can read and publish events. The default,
    127.0.0.1, keeps it inside this computer; change it only if you mean it.
    """
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; known: {sorted(DEFAULT_OPTIONS)}")
    if interval is not None and not interval > 0:
        raise ValueError("interval must be > 0 seconds, or None for no timer")
    settings = {**DEFAULT_OPTIONS, **options}
    for key in ("max_body", "history", "idle_timeout", "request_timeout"):
        if not settings[key] > 0:
            raise ValueError(f"{key} must be > 0, got {settings[key]!r}")
    return HttpServer(name, interval, options).start()
