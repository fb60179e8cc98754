"""Tests for wslab.protocol.handshake: the HTTP opening handshake of RFC 6455 §4."""

from __future__ import annotations

import base64

import pytest
from websockets.client import ClientProtocol
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri
from websockets.utils import accept_key as websockets_accept_key

from wslab.protocol import (
    GUID,
    HandshakeError,
    Headers,
    Request,
    Response,
    accept_key,
    build_error_response,
    build_request,
    build_response,
    check_request,
    check_response,
    find_head_end,
    generate_key,
    parse_request,
    parse_response,
)

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

GOOD_HEADERS = (
    ("Host", "example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", RFC_KEY),
    ("Sec-WebSocket-Version", "13"),
)


def make_request(*, method="GET", version="HTTP/1.1", drop=(), replace=None) -> Request:
    """A valid client request, with headers named in ``drop`` removed and ``replace`` set."""
    replace = replace or {}
    pairs = [(n, replace.get(n, v)) for n, v in GOOD_HEADERS if n not in drop]
    pairs += [(n, v) for n, v in replace.items() if n not in dict(GOOD_HEADERS)]
    return Request(method, "/chat", version, Headers(tuple(pairs)))


def make_response(*, status=101, drop=(), replace=None, key=RFC_KEY) -> Response:
    """A valid server response to ``key``, altered like :func:`make_request`."""
    replace = replace or {}
    base = (("Upgrade", "websocket"), ("Connection", "Upgrade"))
    base += (("Sec-WebSocket-Accept", accept_key(key)),)
    pairs = [(n, replace.get(n, v)) for n, v in base if n not in drop]
    pairs += [(n, v) for n, v in replace.items() if n not in dict(base)]
    return Response("HTTP/1.1", status, "Whatever", Headers(tuple(pairs)))


# --- Keys -----------------------------------------------------------------------------------


def test_accept_key_rfc_example():
    """The accept key of the RFC 6455 §1.3 sample nonce is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=."""
    assert accept_key(RFC_KEY) == RFC_ACCEPT
    assert GUID == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def test_generate_key_is_16_random_bytes():
    """A generated key is base64 of 16 bytes and differs each time (RFC 6455 §4.1 item 7)."""
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(base64.b64decode(key, validate=True)) == 16 for key in keys)


def test_accept_key_agrees_with_websockets():
    """Our accept key equals websockets' for random keys (RFC 6455 §4.2.2)."""
    for _ in range(20):
        key = generate_key()
        assert accept_key(key) == websockets_accept_key(key)


# --- Headers --------------------------------------------------------------------------------


def test_headers_are_case_insensitive_and_ordered():
    """Headers look up names in any case, keep the sent spelling, and keep repeats in order."""
    headers = Headers((("X-Thing", "a"), ("x-thing", "b"), ("Host", "h")))
    assert headers.get("X-THING") == "a"
    assert headers.get_all("x-Thing") == ["a", "b"]
    assert headers.get("Missing") is None and headers.get("Missing", "d") == "d"
    assert "host" in headers and "Origin" not in headers
    assert list(headers) == [("X-Thing", "a"), ("x-thing", "b"), ("Host", "h")]
    assert len(headers) == 3


def test_headers_tokens_split_lists():
    """Token lists are split on commas across repeated headers, lower-cased (RFC 7230 §7)."""
    headers = Headers((("Connection", "keep-alive, Upgrade"), ("Connection", ", close,")))
    assert headers.tokens("connection") == ["keep-alive", "upgrade", "close"]


# --- Parsing heads --------------------------------------------------------------------------


def test_find_head_end_partial_input():
    """find_head_end returns None until CRLF CRLF has arrived, then the index just past it."""
    data = build_request("example.com", key=RFC_KEY) + b"\x81\x00"
    end = len(data) - 2
    for cut in range(end):
        assert find_head_end(data[:cut]) is None
    assert find_head_end(data[:end]) == end
    assert find_head_end(data) == end
    assert find_head_end(b"") is None


def test_build_parse_check_request_round_trip():
    """build_request produces a head that parse_request reads and check_request accepts."""
    data = build_request(
        "example.com:8080",
        "/chat?room=1",
        RFC_KEY,
        origin="http://example.com",
        subprotocols=["chat", "superchat"],
        extra_headers=[("User-Agent", "wslab")],
    )
    request = parse_request(data)
    assert (request.method, request.target, request.version) == ("GET", "/chat?room=1", "HTTP/1.1")
    headers = request.headers
    assert headers.get("Host") == "example.com:8080"
    assert headers.get("Origin") == "http://example.com"
    assert headers.get("Sec-WebSocket-Protocol") == "chat, superchat"
    assert headers.get("User-Agent") == "wslab"
    assert check_request(request) == RFC_KEY


def test_build_request_generates_a_key():
    """Without a key, build_request sends a fresh valid one (RFC 6455 §4.1 item 7)."""
    key = check_request(parse_request(build_request("h")))
    assert len(base64.b64decode(key)) == 16


