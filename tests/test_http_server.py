"""Tests of `wslab.http_server`, with real clients: `http.client` and raw sockets."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time

import pytest

from wslab.http_server import http_server

TIMEOUT = 5.0  # seconds any client operation may take before the test fails


# --- helpers -------------------------------------------------------------------------------


def wait_until(predicate, timeout: float = TIMEOUT) -> None:
    """Poll `predicate` until it is true; fail the test if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout} s")
        time.sleep(0.002)


def request(srv, method: str, path: str, body: bytes | None = None, headers=None):
    """One request on a fresh connection: (status, headers, body)."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def get_json(srv, path: str):
    status, headers, body = request(srv, "GET", path)
    assert status == 200 and headers["Content-Type"] == "application/json"
    return json.loads(body)


def connect(srv) -> socket.socket:
    return socket.create_connection((srv.host, srv.port), timeout=TIMEOUT)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def raw(srv, data: bytes) -> bytes:
    """Send raw bytes on a new connection; return all the server answers before closing."""
    with connect(srv) as sock:
        sock.sendall(data)
        return read_all(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read exactly one response from a raw socket, leaving the connection usable."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a full response head"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    while len(body) < int(headers["Content-Length"]):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


@pytest.fixture
def server():
    srv = http_server("test-http", interval=None)
    yield srv
    srv.stop()


# --- request/response ----------------------------------------------------------------------


def test_root_greets(server):
    """GET / answers 200 with a short text greeting and only the fixed headers."""
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and body.startswith(b"Hello")
    assert headers == {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": str(len(body)),
        "Server": "wslab",
    }


def test_echo_get_returns_msg(server):
    """GET /echo?msg=... answers with the decoded msg as a text body."""
    status, headers, body = request(server, "GET", "/echo?msg=hello%20there%20%E2%9C%93")
    assert status == 200 and body == "hello there ✓".encode()
    assert headers["Content-Type"].startswith("text/plain")


def test_echo_post_returns_body_and_content_type(server):
    """POST /echo answers with the request body and the request's content type."""
    payload = b'{"x": [1, 2, 3]}'
    status, headers, body = request(
        server, "POST", "/echo", payload, {"Content-Type": "application/json"}
    )
    assert (status, headers["Content-Type"], body) == (200, "application/json", payload)


