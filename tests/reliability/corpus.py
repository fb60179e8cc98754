"""The bad-input corpus: what misbehaving clients send, and what each kind of server must answer.

Each `Case` is data: a name, the bytes (or the few socket moves) a bad client makes, and the
outcome expected from each family of servers, written the way `read_outcome()` reports what
came back:

- ``"400"``, ``"426"``...: the HTTP status of the answer to the opening request;
- ``"close 1002"``...: the code of the Close frame the server sent (``"close"``: no code);
- ``"closed"``: the server hung up without a word (no HTTP answer, no Close frame);
- ``"open"``: nothing came back and the connection was still open when the wait ended;
- None: nothing to read (the client vanished, or a flood whose only test is the bystander).

A tuple allows several outcomes, each for a reason written next to it. The families are
``"ws"`` (servers on websockets: echo, push, chat, the tap in front of echo), ``"http"``
(`wslab.http_server`) and ``"ex10"`` (the solution of exercise 10); a server's own name
overrides its family's entry. A case without an entry for a family does not apply to it.

Cases in phase ``"frames"`` start with a valid opening handshake; their bytes follow it.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wslab import protocol

#: Seconds to wait for an outcome that should come at once.
WAIT = 3.0


@dataclass(frozen=True)
class Target:
    """The server a case is thrown at, as the case needs to know it."""

    name: str
    family: str
    host: str
    port: int
    path: str
    max_size: int
    """Bytes in one message the server accepts (larger: 1009)."""
    timeout: float
    """Seconds the server gives a client to finish its opening request (0: no limit)."""


Send = Callable[[socket.socket, Target], None]
Outcome = str | tuple[str, ...] | None


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    send: Send
    expect: dict[str, Outcome]
    phase: str = "handshake"
    wait: Callable[[Target], float] = field(default=lambda target: WAIT)
    crowd: Callable[[Target], list[socket.socket]] | None = None
    """Connections opened before the case's own, and kept open until its outcome is read."""

    def applies_to(self, server: str, family: str) -> bool:
        return server in self.expect or family in self.expect

    def expected(self, target: Target) -> tuple[str | None, ...]:
        """The outcomes `target` may produce (None: there is nothing to read)."""
        found = self.expect.get(target.name, self.expect.get(target.family))
        return found if isinstance(found, tuple) else (found,)


# --- building requests and frames -------------------------------------------------------------

KEY = base64.b64encode(b"0123456789abcdef").decode()


