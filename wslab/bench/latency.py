"""Latency: round trips and delivery delays, many samples after a warm-up.

Each method opens its connections once, then yields a *probe*: a function that takes one
sample and returns it in seconds. Only what the probe times is measured; connecting,
warming up and checking replies are not.

Round trips (send a message, wait for the same bytes back), with a blocking client in the
calling thread, the way a notebook cell talks to a server:

- raw TCP: a socket and an echo server, Nagle off: the floor under every protocol;
- WebSocket: a message over an open WebSocket connection (`wslab.connect`, or websockets'
  own sync client for baselines);
- HTTP keep-alive: ``POST /echo`` over one persistent connection (`http.client`);
- HTTP new connection: the same, with a new TCP connection per request (naive polling).

Delivery delays (the server has news for a client: how long until the client has it), where
a second connection of the same kind publishes the news:

- WebSocket push: another member of a room sends; time until the subscriber receives it;
- long poll: the subscriber's ``GET /events/wait`` is parked in the server; another connection
  ``POST``s an event; time until the parked request's response is read;
- short poll: a poller asks ``GET /events`` every `interval` on a new connection; events are
  published at random moments; time until the poller sees each one (~interval/2 + a request).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.client import HTTPConnection

from websockets.sync.client import connect as websockets_connect

from ..client import connect
from .topology import address

#: Seconds any one receive or request may take before the measurement fails.
TIMEOUT = 10.0

Probe = Callable[[], float]


def measure(probe: Probe, count: int, warmup: int | None = None) -> list[float]:
    """`count` samples from `probe`, after `warmup` untimed ones (default: a tenth, >= 1)."""
    for _ in range(max(1, count // 10) if warmup is None else warmup):
        probe()
    return [probe() for _ in range(count)]


# --- round trips ----------------------------------------------------------------------------


@contextlib.contextmanager
def tcp_rtt(url: str, size: int = 32) -> Iterator[Probe]:
    """Round trips of `size` bytes over a plain TCP connection to an echo server at `url`."""
    message = b"x" * size
    with socket.create_connection(address(url), timeout=TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def probe() -> float:
            started = time.perf_counter()
            sock.sendall(message)
            received = 0
            while received < size:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the echo server closed the connection")
                received += len(chunk)
            return time.perf_counter() - started

        yield probe


@contextlib.contextmanager
def websocket_rtt(url: str, size: int = 32, client: str = "wslab") -> Iterator[Probe]:
    """Round trips of a `size`-byte binary message to the echo server at `url`.

    `client` is "wslab" (`wslab.connect`) or "websockets" (websockets' sync client, no
    compression: what wslab is compared against).
    """
    message = b"x" * size
    if client == "wslab":
        opened = connect(url, timeout=TIMEOUT)
    elif client == "websockets":
        opened = websockets_connect(url, proxy=None, compression=None, open_timeout=TIMEOUT)
    else:
        raise ValueError(f"client must be 'wslab' or 'websockets', got {client!r}")
    with opened as ws:

        def probe() -> float:
            started = time.perf_counter()
            ws.send(message)
            reply = ws.recv(TIMEOUT)
            elapsed = time.perf_counter() - started
            if reply != message:
                raise AssertionError("the echo differs from the message")
            return elapsed

        yield probe


@contextlib.contextmanager
def http_rtt(url: str, size: int = 32, new_connection: bool = False) -> Iterator[Probe]:
    """``POST /echo`` round trips of `size` bytes: over one connection, or a new one each time."""
    host, port = address(url)
    body = b"x" * size
    headers = {"Content-Type": "application/octet-stream"}

    def exchange(conn: HTTPConnection) -> None:
        conn.request("POST", "/echo", body, headers)
        response = conn.getresponse()
        if response.status != 200 or response.read() != body:
            raise AssertionError(f"POST /echo answered {response.status}")

    if new_connection:

        def probe() -> float:
            started = time.perf_counter()
            conn = HTTPConnection(host, port, timeout=TIMEOUT)
            try:
                exchange(conn)
            finally:
                conn.close()
            return time.perf_counter() - started

        yield probe
        return

    conn = HTTPConnection(host, port, timeout=TIMEOUT)
    try:

        def probe() -> float:
            started = time.perf_counter()
            exchange(conn)
            return time.perf_counter() - started

        yield probe
    finally:
        conn.close()


# --- delivery delays ------------------------------------------------------------------------


@contextlib.contextmanager
def websocket_push(url: str, size: int = 32) -> Iterator[Probe]:
    """Delay from one member of the room at `url` sending to another member receiving."""
    message = b"x" * size
    with connect(url, timeout=TIMEOUT) as subscriber, connect(url, timeout=TIMEOUT) as publisher:
        for ws in (subscriber, publisher):
            if ws.recv() != "joined":
                raise AssertionError("the room did not greet us")

        def probe() -> float:
            started = time.perf_counter()
            publisher.send(message)
            received = subscriber.recv()
            elapsed = time.perf_counter() - started
            if received != message:
                raise AssertionError("the room delivered something else")
            return elapsed

        yield probe


@contextlib.contextmanager
def long_poll(url: str, waiting: Callable[[], int], size: int = 32) -> Iterator[Probe]:
    """Delay from ``POST /events`` to the parked ``GET /events/wait`` answering with it.

    `waiting` tells how many long polls the server holds: each sample starts only once the
    server holds ours, so that what is timed is delivery to a waiting client.
    """
    host, port = address(url)
    subscriber = HTTPConnection(host, port, timeout=TIMEOUT)
    publisher = HTTPConnection(host, port, timeout=TIMEOUT)
    body = json.dumps("x" * size).encode()
    since = _read_json(subscriber, "GET", "/events?since=0")["last"]

    def probe() -> float:
        nonlocal since
        subscriber.request("GET", f"/events/wait?since={since}&timeout={TIMEOUT:g}")
        _wait_until(lambda: waiting() >= 1)
        started = time.perf_counter()
        publisher.request("POST", "/events", body, {"Content-Type": "application/json"})
        answer = subscriber.getresponse()
        events = json.loads(answer.read())
        elapsed = time.perf_counter() - started
        _read_json(publisher)  # the POST's own answer, 201
        if len(events["events"]) != 1:
            raise AssertionError(f"expected one event, got {events}")
        since = events["last"]
        return elapsed

    try:
        yield probe
    finally:
        subscriber.close()
        publisher.close()


@contextlib.contextmanager
def short_poll(url: str, interval: float = 0.02, size: int = 32, seed: int = 0) -> Iterator[Probe]:
    """Delay from ``POST /events`` until a poller asking every `interval` seconds sees it.

    The poller opens a new connection per poll (the naive way) in a thread of its own; each
    event is published at a random moment of the polling cycle.
    """
    host, port = address(url)
    publisher = HTTPConnection(host, port, timeout=TIMEOUT)
    body = json.dumps("x" * size).encode()
    seen: dict[int, float] = {}
    changed = threading.Condition()
    stopping = threading.Event()
    since = _read_json(publisher, "GET", "/events?since=0")["last"]
    errors: list[BaseException] = []

    def poll() -> None:
        last = since
        try:
            while not stopping.is_set():
                conn = HTTPConnection(host, port, timeout=TIMEOUT)
                try:
                    answer = _read_json(conn, "GET", f"/events?since={last}")
                finally:
                    conn.close()
                now = time.perf_counter()
                with changed:
                    for event in answer["events"]:
                        seen[event["seq"]] = now
                    changed.notify_all()
                last = answer["last"]
                stopping.wait(interval)
        except BaseException as exc:  # noqa: BLE001 -- reported by the probe, not printed
            errors.append(exc)
            with changed:
                changed.notify_all()

    poller = threading.Thread(target=poll, name="wslab-bench-poller", daemon=True)
    poller.start()
    phase = random.Random(seed)

    def probe() -> float:
        time.sleep(phase.uniform(0, interval))  # a random moment of the cycle, not a sync point
        started = time.perf_counter()
        seq = _read_json(publisher, "POST", "/events", body)["seq"]
        with changed:
            if not changed.wait_for(lambda: seq in seen or errors, TIMEOUT):
                raise TimeoutError(f"the poller did not see event {seq}")
        if errors:
            raise errors[0]
        return seen.pop(seq) - started

    try:
        yield probe
    finally:
        stopping.set()
        poller.join(TIMEOUT)
        publisher.close()


def _read_json(
    conn: HTTPConnection, method: str | None = None, target: str = "", body: bytes | None = None
) -> dict:
    if method is not None:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, target, body, headers)
    answer = conn.getresponse()
    data = answer.read()
    if answer.status not in (200, 201):
        raise AssertionError(f"{method} {target} answered {answer.status}: {data!r}")
    return json.loads(data)


def _wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not park the long poll")
        time.sleep(0.0002)
