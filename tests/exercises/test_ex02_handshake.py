"""ex02: the client's opening handshake, built and checked (RFC 6455 §4.1)."""

import socket

import pytest

import wslab
from wslab import protocol

pytestmark = pytest.mark.exercise("ex02_handshake")

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
GOOD = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": ACCEPT}


def response(status: str = "101 Switching Protocols", **changes: str | None) -> bytes:
    """A response head to KEY: a correct 101 unless `changes` replace (or drop, None) headers."""
    headers = {**GOOD, **{name.replace("_", "-"): value for name, value in changes.items()}}
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if value is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def refusal(submission, data: bytes, why: str, status: int = 400) -> str:
    """Call check_response on a bad response; it must raise HandshakeError with `status`.

    Returns the error's text, lower-cased. A correct 101 must pass first: refusing
    everything is not checking.
    """
    try:
        submission.check_response(response(), KEY)
    except submission.HandshakeError as exc:
        pytest.fail(f"a correct 101 response was refused: {exc}\n{response().decode()}")
    shown = data.decode("latin-1").strip()
    try:
        headers = submission.check_response(data, KEY)
    except submission.HandshakeError as exc:
        assert isinstance(exc.message, str) and exc.message, "HandshakeError needs its message"
        assert exc.status == status, (
            f"HandshakeError.status should be {status} for this response, got {exc.status}:\n"
            f"{shown}"
        )
        return str(exc).lower()
    pytest.fail(
        f"check_response accepted this response, returning {headers!r}; it must raise "
        f"HandshakeError because {why}:\n{shown}"
    )


def server_checks(data: bytes) -> tuple[protocol.Request, str]:
    """Parse `data` and check it as a server must (§4.2.1); fail naming the problem if not."""
    shown = data.decode("latin-1").strip() if isinstance(data, bytes) else repr(data)
    try:
        request = protocol.parse_request(data)
        return request, protocol.check_request(request)
    except protocol.HandshakeError as exc:
        pytest.fail(f"a server would refuse this request with {exc}:\n{shown}")


def read_head(sock: socket.socket) -> bytes:
    """Read from `sock` until the end of an HTTP head; return the head (timeouts fail the test)."""
    buffer = b""
    while (end := protocol.find_head_end(buffer)) is None:
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection after sending {buffer!r}"
        buffer += chunk
    return buffer[:end]


@pytest.mark.points(1)
def test_request_passes_server_checks(submission):
    """The request with a given key parses as HTTP and passes a server's checks (§4.1, §4.2.1)."""
    data, key = submission.build_request("example.com:8765", "/chat", KEY)
    assert isinstance(data, bytes), f"expected bytes, got {type(data).__name__}"
    assert key == KEY, f"expected the key you were given, {KEY!r}, got {key!r}"
    request, sent = server_checks(data)
    shown = data.decode("latin-1").strip()
    assert sent == KEY, f"the request carries the key {sent!r}, not {KEY!r}:\n{shown}"
    assert (request.method, request.target) == ("GET", "/chat"), (
        f"expected the request line GET /chat HTTP/1.1:\n{shown}"
    )
    assert request.headers.get("Host") == "example.com:8765", (
        f"expected Host: example.com:8765:\n{shown}"
    )


@pytest.mark.points(1)
def test_fresh_random_key(submission):
    """Without a key, each request carries a new key: base64 of 16 random bytes (§4.1 item 7)."""
    first, key1 = submission.build_request("localhost")
    second, key2 = submission.build_request("localhost")
    for data, key in ((first, key1), (second, key2)):
        _, sent = server_checks(data)
        assert sent == key, f"the request carries {sent!r} but you returned {key!r}"
    assert key1 != key2, f"two requests got the same key {key1!r}: it must be random"


@pytest.mark.points(1)
def test_origin_only_when_given(submission):
    """The Origin header is sent exactly when an origin is given."""
    data, _ = submission.build_request("localhost", "/", KEY, origin="https://example.com")
    origins = server_checks(data)[0].headers.get_all("Origin")
    assert origins == ["https://example.com"], (
        f"with origin='https://example.com', expected one Origin header with that value, "
        f"got {origins}:\n{data.decode('latin-1').strip()}"
    )
    data, _ = submission.build_request("localhost", "/", KEY)
    assert "Origin" not in server_checks(data)[0].headers, (
        f"without an origin, the request must have no Origin header:\n"
        f"{data.decode('latin-1').strip()}"
    )