def request(
    target: Target,
    *,
    method: str = "GET",
    path: str | None = None,
    version: str = "HTTP/1.1",
    change: dict[str, str | None] | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> bytes:
    """An opening request for `target`; `change` replaces (or with None removes) a header."""
    headers = {
        "Host": f"{target.host}:{target.port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in (change or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    lines = [f"{method} {target.path if path is None else path} {version}"]
    lines += [f"{name}: {value}" for name, value in [*headers.items(), *(extra or [])]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    masked: bool = True,
    length: int | None = None,
) -> bytes:
    """A client frame built by hand, rules or not; `length` may announce a different length."""
    length = len(payload) if length is None else length
    first = (0x80 if fin else 0) | rsv << 4 | opcode
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


def sending(data: Callable[[Target], bytes]) -> Send:
    """A case that sends some bytes, all at once."""
    return lambda sock, target: sock.sendall(data(target))


def sending_slowly(data: Callable[[Target], bytes], pause: float = 0.05) -> Send:
    """A case that sends its bytes in pieces, with pauses between them."""

    def send(sock: socket.socket, target: Target) -> None:
        payload = data(target)
        for i in range(0, len(payload), 7):
            sock.sendall(payload[i : i + 7])
            time.sleep(pause / 10)

    return send


def vanishing(data: Callable[[Target], bytes], reset: bool = False) -> Send:
    """A case that sends some bytes, then disappears (with RST if `reset`)."""

    def send(sock: socket.socket, target: Target) -> None:
        sock.sendall(data(target))
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    return send


def flooding(data: Callable[[Target], bytes], total: int = 4 * 2**20) -> Send:
    """Send `data` again and again, up to `total` bytes or until the server stops reading."""

    def send(sock: socket.socket, target: Target) -> None:
        chunk = data(target)
        sock.settimeout(0.2)
        sent = 0
        try:
            while sent < total:
                sent += sock.send(chunk)
        except (TimeoutError, ConnectionError):
            pass  # the server pushes back (TCP window full) or has closed: both are fine

    return send


def crowd(count: int, data: Callable[[Target], bytes]) -> Callable[[Target], list[socket.socket]]:
    """`count` connections that each send `data` and then never read."""

    def open_crowd(target: Target) -> list[socket.socket]:
        crowd: list[socket.socket] = []
        try:
            for _ in range(count):
                crowd.append(socket.create_connection((target.host, target.port), timeout=5))
                crowd[-1].sendall(data(target))
        except BaseException:
            for extra in crowd:
                extra.close()
            raise
        return crowd

    return open_crowd


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def fragments_over(target: Target) -> bytes:
    """A binary message in fragments that are each small but together over max_size."""
    piece = min(target.max_size // 2 + 1, 2**20)
    count = target.max_size // piece + 1
    frames = [frame(protocol.Opcode.BINARY, bytes(piece), fin=False)]
    frames += [frame(protocol.Opcode.CONT, bytes(piece), fin=False) for _ in range(count)]
    return b"".join(frames)


# --- the corpus -------------------------------------------------------------------------------

TEXT, BINARY, CONT = protocol.Opcode.TEXT, protocol.Opcode.BINARY, protocol.Opcode.CONT
CLOSE, PING, PONG = protocol.Opcode.CLOSE, protocol.Opcode.PING, protocol.Opcode.PONG

#: The answer to an opening request that is fine as HTTP, by a server that is not WebSocket.
HTTP_OK = {"http": "200"}
#: What websockets 17 does with a request it cannot parse as HTTP (or with a body, which it
#: does not read): no answer, it closes the TCP connection (`ServerProtocol.parse()` sends
#: EOF; only its debug log says why). wslab serves with websockets as it is, so do we.
UNPARSED = "closed"
#: A request head so broken that no server can tell what was asked.
BROKEN_HEAD = {"ws": UNPARSED, "http": "400", "ex10": "400"}


def _slow_timeout(target: Target) -> float:
    """Long enough for the server's timeout to fire, or to see that it has none."""
    return target.timeout + 1.0


HANDSHAKE_CASES = [
    Case(
        "not HTTP",
        "bytes of a TLS ClientHello",
        sending(lambda t: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n"),
        BROKEN_HEAD,
    ),
    Case(
        "request line: 2 parts",
        "GET / and the headers",
        sending(lambda t: request(t, version="").replace(b" \r\n", b"\r\n", 1)),
        BROKEN_HEAD,
    ),
    Case(
        "request line: extra spaces",
        "GET  /  HTTP/1.1",
        sending(lambda t: request(t).replace(b" ", b"  ", 2)),
        BROKEN_HEAD,
    ),
    Case(
        "request line: HTTP/2.0",
        "a WebSocket handshake in HTTP/2.0",
        sending(lambda t: request(t, version="HTTP/2.0")),
        # websockets: "unsupported protocol", a parse error (see UNPARSED);
        # an HTTP server answers 505 HTTP Version Not Supported.
        {"ws": UNPARSED, "http": "505", "ex10": "400"},
    ),
    Case(
        "request line: HTTP/1.0",
        "a WebSocket handshake in HTTP/1.0",
        sending(lambda t: request(t, version="HTTP/1.0")),
        # RFC 6455 §4.1 needs HTTP/1.1 at least; websockets answers 505, the HTTP server
        # serves HTTP/1.0 (GET / is 200).
        {"ws": "505", "http": "200", "ex10": "400"},
    ),
    Case(
        "request line: lowercase method",
        "get / HTTP/1.1",
        sending(lambda t: request(t, method="get")),
        # Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET.
        {"ws": "405", "http": "405", "ex10": "400"},
    ),
    Case(
        "method POST",
        "a WebSocket handshake with POST",
        sending(lambda t: request(t, method="POST")),
        {"ws": "405", "http": "405", "ex10": "400"},
    ),
    Case(
        "target: not a path",
        "GET nowhere HTTP/1.1: a target without its leading /",
        sending(lambda t: request(t, path="nowhere")),
        # websockets hands any target to the server (the chat answers 404 for it), as does ex10.
        {"ws": "101", "chat": "404", "http": "400", "ex10": "101"},
    ),
    Case(
        "target: not ASCII",
        "a byte over 0x7F in the request target",
        sending(lambda t: request(t, path=t.path + "\xe9")),
        {"ws": UNPARSED, "http": "400", "ex10": "101"},
    ),
    Case(
        "header line without colon",
        "a header line 'NoColonHere'",
        sending(
            lambda t: request(t, extra=[("NoColonHere", "")]).replace(
                b"NoColonHere: ", b"NoColonHere"
            )
        ),
        BROKEN_HEAD,
    ),
    Case(
        "header name with space",
        "'Bad Name: x'",
        sending(lambda t: request(t, extra=[("Bad Name", "x")])),
        BROKEN_HEAD,
    ),
    Case(
        "NUL in a header value",
        "'X-Test: a\\x00b'",
        sending(lambda t: request(t, extra=[("X-Test", "a\x00b")])),
        # ex10 takes any value: a NUL in a header it never reads harms nobody.
        {"ws": UNPARSED, "http": "400", "ex10": "101"},
    ),
    Case(
        "obsolete line folding",
        "a header continued on the next line (obs-fold)",
        sending(lambda t: request(t, extra=[("X-Test", "a\r\n b")])),
        {"ws": UNPARSED, "http": "400", "ex10": "400"},
    ),
    Case(
        "plain GET",
        "GET with Host only",
        sending(lambda t: f"GET {t.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
        # The chat's /ws upgrades only; its page is at /.
        {"ws": "426", "http": "200", "ex10": "426"},
    ),
    Case(
        "missing Upgrade",
        "the handshake without Upgrade",
        sending(lambda t: request(t, change={"Upgrade": None})),
        {"ws": "426", **HTTP_OK, "ex10": "426"},
    ),
    Case(
        "Upgrade: h2c",
        "asks to upgrade to another protocol",
        sending(lambda t: request(t, change={"Upgrade": "h2c"})),
        {"ws": "426", **HTTP_OK, "ex10": "426"},
    ),
    Case(
        "missing Connection",
        "the handshake without Connection: Upgrade",
        sending(lambda t: request(t, change={"Connection": None})),
        # websockets answers 426 (InvalidUpgrade), the course's check_request 400 (§4.2.1).
        {"ws": "426", **HTTP_OK, "ex10": "400"},
    ),
    Case(
        "missing Host",
        "the handshake without Host",
        sending(lambda t: request(t, change={"Host": None})),
        # RFC 7230 §5.4 wants 400; websockets 17 does not check Host (reported, not fixed:
        # the lessons show websockets' own answers).
        {"ws": "101", "http": "200", "ex10": "400"},
    ),
    Case(
        "duplicate Host",
        "two Host headers",
        sending(lambda t: request(t, extra=[("Host", "other.example")])),
        {"ws": "101", "http": "400", "ex10": "101"},
    ),
    Case(
        "missing key",
        "no Sec-WebSocket-Key",
        sending(lambda t: request(t, change={"Sec-WebSocket-Key": None})),
        {"ws": "400", **HTTP_OK, "ex10": "400"},
    ),
    Case(
        "duplicate key",
        "two Sec-WebSocket-Key headers",
        sending(lambda t: request(t, extra=[("Sec-WebSocket-Key", KEY)])),
        {"ws": "400", **HTTP_OK, "ex10": "400"},
    ),
    Case(
        "key not base64",
        "Sec-WebSocket-Key: not*base64!",
        sending(lambda t: request(t, change={"Sec-WebSocket-Key": "not*base64!"})),
        {"ws": "400", **HTTP_OK, "ex10": "400"},
    ),
    Case(
        "key of 10 bytes",
        "a base64 key that decodes to 10 bytes, not 16",
        sending(
            lambda t: request(
                t, change={"Sec-WebSocket-Key": base64.b64encode(b"ten bytes!").decode()}
            )
        ),
        {"ws": "400", **HTTP_OK, "ex10": "400"},
    ),
    Case(
        "version 8",
        "Sec-WebSocket-Version: 8",
        sending(lambda t: request(t, change={"Sec-WebSocket-Version": "8"})),
        # RFC 6455 §4.2.2 says "an appropriate HTTP error code (such as 426)": websockets
        # answers 400, the course's codec and ex10 426 (lesson 03 compares both).
        {"ws": "400", **HTTP_OK, "ex10": "426"},
    ),
    Case(
        "missing version",
        "no Sec-WebSocket-Version",
        sending(lambda t: request(t, change={"Sec-WebSocket-Version": None})),
        {"ws": "400", **HTTP_OK, "ex10": "426"},
    ),
    Case(
        "duplicate version",
        "Sec-WebSocket-Version: 13 twice",
        sending(lambda t: request(t, extra=[("Sec-WebSocket-Version", "13")])),
        # ex10 joins repeated headers: "13, 13" is not 13.
        {"ws": "400", **HTTP_OK, "ex10": "426"},
    ),
    Case(
        "foreign Origin",
        "Origin: http://evil.example",
        sending(lambda t: request(t, extra=[("Origin", "http://evil.example")])),
        # Only the chat is meant for browsers, so only the chat has an allow-list.
        {"ws": "101", "chat": "403", **HTTP_OK, "ex10": "101"},
    ),
    Case(
        "request body",
        "Content-Length: 5 and a body on the handshake",
        sending(lambda t: request(t, extra=[("Content-Length", "5")]) + b"hello"),
        {"ws": UNPARSED, **HTTP_OK, "ex10": "101"},
    ),
    Case(
        "chunked body",
        "Transfer-Encoding: chunked on the handshake",
        sending(lambda t: request(t, extra=[("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n"),
        {"ws": UNPARSED, "http": "501", "ex10": "101"},
    ),
    Case(
        "header line of 10 kB",
        "one header of 10,000 bytes",
        sending(lambda t: request(t, extra=[("X-Big", "x" * 10_000)])),
        # websockets: lines up to 8 KiB; the HTTP server: heads up to 16 KiB; ex10: 64 KiB.
        {"ws": "431", **HTTP_OK, "ex10": "101"},
    ),
    Case(
        "200 headers",
        "200 small headers",
        sending(lambda t: request(t, extra=[(f"X-{i}", "y") for i in range(200)])),
        # websockets allows 128 headers.
        {"ws": "431", **HTTP_OK, "ex10": "101"},
    ),
    Case(
        "head of 70 kB",
        "a head of 70,000 bytes in 10 headers",
        sending(lambda t: request(t, extra=[(f"X-{i}", "x" * 7000) for i in range(10)])),
        # websockets limits each line (8 KiB) and the number of headers (128), not the head:
        # 70 kB in 10 lines is accepted. ex10 answers 400 but closes at once with the rest of
        # the head unread: the kernel then sends RST, which may destroy the 400 before the
        # client reads it ("closed").
        {"ws": "101", "http": "431", "ex10": ("400", "closed")},
    ),
    Case(
        "silent client",
        "connects and sends nothing",
        lambda sock, target: None,
        # websockets drops it after open_timeout, the HTTP server after its idle timeout;
        # ex10 answers 408 after its HANDSHAKE_TIMEOUT.
        {"ws": "closed", "http": "closed", "ex10": "408"},
        wait=_slow_timeout,
    ),
    Case(
        "slow handshake",
        "half a request, then nothing (slowloris)",
        sending(lambda t: request(t)[:40]),
        {"ws": "closed", "http": "408", "ex10": "408"},
        wait=_slow_timeout,
    ),
    Case(
        "dribbled handshake",
        "a valid request, 7 bytes at a time",
        sending_slowly(request),
        {"ws": "101", **HTTP_OK, "ex10": "101"},
    ),
    Case(
        "half-close mid-request",
        "half a request, then FIN",
        lambda sock, target: (sock.sendall(request(target)[:40]), sock.shutdown(socket.SHUT_WR)),
        {"ws": "closed", "http": "closed", "ex10": "closed"},
    ),
    Case(
        "pipelined requests",
        "100 requests in one write",
        sending(lambda t: request(t) * 100),
        # A client must wait for the 101 before it sends anything more (RFC 6455 §4.1).
        # websockets reads what follows the request as frames at once, finds they are not,
        # and hangs up before answering; ex10 answers the first and then fails the
        # connection on the second (read as frames after the 101); the HTTP server answers
        # all 100, in order.
        {"ws": "closed", **HTTP_OK, "ex10": "101"},
    ),
    Case(
        "connection flood",
        "a request while 100 other connections sent theirs and read nothing",
        sending(request),
        {"ws": "101", **HTTP_OK, "ex10": "101"},
        crowd=crowd(100, request),
    ),
    Case(
        "slowloris crowd",
        "a request while 100 other connections hold half a request each",
        sending(request),
        {"ws": "101", **HTTP_OK, "ex10": "101"},
        crowd=crowd(100, lambda t: request(t)[:40]),
    ),
    Case(
        "vanish mid-request",
        "half a request, then close",
        vanishing(lambda t: request(t)[:40]),
        {"ws": None, "http": None, "ex10": None},
    ),
    Case(
        "reset mid-request",
        "half a request, then RST",
        vanishing(lambda t: request(t)[:40], reset=True),
        {"ws": None, "http": None, "ex10": None},
    ),
]

#: The answers a WebSocket server owes a client that broke the framing rules (§7.4.1).
WS_1002 = {"ws": "close 1002", "ex10": "close 1002"}
WS_1007 = {"ws": "close 1007", "ex10": "close 1007"}
WS_1009 = {"ws": "close 1009", "ex10": "close 1009"}
#: Nothing to read: only the server's survival and the bystander are checked.
GONE = {"ws": None, "ex10": None}


def after_handshake(name: str, what: str, send: Send, expect: dict[str, Outcome]) -> Case:
    return Case(name, what, send, expect, phase="frames")


def bad_close(code: int) -> Case:
    return after_handshake(
        f"close code {code}",
        f"a Close frame with code {code}, which may not be sent (§7.4)",
        sending(lambda t: frame(CLOSE, close_payload(code))),
        WS_1002,
    )


# fmt: off
FRAME_CASES = [
    after_handshake("RSV1 set", "a text frame with RSV1, no extension negotiated",
                    sending(lambda t: frame(TEXT, b"x", rsv=0b100)), WS_1002),
    after_handshake("RSV2 set", "a text frame with RSV2",
                    sending(lambda t: frame(TEXT, b"x", rsv=0b010)), WS_1002),
    after_handshake("RSV3 set", "a binary frame with RSV3",
                    sending(lambda t: frame(BINARY, b"x", rsv=0b001)), WS_1002),
    after_handshake("opcode 3", "a reserved data opcode",
                    sending(lambda t: frame(0x3, b"x")), WS_1002),
    after_handshake("opcode 0xB", "a reserved control opcode",
                    sending(lambda t: frame(0xB)), WS_1002),
    after_handshake("unmasked frame", "a text frame without a mask (§5.1)",
                    sending(lambda t: frame(TEXT, b"no mask", masked=False)), WS_1002),
    after_handshake("ping of 126 bytes", "a control frame over 125 bytes (§5.5)",
                    sending(lambda t: frame(PING, bytes(126))), WS_1002),
    after_handshake("fragmented ping", "a ping with FIN=0 (§5.5)",
                    sending(lambda t: frame(PING, b"x", fin=False)), WS_1002),
    after_handshake("fragmented close", "a close with FIN=0",
                    sending(lambda t: frame(CLOSE, close_payload(1000), fin=False)), WS_1002),
    after_handshake("continuation first", "a continuation with no message started (§5.4)",
                    sending(lambda t: frame(CONT, b"x")), WS_1002),
    after_handshake("new message mid-message", "a text frame while a message is fragmented",
                    sending(lambda t: frame(TEXT, b"a", fin=False) + frame(TEXT, b"b")), WS_1002),
    # §5.2 asks the sender for the minimal length encoding; websockets and ex10 read the frame
    # anyway, and the session goes on to a normal closing handshake.
    after_handshake("non-minimal length", "5 bytes announced in the 16-bit length, then Close",
                    sending(lambda t: b"\x81\xfe\x00\x05" + bytes(4) + b"hello"
                            + frame(CLOSE, close_payload(1000))),
                    {"ws": "close 1000", "ex10": "close 1000"}),
    # §5.2: "the most significant bit MUST be 0"; both read a huge length: too big.
    after_handshake("64-bit length, top bit set", "a length with its most significant bit set",
                    sending(lambda t: b"\x82\xff\x80" + bytes(7)), WS_1009),
    after_handshake("invalid UTF-8", "a text frame that is not UTF-8 (§8.1)",
                    sending(lambda t: frame(TEXT, b"\xff\xfe")), WS_1007),
    after_handshake("surrogate in UTF-8", "a text frame with an encoded surrogate (ED A0 80)",
                    sending(lambda t: frame(TEXT, b"\xed\xa0\x80")), WS_1007),
    after_handshake("invalid UTF-8, 2nd fragment", "a valid first fragment, a bad second",
                    sending(lambda t: frame(TEXT, b"\xc3", fin=False) + frame(CONT, b"\xff")),
                    WS_1007),
    after_handshake("close reason not UTF-8", "a Close frame whose reason is not UTF-8",
                    sending(lambda t: frame(CLOSE, close_payload(1000, b"\xff"))), WS_1007),
    after_handshake("close payload of 1 byte", "a Close frame with 1 byte of payload",
                    sending(lambda t: frame(CLOSE, b"\x03")), WS_1002),
    *(bad_close(code) for code in (999, 1004, 1005, 1006, 1015, 2999, 5000)),
    after_handshake("close 1000 (valid)", "a normal close: the closing handshake",
                    sending(lambda t: frame(CLOSE, close_payload(1000))),
                    {"ws": "close 1000", "ex10": "close 1000"}),
    after_handshake("close 4999 (valid)", "a private-use close code, echoed",
                    sending(lambda t: frame(CLOSE, close_payload(4999, b"bye"))),
                    {"ws": "close 4999", "ex10": "close 4999"}),
    after_handshake("message over max_size", "a frame header announcing max_size + 1 bytes",
                    sending(lambda t: frame(BINARY, length=t.max_size + 1)), WS_1009),
    after_handshake("message of 2**62 bytes", "a frame header announcing 2**62 bytes",
                    sending(lambda t: frame(BINARY, length=2**62)), WS_1009),
    after_handshake("fragments over max_size", "small fragments adding up to over max_size",
                    sending(fragments_over), WS_1009),
    after_handshake("message flood", "4 MiB of small text frames, answers never read",
                    flooding(lambda t: frame(TEXT, b"x" * 100) * 100), GONE),
    after_handshake("ping flood", "4 MiB of pings, pongs never read",
                    flooding(lambda t: frame(PING, b"p" * 100) * 100), GONE),
    after_handshake("vanish mid-header", "1 byte of a frame header, then close",
                    vanishing(lambda t: b"\x81"), GONE),
    after_handshake("vanish mid-length", "a 64-bit length cut short, then close",
                    vanishing(lambda t: frame(BINARY, length=70_000)[:5]), GONE),
    after_handshake("reset mid-payload", "300 of 1000 payload bytes, then RST",
                    vanishing(lambda t: frame(TEXT, b"x" * 1000)[:300], reset=True), GONE),
]
# fmt: on

CASES = HANDSHAKE_CASES + FRAME_CASES


# --- reading what came back -------------------------------------------------------------------


def _recv(sock: socket.socket, deadline: float) -> bytes | None:
    """Bytes from `sock`; b"" once closed (or reset); None if nothing came before `deadline`."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    sock.settimeout(remaining)
    try:
        return sock.recv(65536)
    except TimeoutError:
        return None
    except ConnectionError:
        return b""


def read_status(sock: socket.socket, wait: float, buffer: bytearray) -> str:
    """The status of the HTTP answer on `sock`, or "closed" / "open"; the head is consumed."""
    deadline = time.monotonic() + wait
    while (end := protocol.find_head_end(bytes(buffer))) is None:
        data = _recv(sock, deadline)
        if data is None:
            return "open"
        if not data:
            return "closed" if not buffer else f"cut after {len(buffer)} bytes"
        buffer += data
    head = bytes(buffer[:end])
    del buffer[:end]
    return str(protocol.parse_response(head).status)


def read_close(sock: socket.socket, wait: float, buffer: bytearray) -> str:
    """The server's Close frame as "close <code>", or "closed" / "open".

    Data frames (a push server's ticks, echoes) and pongs before it are skipped.
    """
    parser = protocol.FrameParser(expect_masked=False)
    frames = parser.feed(bytes(buffer))
    buffer.clear()
    deadline = time.monotonic() + wait
    while True:
        for received in frames:
            if received.opcode == CLOSE:
                code, _ = protocol.parse_close(received.payload)
                return "close" if code is None else f"close {int(code)}"
        data = _recv(sock, deadline)
        if data is None:
            return "open"
        if not data:
            return "closed"
        frames = parser.feed(data)


def wait_for_eof(sock: socket.socket, wait: float = WAIT) -> bool:
    """True if the server closes the TCP connection within `wait` seconds."""
    deadline = time.monotonic() + wait
    while (data := _recv(sock, deadline)) is not None:
        if not data:
            return True
    return False


def open_websocket(sock: socket.socket, target: Target) -> bytearray:
    """A valid opening handshake on `sock`; return what came after the 101's head."""
    key = protocol.generate_key()
    sock.sendall(protocol.build_request(f"{target.host}:{target.port}", target.path, key))
    buffer = bytearray()
    status = read_status(sock, WAIT, buffer)
    assert status == "101", f"the valid handshake got {status}"
    return buffer