@pytest.mark.parametrize(
    ("host", "target"), [("evil\r\nX: y", "/"), ("h", "/a b"), ("h", "no-slash"), ("h", "/\n")]
)
def test_build_request_refuses_injection(host, target):
    """build_request refuses CR, LF or spaces that would change the head's structure."""
    with pytest.raises(ValueError):
        build_request(host, target)


def test_parse_response_round_trip():
    """build_response produces a 101 head that parse_response reads and check_response accepts."""
    data = build_response(RFC_KEY, subprotocol="chat", extra_headers=[("Server", "wslab")])
    assert data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    response = parse_response(data)
    assert (response.version, response.status, response.reason) == (
        "HTTP/1.1",
        101,
        "Switching Protocols",
    )
    assert response.headers.get("sec-websocket-accept") == RFC_ACCEPT
    check_response(response, RFC_KEY, subprotocols=["chat"])


def test_parse_keeps_header_spelling_and_strips_whitespace():
    """Header names keep their spelling and values lose surrounding spaces (RFC 7230 §3.2.4)."""
    request = parse_request(b"GET / HTTP/1.1\r\nhOsT:   a b \t\r\nX-Empty:\r\n\r\n")
    assert list(request.headers) == [("hOsT", "a b"), ("X-Empty", "")]


def test_parse_response_without_reason():
    """A status line may have an empty reason phrase (RFC 7230 §3.1.2)."""
    assert parse_response(b"HTTP/1.1 404 \r\n\r\n").reason == ""
    assert parse_response(b"HTTP/1.1 404\r\n\r\n").status == 404


def test_parse_tolerates_latin1_values():
    """Bytes 0x80-0xFF in a header value are read as latin-1 obs-text (RFC 7230 §3.2.6)."""
    request = parse_request(b"GET / HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n")
    assert request.headers.get("X-Name") == "café"


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: h\r\n",  # no final CRLF CRLF
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\nextra",  # bytes after the head
        b"GET /\r\n\r\n",  # HTTP/0.9 style request line
        b"GET  / HTTP/1.1\r\n\r\n",  # double space
        b"GET / HTTP/1.1 \r\n\r\n",  # trailing space
        b"G\xc3\x89T / HTTP/1.1\r\n\r\n",  # non-ASCII method
        b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",  # non-ASCII target
        b"GET / HTTP/1.1\r\nHost h\r\n\r\n",  # header line without colon
        b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",  # space before colon (RFC 7230 §3.2.4)
        b"GET / HTTP/1.1\r\nH\xc3\xb6st: h\r\n\r\n",  # non-ASCII header name
        b"GET / HTTP/1.1\r\nHost: h\r\n continued\r\n\r\n",  # obsolete line folding
        b"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",  # bare LF
        b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n",  # control character in value
        b"",
    ],
)
def test_parse_request_malformed(data):
    """A malformed request head raises HandshakeError with status 400."""
    with pytest.raises(HandshakeError) as info:
        parse_request(data)
    assert info.value.status == 400


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 101 Switching Protocols\r\n",
        b"HTTP/1.1 1O1 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 1010 Switching Protocols\r\n\r\n",
        b"HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n",
    ],
)
def test_parse_response_malformed(data):
    """A malformed response head raises HandshakeError with status 400."""
    with pytest.raises(HandshakeError) as info:
        parse_response(data)
    assert info.value.status == 400


# --- check_request --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "status", "headers", "words"),
    [
        (make_request(method="POST"), 400, (), "GET"),
        (make_request(version="HTTP/1.0"), 400, (), "HTTP/1.1"),
        (make_request(drop=["Host"]), 400, (), "Host"),
        (make_request(drop=["Upgrade"]), 426, (("Upgrade", "websocket"),), "Upgrade"),
        (make_request(drop=["Upgrade", "Connection"]), 426, (("Upgrade", "websocket"),), "Upgrade"),
        (make_request(replace={"Upgrade": "h2c"}), 426, (("Upgrade", "websocket"),), "h2c"),
        (make_request(drop=["Connection"]), 400, (), "Connection"),
        (make_request(replace={"Connection": "keep-alive"}), 400, (), "keep-alive"),
        (make_request(drop=["Sec-WebSocket-Key"]), 400, (), "Sec-WebSocket-Key"),
        (make_request(replace={"Sec-WebSocket-Key": "not base64!"}), 400, (), "base64"),
        (make_request(replace={"Sec-WebSocket-Key": "c2hvcnQ="}), 400, (), "16 bytes"),
        (make_request(replace={"Sec-WebSocket-Key": RFC_KEY[:-2]}), 400, (), "base64"),
        (
            make_request(drop=["Sec-WebSocket-Version"]),
            426,
            (("Sec-WebSocket-Version", "13"),),
            "Sec-WebSocket-Version",
        ),
        (
            make_request(replace={"Sec-WebSocket-Version": "8"}),
            426,
            (("Sec-WebSocket-Version", "13"),),
            "8",
        ),
    ],
)
def test_check_request_errors(request_, status, headers, words):
    """check_request refuses each broken client handshake with the right status (RFC 6455
    §4.2.1, §4.2.2) and a message naming what is wrong."""
    with pytest.raises(HandshakeError) as info:
        check_request(request_)
    assert info.value.status == status
    assert info.value.headers == headers
    assert words in info.value.message


