"""ex10: a WebSocket echo server on plain asyncio streams, graded by real clients (RFC 6455).

The submission's ``serve("127.0.0.1", 0)`` runs on its own event loop in a background thread.
The clients are websockets' asyncio and sync clients, the independent `websocket-client`
package, and a bare socket that sends exactly the bytes a test chooses (legal frames encoded
by `wslab.protocol`, the course's reference codec, and illegal ones forged by hand) and reads
the answer with `wslab.protocol.FrameParser`. Whatever the server's connection handler
raises is recorded, so a failing test shows the server's own error next to what the client
saw (a stub's NotImplementedError first of all).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import NoReturn

import pytest
import websocket  # the websocket-client package: an implementation independent of websockets
from grading_support import describe_error
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect as sync_connect

from wslab import protocol
from wslab.protocol import Frame, Opcode

pytestmark = pytest.mark.exercise("ex10_server_from_scratch")

TIMEOUT = 5.0  # seconds, for every network wait
LIMIT = 16 * 2**20  # the largest message the instructions ask the server to accept


# --- The submission's server, in a thread -----------------------------------------------------


class SubmissionServer:
    """The submission's `serve()` on its own event loop in a daemon thread.

    The loop's exception handler records what connection handlers raise: asyncio reports an
    exception escaping a `start_server` callback there, just before closing its transport.
    """

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._record)
        self._errors: list[BaseException | str] = []
        self._stopping = False
        self.server: asyncio.Server | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, name="ex10-server")
        self.thread.daemon = True
        self.thread.start()
        try:
            server = self._run(module.serve("127.0.0.1", 0), "serve('127.0.0.1', 0)")
            if not isinstance(server, asyncio.Server) or not server.sockets:
                pytest.fail(
                    f"serve() must return a listening asyncio.Server, not {server!r}",
                    pytrace=False,
                )
            self.server = server
        except BaseException:
            self.stop()
            raise
        self.port: int = server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/"

    def _run(self, coroutine, what: str):
        """Run `coroutine` on the server's loop and return its result, within TIMEOUT."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(TIMEOUT)
        except TimeoutError:
            future.cancel()
            pytest.fail(f"{what} did not finish within {TIMEOUT:g} s", pytrace=False)

    def _record(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if not self._stopping:
            self._errors.append(context.get("exception") or context.get("message", "?"))

    def errors(self) -> list[str]:
        """What the server's connection handlers raised so far, one line each."""
        # A handler's failure is reported by a callback already queued on the loop when the
        # client sees the connection close; a round trip through the loop lets it run.
        if self.thread.is_alive():
            with contextlib.suppress(Exception):
                self._run(asyncio.sleep(0), "the server's loop")
        return [describe_error(error, self.module) for error in list(self._errors)]

    def fail(self, message: str) -> NoReturn:
        """Fail the test with `message`, after the server's own error if it raised one."""
        errors = self.errors()
        if errors:
            message = f"the server raised {errors[0]}; {message}"
        pytest.fail(message, pytrace=False)

    def stop(self) -> None:
        """Stop listening, end every connection handler, stop the loop and its thread."""
        if self.loop.is_closed():
            return
        self._stopping = True

        async def shutdown() -> None:
            if self.server is not None:
                self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=TIMEOUT)
            for _ in range(3):  # let closed transports run their connection_lost callbacks
                await asyncio.sleep(0)

        with contextlib.suppress(BaseException):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(2 * TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()


@pytest.fixture
def server(submission: ModuleType):
    running = SubmissionServer(submission)
    try:
        yield running
    finally:
        running.stop()


def explain(exc: BaseException) -> str:
    """A client's exception in one line, with its cause (websockets wraps EOFError, …)."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT:g} s"
    text = f"{type(exc).__name__}: {exc}"
    if exc.__cause__ is not None:
        text += f" ({type(exc.__cause__).__name__}: {exc.__cause__})"
    return text


def describe(message: str | bytes) -> str:
    """A message as a learner wants to read it in a verdict: short ones in full."""
    kind = "text" if isinstance(message, str) else "binary"
    if len(message) <= 20:
        return f"{kind} {message!r}"
    return f"{kind} of {len(message)} {'characters' if kind == 'text' else 'bytes'}"


# --- A client on a bare socket ----------------------------------------------------------------


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, **bits: bool) -> bytes:
    """A client frame encoded by the reference codec, masked as clients must (§5.3)."""
    return protocol.encode_frame(Frame(opcode, payload, fin, mask_key=os.urandom(4), **bits))


def forged(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    masked: bool = True,
    length: int | None = None,
) -> bytes:
    """A frame built by hand, for what the reference codec refuses to encode.

    `length` announces a payload length different from the payload sent: a header announcing
    16 MiB followed by nothing at all.
    """
    length = len(payload) if length is None else length
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if masked else 0
    if length <= 125:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return header + payload
    key = os.urandom(4)
    return header + key + protocol.apply_mask(payload, key)


def close_payload(code: int, reason: bytes = b"") -> bytes:
    """A Close payload with any code at all, even those that may not be sent (§5.5.1)."""
    return struct.pack("!H", code) + reason


class RawClient:
    """A client on a bare socket: it sends the bytes it is given and reads frames back."""

    def __init__(self, server: SubmissionServer) -> None:
        self.server = server
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        # Server frames are never masked; the strict parser fails on any broken rule.
        self.parser = protocol.FrameParser(expect_masked=False)
        self.pending: list[Frame] = []
        self.unparsed = b""  # bytes read while looking for the end of an HTTP head

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv(self, what: str) -> bytes:
        """The next bytes from the server; b"" once it has closed the connection."""
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            self.server.fail(f"{what}: nothing came back within {TIMEOUT:g} s")
        except ConnectionResetError:
            return b""

    def read_head(self, what: str) -> bytes | None:
        """An HTTP head from the server, or None if it closed the connection before one."""
        while (end := protocol.find_head_end(self.unparsed)) is None:
            data = self._recv(what)
            if not data:
                return None
            self.unparsed += data
        head, self.unparsed = self.unparsed[:end], self.unparsed[end:]
        return head

    def handshake(
        self,
        request: bytes | None = None,
        key: str | None = None,
        what: str = "the opening handshake",
        why: str = "",
    ) -> None:
        """Open the connection with `request` (a plain one by default), checking the 101.

        `why` says why the request must be accepted, for a server that refuses it.
        """
        if request is None:
            key = protocol.generate_key()
            request = protocol.build_request(f"127.0.0.1:{self.server.port}", "/", key)
        self.send(request)
        head = self.read_head(what)
        should = f"{what} must get 101 Switching Protocols" + (f" ({why})" if why else "")
        if head is None:
            self.server.fail(f"{should}; the server closed the connection without answering")
        try:
            response = protocol.parse_response(head)
        except protocol.HandshakeError as error:
            self.server.fail(f"{should}; the answer is not HTTP: {error.message}")
        if response.status != 101:
            body = self.read_rest(what).decode("utf-8", "replace").strip()
            said = f": {body[:120]!r}" if body else ""
            self.server.fail(
                f"{should}; the server answered {response.status} {response.reason}{said}"
            )
        try:
            # Every extension the server accepts is one we did not offer, for this check.
            protocol.check_response(response, key, extensions=())
        except protocol.HandshakeError as error:
            self.server.fail(f"{what}: the 101 is wrong (§4.2.2): {error.message}")
        # What came with the head belongs to the frames.
        rest, self.unparsed = self.unparsed, b""
        self.pending.extend(self.parser.feed(rest))

    def read_rest(self, what: str) -> bytes:
        """Everything the server sends until it closes the connection (within TIMEOUT)."""
        rest, self.unparsed = self.unparsed, b""
        while data := self._recv(what):
            rest += data
        return rest

    def recv_frame(self, what: str) -> Frame | None:
        """The next frame from the server, or None if it closed the connection instead."""
        while not self.pending:
            data = self._recv(what)
            if not data:
                return None
            try:
                self.pending.extend(self.parser.feed(data))
            except protocol.ProtocolError as error:
                self.server.fail(f"{what}: the server sent an invalid frame: {error.message}")
        return self.pending.pop(0)

    def expect_frame(self, what: str, opcode: Opcode, payload: bytes) -> None:
        """The next frame must be exactly this single frame (a PONG, for instance)."""
        got = self.recv_frame(what)
        wanted = Frame(opcode, payload)
        if got is None:
            self.server.fail(f"{what}: expected {wanted}, the server closed the connection")
        if got.opcode != opcode or got.payload != payload:
            self.server.fail(f"{what}: expected {wanted}, got {got}")

    def expect_message(self, what: str, opcode: Opcode, payload: bytes) -> None:
        """The next message (in one frame or several) must be this one."""
        fragments = []
        while True:
            got = self.recv_frame(what)
            if got is None:
                self.server.fail(f"{what}: expected an echo, the server closed the connection")
            if got.opcode not in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                self.server.fail(f"{what}: expected an echo, got {got}")
            fragments.append(got)
            if got.fin:
                break
        echo = Frame(fragments[0].opcode, b"".join(f.payload for f in fragments))
        if echo.opcode != opcode or echo.payload != payload:
            self.server.fail(f"{what}: expected the echo {Frame(opcode, payload)}, got {echo}")

    def expect_close(self, what: str, codes: tuple[int | None, ...]) -> None:
        """The next frame must be a CLOSE with one of `codes` (None: no code), then EOF."""
        wanted = " or ".join("no code" if code is None else str(code) for code in codes)
        got = self.recv_frame(what)
        if got is None:
            self.server.fail(
                f"{what}: expected a CLOSE frame with code {wanted}, "
                "the server closed the connection without one"
            )
        if got.opcode != Opcode.CLOSE:
            self.server.fail(f"{what}: expected a CLOSE frame with code {wanted}, got {got}")
        code = struct.unpack("!H", got.payload[:2])[0] if len(got.payload) >= 2 else None
        if code not in codes:
            self.server.fail(f"{what}: expected a CLOSE frame with code {wanted}, got {got}")
        self.expect_eof(f"{what}, after its CLOSE", "the server closes the TCP connection (§7.1.1)")

    def expect_eof(self, what: str, rule: str) -> None:
        """The server must close the TCP connection now, sending nothing more."""
        if self.pending:  # a frame that came in the same read as the last one
            self.server.fail(f"{what}: {rule}, but it sent {self.pending[0]}")
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            self.server.fail(f"{what}: {rule}, but it was still open after {TIMEOUT:g} s")
        except ConnectionResetError:
            return
        if data:
            self.server.fail(f"{what}: {rule}, but it sent {data[:40]!r}")


# --- Echo, with real clients -----------------------------------------------------------------


SIZES = (125, 126, 65535, 65536, 2**20)  # around each length encoding (§5.2), up to 1 MiB


@pytest.mark.points(1)
def test_echo_websockets_asyncio_client(server):
    """websockets' asyncio client gets every message back, compression off or offered (§5.6)."""
    messages = ["Hello, world!", "café ☕ 🎉", "", b"", b"\x00\xff\x80 binary"]
    messages += ["t" * size for size in SIZES] + [os.urandom(size) for size in SIZES]

    async def echo_all(compression: str | None) -> None:
        client = f"websockets' asyncio client (compression={compression!r})"
        step = "the opening handshake"
        try:
            async with async_connect(
                server.url,
                proxy=None,
                compression=compression,
                max_size=None,
                open_timeout=TIMEOUT,
                close_timeout=TIMEOUT,
                ping_interval=None,
            ) as ws:
                extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
                if extensions is not None:
                    server.fail(f"{client}: no extension may be accepted, got {extensions!r}")
                for message in messages:
                    step = f"the echo of {describe(message)}"
                    await ws.send(message)
                    async with asyncio.timeout(TIMEOUT):
                        answer = await ws.recv()
                    if answer != message:
                        server.fail(f"{client}: sent {describe(message)}, got {describe(answer)}")
                for fragments, whole in (
                    (["frag", "mented"], "fragmented"),
                    ([b"ab", b"cd"], b"abcd"),
                ):
                    step = f"the echo of {describe(whole)} sent in fragments"
                    await ws.send(fragments)
                    async with asyncio.timeout(TIMEOUT):
                        answer = await ws.recv()
                    if answer != whole:
                        server.fail(f"{client}: sent {describe(whole)}, got {describe(answer)}")
                step = "a ping"
                async with asyncio.timeout(TIMEOUT):
                    await (await ws.ping(b"ping!"))
                step = "the closing handshake"
            if ws.close_code != 1000:
                server.fail(f"{client}: closed with 1000, the server answered {ws.close_code}")
        except Exception as exc:
            server.fail(f"{client}, {step}: {explain(exc)}")

    async def both() -> None:
        await asyncio.gather(echo_all(None), echo_all("deflate"))

    asyncio.run(both())


@pytest.mark.points(1)
def test_echo_other_clients(server):
    """websockets' sync client and the websocket-client package get echoes and pongs."""
    client, step = "websockets' sync client", "the opening handshake"
    try:
        with sync_connect(
            server.url, proxy=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT
        ) as ws:
            for message in ("from the sync client", b"\x01\x02\x03"):
                step = f"the echo of {describe(message)}"
                ws.send(message)
                answer = ws.recv(timeout=TIMEOUT)
                if answer != message:
                    server.fail(f"{client}: sent {describe(message)}, got {describe(answer)}")
            step = "a ping"
            if not ws.ping(b"heartbeat").wait(TIMEOUT):
                server.fail(f"{client}: no PONG within {TIMEOUT:g} s of a PING (§5.5.2)")
            step = "the closing handshake"
    except Exception as exc:
        server.fail(f"{client}, {step}: {explain(exc)}")

    client, step = "websocket-client", "the opening handshake"
    try:
        ws = websocket.create_connection(server.url, timeout=TIMEOUT)
        try:
            step = "a text echo"
            ws.send("from websocket-client")
            if (answer := ws.recv()) != "from websocket-client":
                server.fail(f"{client}: sent 'from websocket-client', got {answer!r}")
            step = "a binary echo"
            ws.send_binary(b"\x00bin")
            if (answer := ws.recv()) != b"\x00bin":
                server.fail(f"{client}: sent b'\\x00bin', got {answer!r}")
            step = "a ping"
            ws.ping(b"are you there?")
            opcode, data = ws.recv_data(control_frame=True)
            if opcode != websocket.ABNF.OPCODE_PONG or data != b"are you there?":
                server.fail(f"{client}: expected PONG b'are you there?', got {opcode} {data!r}")
            step = "the closing handshake"
            ws.close(timeout=TIMEOUT)
        finally:
            ws.shutdown()
    except Exception as exc:
        server.fail(f"{client}, {step}: {explain(exc)}")


# --- The opening handshake --------------------------------------------------------------------


CHROMIUM = (
    "GET / HTTP/1.1\r\n"
    "Host: 127.0.0.1:{port}\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: {key}\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n"
)
FIREFOX = (
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: 127.0.0.1:{port}\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n"
    "Accept: */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Origin: http://localhost\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    "Sec-WebSocket-Key: {key}\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-Fetch-Dest: empty\r\n"
    "Sec-Fetch-Mode: websocket\r\n"
    "Sec-Fetch-Site: cross-site\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "Upgrade: websocket\r\n"
    "\r\n"
)


def upgrade(
    server: SubmissionServer,
    key: str,
    *,
    first: str = "GET / HTTP/1.1",
    replace: dict[str, str | None] | None = None,
    add: tuple[str, ...] = (),
) -> bytes:
    """A valid opening request, wrong only where a test says so.

    `replace` maps a header's name to the whole line that replaces it (None: leave it out);
    the lines in `add` come after the five a handshake needs.
    """
    lines: dict[str, str | None] = {
        "Host": f"Host: 127.0.0.1:{server.port}",
        "Upgrade": "Upgrade: websocket",
        "Connection": "Connection: Upgrade",
        "Sec-WebSocket-Key": f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version": "Sec-WebSocket-Version: 13",
    }
    lines.update(replace or {})
    kept = [line for line in lines.values() if line is not None]
    return ("\r\n".join([first, *kept, *add]) + "\r\n\r\n").encode("latin-1")


def spelled(server: SubmissionServer, key: str, spell: str) -> dict[str, str | None]:
    """The five lines of `upgrade` with their names spelled by `spell` ("lower", "upper")."""
    values = {
        "Host": f"127.0.0.1:{server.port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
    }
    return {name: f"{getattr(name, spell)()}: {value}" for name, value in values.items()}


@pytest.mark.points(1)
def test_handshake_any_spelling(server):
    """Browsers' requests, header names and tokens in any case, repeated headers: 101 (§4.2.1)."""
    names = "header names are case-insensitive, RFC 9110 §5.1"
    tokens = "the Upgrade and Connection headers hold case-insensitive tokens, §4.2.1"

    def browser(template: str) -> Callable[[str], bytes]:
        return lambda key: template.format(port=server.port, key=key).encode()

    def changed(**options: object) -> Callable[[str], bytes]:
        return lambda key: upgrade(server, key, **options)

    def in_case(spell: str) -> Callable[[str], bytes]:
        return lambda key: upgrade(server, key, replace=spelled(server, key, spell))

    cases = [  # what, the request for a key, why it must be accepted
        ("Chromium's handshake", browser(CHROMIUM), ""),
        ("Firefox's handshake (Connection: keep-alive, Upgrade)", browser(FIREFOX), ""),
        ("a handshake with every header name in lower case", in_case("lower"), names),
        ("a handshake with every header name in upper case", in_case("upper"), names),
        (
            "a handshake with 'Upgrade: WebSocket'",
            changed(replace={"Upgrade": "Upgrade: WebSocket"}),
            tokens,
        ),
        (
            "a handshake with 'Connection: keep-alive,UPGRADE'",
            changed(replace={"Connection": "Connection: keep-alive,UPGRADE"}),
            tokens,
        ),
        (
            "a handshake with 'Connection: keep-alive' and 'Connection: upgrade' on two lines",
            changed(replace={"Connection": "Connection: keep-alive"}, add=("Connection: upgrade",)),
            "a header repeated is one comma-separated list, RFC 9110 §5.3",
        ),
        (
            "a handshake with 'Upgrade:websocket' (no space) and 'Connection: Upgrade \\t'",
            changed(
                replace={"Upgrade": "Upgrade:websocket", "Connection": "Connection: Upgrade \t"}
            ),
            "spaces and tabs around a header value are not part of it, RFC 9110 §5.5",
        ),
    ]
    for what, build, why in cases:
        key = protocol.generate_key()
        with RawClient(server) as client:
            client.handshake(build(key), key, what, why)
            client.send(frame(Opcode.TEXT, b"hello"))
            client.expect_message(f"{what}, then TEXT 'hello'", Opcode.TEXT, b"hello")


def refusal(server: SubmissionServer, request: bytes, what: str) -> tuple[int, str, str] | None:
    """Send a bad request; return the status, the head and the body of the answer.

    None if the server closed the connection without answering. The server must close the
    connection after a refusal (it said ``Connection: close``); an acceptance is returned at
    once, with an empty body.
    """
    with RawClient(server) as client:
        with contextlib.suppress(OSError):  # a server may hang up before reading it all
            client.send(request)
        head = client.read_head(what)
        if head is None:
            return None
        try:
            response = protocol.parse_response(head)
        except protocol.HandshakeError as error:
            server.fail(f"{what}: the answer is not HTTP: {error.message}")
        if response.status == 101:
            return 101, head.decode("latin-1"), ""
        body = client.read_rest(f"{what}, the body of the {response.status} answer")
    return response.status, head.decode("latin-1"), body.decode("utf-8", "replace").strip()


def expect_refusal(
    server: SubmissionServer,
    what: str,
    request: bytes,
    statuses: tuple[int, ...],
    why: str,
    header: str = "",
) -> None:
    """`request` must get one of `statuses` (and carry `header`, lower-cased), then a close."""
    wanted = " or ".join(str(status) for status in statuses)
    answer = refusal(server, request, what)
    if answer is None:
        server.fail(
            f"{what} must be refused with HTTP {wanted} ({why}); the server closed "
            "the connection without answering"
        )
    status, head, body = answer
    if status == 101:
        server.fail(
            f"{what} must be refused with HTTP {wanted} ({why}); the server accepted "
            "it with 101 Switching Protocols"
        )
    if status not in statuses:
        said = f": {body[:80]!r}" if body else ""
        server.fail(
            f"{what} must be refused with HTTP {wanted} ({why}); the server answered "
            f"{head.splitlines()[0]!r}{said}"
        )
    if header and header not in head.lower():
        server.fail(
            f"{what}: the {status} answer must carry the header {header!r}, to tell "
            "the client what it should ask for"
        )


@pytest.mark.points(1)
def test_refuses_what_is_not_a_websocket_upgrade(server):
    """No Upgrade: websocket gets 426 with Upgrade: websocket; another version 426 with 13."""
    key = protocol.generate_key()
    not_asked = "the client did not ask for a WebSocket"
    upgrade_header, version_header = "upgrade: websocket", "sec-websocket-version: 13"
    host = f"127.0.0.1:{server.port}"
    cases = [  # what, request, the statuses allowed, why, a header the answer must have
        (
            "a plain GET",
            f"GET / HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n\r\n".encode(),
            (426,),
            not_asked,
            upgrade_header,
        ),
        (
            "a handshake without Upgrade",
            upgrade(server, key, replace={"Upgrade": None}),
            (426,),
            not_asked,
            upgrade_header,
        ),
        (
            "a handshake with 'Upgrade: h2c'",
            upgrade(server, key, replace={"Upgrade": "Upgrade: h2c"}),
            (426,),
            "that is HTTP/2, not WebSocket",
            upgrade_header,
        ),
        (
            "a handshake with 'Upgrade: websockets'",
            upgrade(server, key, replace={"Upgrade": "Upgrade: websockets"}),
            (426,),
            "the token is websocket, and 'websockets' is another token, not a match",
            upgrade_header,
        ),
        (
            "a handshake with 'Sec-WebSocket-Version: 8'",
            upgrade(server, key, replace={"Sec-WebSocket-Version": "Sec-WebSocket-Version: 8"}),
            (426,),
            "only version 13 is spoken, §4.2.2",
            version_header,
        ),
    ]
    for what, request, statuses, why, header in cases:
        expect_refusal(server, what, request, statuses, why, header)
    what = "a handshake without Sec-WebSocket-Version"
    request = upgrade(server, key, replace={"Sec-WebSocket-Version": None})
    expect_refusal(server, what, request, (400, 426), "the version is required, §4.2.1")
    answer = refusal(server, request, what)
    if answer is not None and answer[0] == 426 and version_header not in answer[1].lower():
        server.fail(f"{what}: the 426 answer must carry the header {version_header!r}")


@pytest.mark.points(1)
def test_refuses_a_malformed_request(server):
    """A request wrong in one way (method, version, Host, Connection, key, syntax) gets 400."""
    key = protocol.generate_key()

    def key_of(size: int) -> dict[str, str | None]:
        return {"Sec-WebSocket-Key": f"Sec-WebSocket-Key: {base64.b64encode(bytes(size)).decode()}"}

    no_upgrade_token = "Connection must list the token Upgrade, §4.2.1"
    sixteen = "the key is 16 random bytes in base64, §4.1"
    token = "a header name is a token, with no spaces, RFC 9110 §5.1 and RFC 9112 §5.1"
    cases = [  # what, request, the statuses allowed, why
        (
            "a handshake with POST",
            upgrade(server, key, first="POST / HTTP/1.1"),
            (400, 405),
            "a WebSocket handshake is a GET, §4.1",
        ),
        (
            "a handshake in HTTP/1.0",
            upgrade(server, key, first="GET / HTTP/1.0"),
            (400, 505),
            "a WebSocket handshake needs HTTP/1.1, §4.1",
        ),
        (
            "a handshake without Host",
            upgrade(server, key, replace={"Host": None}),
            (400,),
            "Host is required, §4.2.1 and RFC 9112 §3.2",
        ),
        (
            "a handshake without Connection",
            upgrade(server, key, replace={"Connection": None}),
            (400, 426),
            no_upgrade_token,
        ),
        (
            "a handshake with 'Connection: keep-alive'",
            upgrade(server, key, replace={"Connection": "Connection: keep-alive"}),
            (400, 426),
            no_upgrade_token,
        ),
        (
            "a handshake with 'Connection: keep-alive, x-upgrade'",
            upgrade(server, key, replace={"Connection": "Connection: keep-alive, x-upgrade"}),
            (400, 426),
            no_upgrade_token + ", and x-upgrade is another token",
        ),
        (
            "a handshake without Sec-WebSocket-Key",
            upgrade(server, key, replace={"Sec-WebSocket-Key": None}),
            (400,),
            "the key is required, §4.2.1",
        ),
        (
            "a handshake with 'Sec-WebSocket-Key: *!*'",
            upgrade(server, key, replace={"Sec-WebSocket-Key": "Sec-WebSocket-Key: *!*"}),
            (400,),
            "that is not base64, §4.1",
        ),
        (
            "a handshake whose key is 15 bytes in base64",
            upgrade(server, key, replace=key_of(15)),
            (400,),
            sixteen,
        ),
        (
            "a handshake whose key is 17 bytes in base64 (24 characters too)",
            upgrade(server, key, replace=key_of(17)),
            (400,),
            sixteen,
        ),
        (
            "a handshake with a header line 'NoColonHere'",
            upgrade(server, key, add=("NoColonHere",)),
            (400,),
            "a header line is name: value, RFC 9112 §5",
        ),
        (
            "a handshake with a header 'Bad Name: x'",
            upgrade(server, key, add=("Bad Name: x",)),
            (400,),
            token,
        ),
        (
            "a handshake with a header 'X-Custom : x' (a space before the colon)",
            upgrade(server, key, add=("X-Custom : x",)),
            (400,),
            token,
        ),
    ]
    for what, request, statuses, why in cases:
        expect_refusal(server, what, request, statuses, why)

    junk = [
        ("garbage", b"\x16\x03\x01\x02\x00 not HTTP at all\r\n\r\n"),
        ("an endless head (100 KiB, no blank line)", b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 17000),
    ]
    for what, request in junk:
        answer = refusal(server, request, what)
        if answer is not None and not 400 <= answer[0] < 500:
            server.fail(f"{what}: expected a 4xx or a closed connection, got {answer[1]!r:.80}")


# --- Frames: fragmentation, control frames, closing -----------------------------------------


@pytest.mark.points(1)
def test_fragments_and_pings(server):
    """Fragments are reassembled and echoed; a ping between them is answered at once (§5.4)."""
    with RawClient(server) as client:
        client.handshake()
        client.send(
            frame(Opcode.TEXT, b"Hel", fin=False)
            + frame(Opcode.PING, b"are you there?")
            + frame(Opcode.CONT, b"lo, ", fin=False)
            + frame(Opcode.CONT, b"world")
        )
        what = "TEXT 'Hel' (fin=0), PING, CONT 'lo, ' (fin=0), CONT 'world'"
        client.expect_frame(f"{what}: the PING is answered at once", Opcode.PONG, b"are you there?")
        client.expect_message(f"{what}: then the message", Opcode.TEXT, b"Hello, world")

        what = "BINARY 00 01 (fin=0), CONT empty (fin=0), CONT 02"
        client.send(
            frame(Opcode.BINARY, b"\x00\x01", fin=False)
            + frame(Opcode.CONT, b"", fin=False)
            + frame(Opcode.CONT, b"\x02")
        )
        client.expect_message(what, Opcode.BINARY, b"\x00\x01\x02")

        what = "'café' with its é split across two fragments"
        client.send(frame(Opcode.TEXT, b"caf\xc3", fin=False) + frame(Opcode.CONT, b"\xa9"))
        client.expect_message(what, Opcode.TEXT, "café".encode())

        what = "an unsolicited PONG, then TEXT 'after the pong' (§5.5.3: no answer to a pong)"
        client.send(frame(Opcode.PONG, b"unsolicited") + frame(Opcode.TEXT, b"after the pong"))
        client.expect_message(what, Opcode.TEXT, b"after the pong")

        for payload in (b"", bytes(range(125))):
            client.send(frame(Opcode.PING, payload))
            what = f"a PING of {len(payload)} bytes"
            client.expect_frame(what, Opcode.PONG, payload)


@pytest.mark.points(1)
def test_closing_handshake(server):
    """A CLOSE gets a CLOSE with the same code back, then the server closes TCP (§5.5.1, §7.1.1)."""
    cases = [  # what, bytes sent after the handshake, the close codes allowed in the answer
        # First, so that a server that reads on after a CLOSE shows it at once (it answers the
        # TEXT) instead of after TIMEOUT of silence, as it would in the cases with nothing after.
        (
            "CLOSE 1000 then TEXT 'too late' (§5.5.1: nothing is sent after a CLOSE)",
            frame(Opcode.CLOSE, close_payload(1000)) + frame(Opcode.TEXT, b"too late"),
            (1000,),
        ),
        ("CLOSE 1000 'bye'", frame(Opcode.CLOSE, close_payload(1000, b"bye")), (1000,)),
        ("CLOSE 1001", frame(Opcode.CLOSE, close_payload(1001)), (1001,)),
        (
            "CLOSE 4321 'app-defined'",
            frame(Opcode.CLOSE, close_payload(4321, b"app-defined")),
            (4321,),
        ),
        ("an empty CLOSE", frame(Opcode.CLOSE), (1000, None)),
    ]
    for what, data, codes in cases:
        with RawClient(server) as client:
            client.handshake()
            client.send(data)
            client.expect_close(what, codes)

    with RawClient(server) as client:
        client.handshake()
        client.send(frame(Opcode.TEXT, b"last words") + frame(Opcode.CLOSE, close_payload(3003)))
        what = "TEXT 'last words' then CLOSE 3003"
        client.expect_message(what, Opcode.TEXT, b"last words")
        client.expect_close(what, (3003,))


# --- Failing the connection -------------------------------------------------------------------


def check_failure(server: SubmissionServer, cases: list[tuple[str, bytes, int]]) -> None:
    """Each case on a new connection: the server answers with a CLOSE of that code, then EOF."""
    for what, data, code in cases:
        with RawClient(server) as client:
            client.handshake()
            client.send(data)
            client.expect_close(what, (code,))


@pytest.mark.points(1)
def test_protocol_errors(server):
    """Frames that break the rules get CLOSE 1002, then the TCP connection closes (§5, §7.4.1)."""
    started = frame(Opcode.TEXT, b"started", fin=False)
    cases = [
        # Four bytes more: a server that reads a mask key anyway has all it reads, and answers
        # at once (an echo, a 1007) instead of waiting TIMEOUT for bytes that never come.
        (
            "an unmasked TEXT frame (§5.1)",
            forged(Opcode.TEXT, b"hello", masked=False) + bytes(4),
            1002,
        ),
        ("a TEXT frame with RSV1 set (§5.2)", frame(Opcode.TEXT, b"hello", rsv1=True), 1002),
        ("a TEXT frame with RSV3 set (§5.2)", frame(Opcode.TEXT, b"hello", rsv3=True), 1002),
        ("a frame with reserved opcode 3 (§5.2)", frame(3, b"data"), 1002),
        ("a frame with reserved opcode 11 (§5.2)", frame(11), 1002),
        ("a PING of 126 bytes (§5.5)", forged(Opcode.PING, bytes(126)), 1002),
        ("a fragmented PING (§5.5)", forged(Opcode.PING, b"ping", fin=False), 1002),
        ("a CONT frame with no message started (§5.4)", frame(Opcode.CONT, b"orphan"), 1002),
        (
            "a new TEXT before the last message ended (§5.4)",
            started + frame(Opcode.TEXT, b"x"),
            1002,
        ),
        ("a CLOSE with a 1-byte payload (§5.5.1)", frame(Opcode.CLOSE, b"\x03"), 1002),
    ]
    cases += [
        (f"a CLOSE with code {code} (§7.4)", frame(Opcode.CLOSE, close_payload(code)), 1002)
        for code in (999, 1004, 1005, 1006, 1015, 2999, 5000)
    ]
    check_failure(server, cases)


@pytest.mark.points(1)
def test_invalid_data(server):
    """Text that is not UTF-8 gets CLOSE 1007, a message over 16 MiB gets 1009 (§8.1, §10.4)."""
    cases = [
        ("TEXT b'\\xff' (§8.1)", frame(Opcode.TEXT, b"\xff"), 1007),
        ("TEXT with a UTF-16 surrogate (§8.1)", frame(Opcode.TEXT, b"\xed\xa0\x80"), 1007),
        ("TEXT with an overlong encoding of '/' (§8.1)", frame(Opcode.TEXT, b"\xc0\xaf"), 1007),
        (
            "TEXT 'caf\\xc3' (fin=0) then CONT '(' (§8.1)",
            frame(Opcode.TEXT, b"caf\xc3", fin=False) + frame(Opcode.CONT, b"("),
            1007,
        ),
        (
            "a text message ending in half a character (§8.1)",
            frame(Opcode.TEXT, b"ok", fin=False) + frame(Opcode.CONT, b"\xe2\x82"),
            1007,
        ),
        (
            "a CLOSE whose reason is not UTF-8 (§5.5.1)",
            frame(Opcode.CLOSE, close_payload(1000, b"\xff")),
            1007,
        ),
        (
            "a TEXT header announcing 16 MiB + 1, no payload yet (§10.4)",
            forged(Opcode.TEXT, length=LIMIT + 1),
            1009,
        ),
        (
            "BINARY 1 KiB (fin=0), then a CONT header bringing it to 16 MiB + 1 (§10.4)",
            frame(Opcode.BINARY, bytes(1024), fin=False)
            + forged(Opcode.CONT, length=LIMIT - 1024 + 1),
            1009,
        ),
    ]
    check_failure(server, cases)


# --- Isolation ----------------------------------------------------------------------------


def dribble(server: SubmissionServer, data: bytes, pace: float | None, what: str) -> bytes:
    """Send `data` a byte every `pace` seconds (None: all at once) until the server answers.

    The answer is everything the server sends until it closes the connection. Fails if it
    says nothing within TIMEOUT (the bound of a test, not a measure of speed).
    """
    pieces = [data] if pace is None else [bytes([byte]) for byte in data]
    with socket.create_connection(("127.0.0.1", server.port), timeout=pace or TIMEOUT) as sock:
        deadline = time.monotonic() + TIMEOUT
        answer = b""
        for piece in pieces:
            with contextlib.suppress(OSError):  # the server may hang up mid-request
                sock.sendall(piece)
            try:
                answer = sock.recv(65536)
            except TimeoutError:  # still silent: the next byte, at the client's pace
                if time.monotonic() >= deadline:
                    break
                continue
            except ConnectionResetError:
                pass
            break
        sock.settimeout(TIMEOUT)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while answer and (more := sock.recv(65536)):
                answer += more
    if not answer:
        server.fail(
            f"{what}: the server was still waiting for the rest of the head after {TIMEOUT:g} s"
            f" (HANDSHAKE_TIMEOUT is {server.module.HANDSHAKE_TIMEOUT:g} s in this test); give "
            "up on a client that has not sent its whole head in time, with a 408"
        )
    return answer


@pytest.mark.points(1)
def test_slow_clients(server, monkeypatch):
    """Stalled clients never delay others; a head not complete in HANDSHAKE_TIMEOUT gets 408."""
    with RawClient(server) as mid_frame, RawClient(server) as mid_head:
        mid_frame.handshake()
        whole = frame(Opcode.TEXT, b"patience is a virtue")
        mid_frame.send(whole[:10])  # header, mask and a few bytes of payload
        key = protocol.generate_key()
        request = protocol.build_request(f"127.0.0.1:{server.port}", "/", key)
        mid_head.send(request[:30])

        client, step = "websockets' sync client", "the opening handshake"
        try:
            with sync_connect(
                server.url, proxy=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT
            ) as ws:
                for number in range(3):
                    step = f"echo {number}, while two clients are stalled"
                    ws.send(f"message {number}")
                    if (answer := ws.recv(timeout=TIMEOUT)) != f"message {number}":
                        server.fail(f"{client}: sent 'message {number}', got {answer!r}")
        except Exception as exc:
            server.fail(f"{client}, {step}: {explain(exc)}")

        mid_frame.send(whole[10:])
        mid_frame.expect_message(
            "the client stalled mid-frame, once it finishes", Opcode.TEXT, b"patience is a virtue"
        )
        mid_head.handshake(request[30:], key, "the client stalled mid-head, once it finishes")

    # A head that is not all there within HANDSHAKE_TIMEOUT seconds: sent in part then
    # stalled, or dribbled so that every read gets a byte (the limit is for the whole head).
    monkeypatch.setattr(server.module, "HANDSHAKE_TIMEOUT", 0.2)
    request = protocol.build_request(f"127.0.0.1:{server.port}", "/", protocol.generate_key())
    slow = [
        ("half a request head, then nothing", request[:40], None),
        (
            "a request head that never ends, a byte every 20 ms",
            b"GET / HTTP/1.1\r\nX: " + b"z" * 4000,
            0.02,
        ),
    ]
    for what, data, pace in slow:
        answer = dribble(server, data, pace, what)
        end = protocol.find_head_end(answer)
        status = protocol.parse_response(answer[:end]).status if end else None
        if status != 408:
            server.fail(
                f"{what}: after HANDSHAKE_TIMEOUT, expected HTTP 408 Request Timeout then a "
                f"close, got {answer[:60]!r}"
            )