def test_keep_alive_uses_one_connection(server):
    """Several requests on one HTTPConnection travel over a single TCP connection."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    ports = set()
    try:
        for i in range(5):
            conn.request("GET", f"/echo?msg={i}")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, str(i).encode())
            ports.add(conn.sock.getsockname()[1])
    finally:
        conn.close()
    assert len(ports) == 1
    assert server.connections_total == 1 and server.requests_total == 5


def test_tcp_nodelay_is_set_on_every_connection(server):
    """The server side of each accepted connection has TCP_NODELAY (Nagle off)."""
    conns = [http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT) for _ in "ab"]
    try:
        for conn in conns:
            conn.request("GET", "/")
            conn.getresponse().read()
        peers = {"{}:{}".format(*conn.sock.getsockname()[:2]) for conn in conns}
        assert server.tcp_nodelay() == dict.fromkeys(peers, True)
    finally:
        for conn in conns:
            conn.close()


def test_connection_close_is_honoured(server):
    """A request with Connection: close gets its answer, then the server closes."""
    answer = raw(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nConnection: close\r\n" in answer
    wait_until(lambda: server.open_connections == 0)


def test_http10_closes_unless_keep_alive_is_asked(server):
    """HTTP/1.0 closes after one response by default and stays open with keep-alive."""
    assert b"\r\nConnection: close\r\n" in raw(server, b"GET / HTTP/1.0\r\n\r\n")
    with connect(server) as sock:
        for _ in range(2):
            sock.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, headers, _ = read_response(sock)
            assert (status, headers["Connection"]) == (200, "keep-alive")


# --- errors --------------------------------------------------------------------------------


def test_unknown_path_is_404(server):
    """An unknown path answers 404 with a short text body."""
    status, _, body = request(server, "GET", "/nowhere")
    assert status == 404 and b"/nowhere" in body


def test_wrong_method_is_405_with_allow(server):
    """A known path with the wrong method answers 405 and lists the allowed methods."""
    status, headers, _ = request(server, "DELETE", "/echo")
    assert (status, headers["Allow"]) == (405, "GET, POST")
    status, headers, _ = request(server, "POST", "/")
    assert (status, headers["Allow"]) == (405, "GET")


@pytest.mark.parametrize(
    "data",
    [
        b"HELLO\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET nowhere HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nName : space before colon\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
    ],
)
def test_malformed_request_is_400_and_closed(server, data):
    """A malformed request line, header or Content-Length answers 400, then the server closes."""
    answer = raw(server, data)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"\r\nConnection: close\r\n" in answer


def test_bad_query_numbers_are_400(server):
    """Non-numeric `since` or a non-numeric or negative `timeout` answers 400."""
    for path in ["/events?since=abc", "/events/wait?since=1.5", "/events/wait?timeout=x"]:
        assert request(server, "GET", path)[0] == 400
    assert request(server, "GET", "/events/wait?timeout=-1")[0] == 400


def test_body_over_max_body_is_413():
    """A body larger than max_body answers 413 and closes, even while the client still uploads."""
    with http_server("test-http-413", interval=None, max_body=100) as srv:
        status, headers, _ = request(srv, "POST", "/echo", b"x" * 200)
        assert (status, headers["Connection"]) == (413, "close")
        assert request(srv, "POST", "/echo", b"x" * 100)[0] == 200
    with http_server("test-http-413-big", interval=None) as srv:  # default max_body: 1 MiB
        assert request(srv, "POST", "/echo", b"x" * (4 * 1024 * 1024))[0] == 413


def test_head_over_16_kib_is_431(server):
    """A request head over 16 KiB answers 431, then the server closes."""
    answer = raw(server, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_chunked_body_is_501(server):
    """Transfer-Encoding: chunked answers 501 Not Implemented, then the server closes."""
    answer = raw(
        server, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 501 Not Implemented\r\n")


def test_bad_json_event_is_400(server):
    """POST /events with a body that is not JSON answers 400 and publishes nothing."""
    status, _, _ = request(server, "POST", "/events", b"{not json")
    assert status == 400 and server.last_seq == 0


# --- event feed ----------------------------------------------------------------------------


def test_short_poll_returns_at_once_then_published_events(server):
    """A short poll answers at once with an empty list, then with events published since."""
    assert get_json(server, "/events?since=0") == {"events": [], "last": 0}
    assert server.publish({"n": 1}) == 1
    assert server.publish("two") == 2
    assert get_json(server, "/events?since=0") == {
        "events": [
            {"type": "message", "seq": 1, "data": {"n": 1}},
            {"type": "message", "seq": 2, "data": "two"},
        ],
        "last": 2,
    }
    assert get_json(server, "/events?since=2") == {"events": [], "last": 2}
    assert get_json(server, "/events")["last"] == 2  # since defaults to 0


def test_post_event_publishes(server):
    """POST /events publishes the parsed JSON body and answers 201 with its seq."""
    status, headers, body = request(server, "POST", "/events", b'{"hello": "world"}')
    assert (status, headers["Content-Type"], json.loads(body)) == (
        201,
        "application/json",
        {"seq": 1},
    )
    assert get_json(server, "/events?since=0")["events"] == [
        {"type": "message", "seq": 1, "data": {"hello": "world"}}
    ]


def test_history_keeps_only_the_latest_events():
    """Only the last `history` events are kept for pollers."""
    with http_server("test-http-history", interval=None, history=3) as srv:
        for i in range(5):
            srv.publish(i)
        feed = get_json(srv, "/events?since=0")
    assert [e["seq"] for e in feed["events"]] == [3, 4, 5] and feed["last"] == 5


def test_publish_rejects_what_is_not_json_and_a_stopped_server():
    """publish() raises TypeError for non-JSON data and RuntimeError once the server stopped."""
    srv = http_server("test-http-publish", interval=None)
    try:
        with pytest.raises(TypeError):
            srv.publish(object())
    finally:
        srv.stop()
    with pytest.raises(RuntimeError):
        srv.publish("late")


def test_long_poll_returns_event_published_while_parked(server):
    """A long poll parked in another thread returns the event published after it parked."""
    result = {}

    def long_poll():
        result["feed"] = get_json(server, "/events/wait?since=0&timeout=30")

    thread = threading.Thread(target=long_poll)
    thread.start()
    try:
        wait_until(lambda: server.waiting == 1)
        assert "feed" not in result
        seq = server.publish({"news": True})
    finally:
        thread.join(TIMEOUT)
    assert result["feed"] == {
        "events": [{"type": "message", "seq": seq, "data": {"news": True}}],
        "last": seq,
    }
    assert server.waiting == 0


def test_long_poll_answers_at_once_when_events_exist(server):
    """A long poll answers at once when events newer than `since` already exist."""
    server.publish("ready")
    feed = get_json(server, "/events/wait?since=0&timeout=60")  # client times out in 5 s
    assert feed["events"] == [{"type": "message", "seq": 1, "data": "ready"}]


def test_long_poll_timeout_gives_empty_list(server):
    """A long poll with timeout=0.2 and nothing new answers with an empty list."""
    assert get_json(server, "/events/wait?since=0&timeout=0.2") == {"events": [], "last": 0}


def test_timer_publishes_ticks():
    """With an interval the timer publishes numbered ticks from seq 1."""
    with http_server("test-http-ticks", interval=0.05) as srv:
        wait_until(lambda: srv.last_seq >= 3)
        events = get_json(srv, "/events?since=0")["events"]
    assert events[:3] == [{"type": "tick", "seq": n, "source": "timer"} for n in (1, 2, 3)]


# --- robustness and lifecycle --------------------------------------------------------------


def test_vanishing_clients_do_not_disturb_others(capfd):
    """Clients that send half a request or half a body and vanish leave others served, silently."""
    with http_server("test-http-vanish", interval=None) as srv:
        good = http.client.HTTPConnection(srv.host, srv.port, timeout=TIMEOUT)
        good.request("GET", "/")
        assert good.getresponse().read()
        with connect(srv) as sock:  # half a head, then a clean close
            sock.sendall(b"GET /echo?msg=a HTTP/1.1\r\nHost: x\r\n")
        with connect(srv) as sock:  # half a body, then a reset
            sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nhalf")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        silent = connect(srv)  # connects, never sends
        stalled = connect(srv)  # half a head, then nothing
        stalled.sendall(b"GET / HTTP/1.1\r\n")
        try:
            wait_until(lambda: srv.connections_total == 5 and srv.open_connections == 3)
            for i in range(3):
                good.request("POST", "/echo", body=f"still here {i}".encode())
                response = good.getresponse()
                assert (response.status, response.read()) == (200, f"still here {i}".encode())
        finally:
            silent.close()
            stalled.close()
            good.close()
        wait_until(lambda: srv.open_connections == 0)
        assert srv.log("error") == []
    assert capfd.readouterr() == ("", "")


def test_idle_and_stalled_connections_time_out():
    """An idle connection is closed after idle_timeout and a stalled request gets 408."""
    with http_server(
        "test-http-timeouts", interval=None, idle_timeout=0.2, request_timeout=0.2
    ) as srv:
        with connect(srv) as silent:
            assert read_all(silent) == b""
        with connect(srv) as stalled:
            stalled.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            assert read_all(stalled).startswith(b"HTTP/1.1 408 Request Timeout\r\n")


def test_stop_closes_connections_and_wakes_long_polls():
    """stop() answers a parked long poll, closes keep-alive connections and ends the thread."""
    srv = http_server("test-http-stop", interval=None)
    result = {}

    def long_poll():
        try:
            result["feed"] = get_json(srv, "/events/wait?since=0&timeout=60")
        except (OSError, http.client.HTTPException) as exc:
            result["error"] = exc

    keep = connect(srv)
    thread = threading.Thread(target=long_poll)
    try:
        keep.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(keep)[0] == 200
        thread.start()
        wait_until(lambda: srv.waiting == 1)
        srv.stop()
        thread.join(TIMEOUT)
        assert not thread.is_alive()
        assert result == {"feed": {"events": [], "last": 0}}  # woken, not cut off
        try:
            assert keep.recv(1) == b""
        except ConnectionResetError:
            pass
    finally:
        keep.close()
        srv.stop()
    assert srv.log("error") == []  # the graceful stop finished; it did not time out
    assert (srv.running, srv.open_connections, srv.waiting) == (False, 0, 0)
    assert "wslab-test-http-stop" not in [t.name for t in threading.enumerate()]


def test_rerun_under_same_name_stops_previous():
    """Starting http_server() under a running name stops the old server and frees its port."""
    first = http_server("test-http-rerun", interval=None)
    try:
        second = http_server("test-http-rerun", interval=None)
        try:
            assert not first.running and second.running
            if second.port != first.port:  # the OS could, rarely, hand out the same port
                with pytest.raises(ConnectionRefusedError):
                    socket.create_connection((first.host, first.port), timeout=TIMEOUT)
            assert request(second, "GET", "/")[0] == 200
        finally:
            second.stop()
    finally:
        first.stop()


def test_factory_rejects_bad_arguments():
    """Unknown options and non-positive numbers are refused before anything starts."""
    with pytest.raises(TypeError, match="max_bdy"):
        http_server("test-http-bad", max_bdy=10)
    with pytest.raises(ValueError, match="interval"):
        http_server("test-http-bad", interval=0)
    with pytest.raises(ValueError, match="history"):
        http_server("test-http-bad", history=0)
    assert "wslab-test-http-bad" not in [t.name for t in threading.enumerate()]