def test_check_request_duplicate_key():
    """Two Sec-WebSocket-Key headers are refused with 400 (RFC 6455 §11.3.1)."""
    pairs = GOOD_HEADERS + (("Sec-WebSocket-Key", generate_key()),)
    with pytest.raises(HandshakeError) as info:
        check_request(Request("GET", "/", "HTTP/1.1", Headers(pairs)))
    assert info.value.status == 400


def test_check_request_accepts_token_lists_in_any_case():
    """Upgrade and Connection are case-insensitive token lists (RFC 6455 §4.2.1 items 3-4)."""
    request = make_request(replace={"Upgrade": "WebSocket", "Connection": "keep-alive, UPGRADE"})
    assert check_request(request) == RFC_KEY


def test_build_error_response():
    """An error response carries the status, the error's headers, and the message as body."""
    error = HandshakeError(
        426, "Sec-WebSocket-Version header must be 13 (8)", [("Sec-WebSocket-Version", "13")]
    )
    data = build_error_response(error)
    end = find_head_end(data)
    response = parse_response(data[:end])
    assert (response.status, response.reason) == (426, "Upgrade Required")
    assert error.phrase == "Upgrade Required"  # the status's phrase; a "reason" closes frames
    assert response.headers.get("Sec-WebSocket-Version") == "13"
    assert response.headers.get("Connection") == "close"
    assert response.headers.get("Content-Type").startswith("text/plain")
    assert data[end:] == error.message.encode()
    assert int(response.headers.get("Content-Length")) == len(data[end:])
    assert str(error) == "426 Upgrade Required: Sec-WebSocket-Version header must be 13 (8)"


# --- check_response -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status", "words"),
    [
        (make_response(status=200), 200, "101"),
        (make_response(status=403), 403, "403"),
        (make_response(drop=["Upgrade"]), 400, "Upgrade"),
        (make_response(replace={"Upgrade": "h2c"}), 400, "h2c"),
        (make_response(drop=["Connection"]), 400, "Connection"),
        (make_response(drop=["Sec-WebSocket-Accept"]), 400, "Sec-WebSocket-Accept"),
        (make_response(key=generate_key()), 400, RFC_ACCEPT),
        (make_response(replace={"Sec-WebSocket-Protocol": "chat"}), 400, "subprotocol"),
        (make_response(replace={"Sec-WebSocket-Extensions": "permessage-deflate"}), 400, "ext"),
    ],
)
def test_check_response_errors(response, status, words):
    """check_response refuses each broken server answer (RFC 6455 §4.1) with a precise message;
    the status is the response's own when it is not 101, else 400."""
    with pytest.raises(HandshakeError) as info:
        check_response(response, RFC_KEY)
    assert info.value.status == status
    assert words in info.value.message


def test_check_response_offered_subprotocol_and_extension():
    """A subprotocol or extension the client offered is accepted (RFC 6455 §4.1 items 5-6)."""
    response = make_response(
        replace={
            "Sec-WebSocket-Protocol": "chat",
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        }
    )
    check_response(response, RFC_KEY, subprotocols=["chat"], extensions=["permessage-deflate"])


# --- Cross-checks with websockets' own sans-I/O implementation ------------------------------


def test_websockets_server_accepts_our_request():
    """websockets' ServerProtocol accepts our request and we accept its 101 (RFC 6455 §4)."""
    key = generate_key()
    server = ServerProtocol()
    server.receive_data(build_request("localhost:8765", "/echo", key, origin="http://localhost"))
    [ws_request] = server.events_received()
    assert ws_request.path == "/echo"
    ws_response = server.accept(ws_request)
    assert ws_response.status_code == 101
    server.send_response(ws_response)
    data = b"".join(server.data_to_send())
    assert find_head_end(data) == len(data)
    check_response(parse_response(data), key)
    assert server.state is State.OPEN


def test_our_server_accepts_websockets_request():
    """Our check_request accepts websockets' ClientProtocol request, and it accepts our 101."""
    client = ClientProtocol(parse_uri("ws://localhost:8765/echo"))
    ws_request = client.connect()
    client.send_request(ws_request)
    request = parse_request(b"".join(client.data_to_send()))
    assert request.target == "/echo"
    key = check_request(request)
    client.receive_data(build_response(key))
    [ws_response] = client.events_received()
    assert ws_response.status_code == 101
    assert client.handshake_exc is None
    assert client.state is State.OPEN


def test_websockets_server_error_response_parses():
    """websockets' refusal of a plain GET parses as a 426 and check_response refuses it."""
    server = ServerProtocol()
    server.receive_data(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    [ws_request] = server.events_received()
    server.send_response(server.accept(ws_request))
    data = b"".join(server.data_to_send())
    end = find_head_end(data)
    response = parse_response(data[:end])
    assert response.status == 426
    with pytest.raises(HandshakeError) as info:
        check_response(response, RFC_KEY)
    assert info.value.status == 426