@pytest.mark.points(1)
def test_real_server_handshake(submission):
    """A websockets server answers the request with 101, which check_response accepts."""
    with wslab.echo_server() as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            data, key = submission.build_request(f"127.0.0.1:{server.port}", "/", None)
            sock.sendall(data)
            head = read_head(sock)
            assert head.startswith(b"HTTP/1.1 101 "), f"the server refused the request: {head!r}"
            headers = submission.check_response(head, key)
            expected = protocol.accept_key(key)
            assert isinstance(headers, dict), f"expected a dict, got {type(headers).__name__}"
            assert headers.get("sec-websocket-accept") == expected, (
                f"expected the headers with lower-case names, {expected!r} under "
                f"'sec-websocket-accept'; got {headers!r}"
            )
            assert headers.get("upgrade") == "websocket", (
                f"expected upgrade: websocket in {headers}"
            )
            # The connection really is a WebSocket now: a masked text frame comes back.
            sock.sendall(protocol.text("hello", mask=True))
            parser = protocol.FrameParser(expect_masked=False)
            frames = []
            while not frames:
                chunk = sock.recv(4096)
                assert chunk, "the server closed the connection instead of echoing"
                frames = parser.feed(chunk)
            assert frames[0].payload == b"hello", f"expected 'hello' echoed, got {frames[0]}"


@pytest.mark.points(1)
def test_rejects_status_other_than_101(submission):
    """A response whose status is not 101 fails the handshake with that status, naming it
    (§4.1 item 1)."""
    for status in ("200 OK", "403 Forbidden", "426 Upgrade Required"):
        code = status.split()[0]
        why = f"its status is {code}, not 101"
        message = refusal(submission, response(status), why, int(code))
        assert code in message, f"for {status!r}, the message should say {code}: {message!r}"


@pytest.mark.points(1)
def test_rejects_missing_or_wrong_upgrade(submission):
    """A 101 without Upgrade: websocket fails the handshake, naming Upgrade (§4.1 item 2)."""
    for upgrade in (None, "h2c", "websockets"):
        why = "Upgrade must be websocket" + (", not a word that contains it" if upgrade else "")
        message = refusal(submission, response(Upgrade=upgrade), why)
        assert "upgrade" in message, f"for Upgrade {upgrade!r}, got {message!r}"


@pytest.mark.points(1)
def test_rejects_connection_without_upgrade(submission):
    """A 101 whose Connection has no upgrade token fails, naming Connection (§4.1 item 3):
    a token is a whole item of the comma-separated list, not a substring."""
    for connection in ("keep-alive", None, "upgrade-insecure-requests", "keep-alive, notupgrade"):
        why = f"Connection {connection!r} has no 'upgrade' token (tokens are split at commas)"
        message = refusal(submission, response(Connection=connection), why)
        assert "connection" in message, f"for Connection {connection!r}, got {message!r}"


@pytest.mark.points(1)
def test_rejects_missing_or_wrong_accept(submission):
    """A 101 without the right Sec-WebSocket-Accept fails, naming that header (§4.1 item 4)."""
    wrong = protocol.accept_key(protocol.generate_key())  # the answer to another key
    for accept, why in [
        (None, "it has no Sec-WebSocket-Accept"),
        (wrong, "its Sec-WebSocket-Accept answers another key"),
        (ACCEPT.lower(), "base64 is case-sensitive: this is not the accept value"),
        (ACCEPT[:-1], "its Sec-WebSocket-Accept is cut short"),
    ]:
        message = refusal(submission, response(Sec_WebSocket_Accept=accept), why)
        assert "accept" in message, f"for Sec-WebSocket-Accept {accept!r}, got {message!r}"


@pytest.mark.points(1)
def test_rejects_extension_or_subprotocol_not_offered(submission):
    """A 101 choosing an extension or a subprotocol the client never offered fails, naming
    the header (§4.1 items 5 and 6)."""
    for header, value in [
        ("Sec-WebSocket-Extensions", "permessage-deflate"),
        ("Sec-WebSocket-Protocol", "chat"),
    ]:
        data = response(**{header.replace("-", "_"): value})
        why = f"the server chose {header}: {value}, and this client offered none"
        message = refusal(submission, data, why)
        assert header.lower() in message, f"for {header}: {value}, got {message!r}"


@pytest.mark.points(1)
def test_any_case_and_token_lists(submission):
    """Header names and the values websocket/upgrade match in any case; Connection is a list
    of tokens with or without spaces; any reason phrase goes with 101; values lose their
    surrounding spaces."""
    variants = [
        (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "upgrade: WebSocket\r\n"
            "CONNECTION: keep-alive, Upgrade\r\n"
            f"sec-websocket-ACCEPT: {ACCEPT}\r\n"
            "\r\n",
            {
                "upgrade": "WebSocket",
                "connection": "keep-alive, Upgrade",
                "sec-websocket-accept": ACCEPT,
            },
        ),
        (
            "HTTP/1.1 101 Web Socket Protocol Handshake\r\n"
            "Upgrade: websocket\r\n"
            "Connection: keep-alive,UPGRADE\r\n"
            f"Sec-WebSocket-Accept:   {ACCEPT}  \r\n"
            "\r\n",
            {
                "upgrade": "websocket",
                "connection": "keep-alive,UPGRADE",
                "sec-websocket-accept": ACCEPT,
            },
        ),
    ]
    for data, expected in variants:
        try:
            headers = submission.check_response(data.encode(), KEY)
        except submission.HandshakeError as exc:
            pytest.fail(f"a valid 101 response was refused ({exc}):\n{data.strip()}")
        assert headers == expected, (
            f"for this response:\n{data.strip()}\nexpected {expected!r},\ngot {headers!r}"
        )
