"""Bytes on the wire per useful message, counted from what crossed the socket.

Every method runs through a `wslab.tap`, which records each HTTP head and WebSocket frame
with its exact size; nothing here is computed from a formula. What a tap sees is what the
two programs wrote to their sockets: the TCP/IP headers below (52-66 B per segment on
loopback, plus the TCP handshake and teardown of every connection) are not in these counts,
which is why a new connection per request costs the same here as keep-alive.

A connection's one-time costs (the WebSocket opening handshake, the room's greeting, the
closing handshake) are kept apart from the per-message cost, so that `WireCost.per_message`
can spread them over any number of messages N.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from http.client import HTTPConnection

from .._wire import CLIENT_TO_SERVER, WireRecord
from ..client import connect
from ..protocol import Opcode
from ..tap import tap
from .latency import TIMEOUT
from .topology import Servers, address


@dataclass(frozen=True)
class WireCost:
    """Bytes each way, per message and once per connection, for one method."""

    method: str
    unit: str
    """What one message is: "round trip", "event" or "empty poll"."""
    size: int
    """Useful payload bytes per message."""
    messages: int
    """How many messages the measurement sent."""
    up: float
    """Client → server bytes per message."""
    down: float
    """Server → client bytes per message."""
    setup_up: int = 0
    setup_down: int = 0
    closing_up: int = 0
    closing_down: int = 0

    @property
    def once(self) -> int:
        """Bytes per connection, whatever the number of messages: handshakes both ways."""
        return self.setup_up + self.setup_down + self.closing_up + self.closing_down

    def per_message(self, n: int = 1) -> float:
        """Bytes on the wire per message when one connection carries `n` messages."""
        return self.up + self.down + self.once / n

    def to_dict(self) -> dict:
        return asdict(self)


def measure_all(servers: Servers, size: int = 32, messages: int = 10) -> list[WireCost]:
    """Every method's wire cost, against in-thread servers (bytes don't depend on topology)."""
    return [
        websocket_echo(servers.ws_url("/echo"), size, messages),
        websocket_push(servers.ws_url("/room/wire"), size, messages),
        http_echo(servers.http.url, size, messages, new_connection=False),
        http_echo(servers.http.url, size, messages, new_connection=True),
        long_poll(servers, size, messages),
        short_poll_empty(servers.http.url, messages),
    ]


def websocket_echo(url: str, size: int = 32, messages: int = 10) -> WireCost:
    """A WebSocket connection: handshake, `messages` echoed binary messages, close."""
    payload = b"x" * size
    with tap(url, name="bench-wire") as recorder:
        with connect(recorder.url, timeout=TIMEOUT) as ws:
            for _ in range(messages):
                ws.request(payload)
        records = recorder.wait_for(2 * messages + 4)  # 2 heads, the messages, 2 close frames
    return _websocket_cost("WebSocket", "round trip", size, messages, records)


def websocket_push(url: str, size: int = 32, messages: int = 10) -> WireCost:
    """A room subscriber's connection, through the tap: what it takes to receive events."""
    payload = b"x" * size
    with tap(url, name="bench-wire") as recorder:
        with connect(recorder.url, timeout=TIMEOUT) as subscriber:
            with connect(url, timeout=TIMEOUT) as publisher:  # not through the tap
                for ws in (subscriber, publisher):
                    ws.recv()  # "joined"
                for _ in range(messages):
                    publisher.send(payload)
                    subscriber.recv()
        records = recorder.wait_for(messages + 5)  # heads, greeting, events, 2 close frames
    return _websocket_cost("WebSocket push", "event", size, messages, records)


def http_echo(
    url: str, size: int = 32, messages: int = 10, new_connection: bool = False
) -> WireCost:
    """``POST /echo`` of `size` bytes, `messages` times, over one connection or one each."""
    body = b"x" * size
    with tap(url, name="bench-wire") as recorder:
        host, port = address(recorder.url)
        conn = None
        for _ in range(messages):
            if conn is None:
                conn = HTTPConnection(host, port, timeout=TIMEOUT)
            conn.request("POST", "/echo", body, {"Content-Type": "application/octet-stream"})
            conn.getresponse().read()
            if new_connection:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        records = recorder.wait_for(2 * messages)
    name = "HTTP new connection" if new_connection else "HTTP keep-alive"
    return _http_cost(name, "round trip", size, messages, records)


def long_poll(servers: Servers, size: int = 32, messages: int = 10) -> WireCost:
    """A long-polling client's requests and answers, one event per poll."""
    from .latency import long_poll as long_poll_probe  # the same client as the latency test

    with tap(servers.http.url, name="bench-wire") as recorder:
        # The probe's first request (GET /events?since=0, to learn where the feed is) is
        # setup, not a message: clear it before counting.
        with long_poll_probe(recorder.url, servers.http_waiting, size) as probe:
            subscriber = recorder.wait_for(2)[0].conn
            recorder.clear()
            for _ in range(messages):
                probe()
            records = recorder.wait_for(4 * messages)
    # The tap sees the publisher's connection too: count the subscriber's only.
    polls = [r for r in records if r.conn == subscriber]
    return _http_cost("long poll", "event", size, messages, polls)


def short_poll_empty(url: str, messages: int = 10) -> WireCost:
    """What a poll that finds nothing new costs: ``GET /events?since=<latest>``."""
    with tap(url, name="bench-wire") as recorder:
        host, port = address(recorder.url)
        conn = HTTPConnection(host, port, timeout=TIMEOUT)
        try:
            conn.request("GET", "/events?since=0")
            last = json.loads(conn.getresponse().read())["last"]
            recorder.wait_for(2)
            recorder.clear()
            for _ in range(messages):
                conn.request("GET", f"/events?since={last}")
                conn.getresponse().read()
        finally:
            conn.close()
        records = recorder.wait_for(2 * messages)
    return _http_cost("short poll", "empty poll", 0, messages, records)


# --- counting -------------------------------------------------------------------------------


def _websocket_cost(
    method: str, unit: str, size: int, messages: int, records: Iterable[WireRecord]
) -> WireCost:
    setup, closing, data = _Split(), _Split(), _Split()
    for record in records:
        if record.kind == "frame" and record.opcode == Opcode.BINARY:
            data.add(record)
        elif record.kind == "frame" and record.opcode == Opcode.CLOSE:
            closing.add(record)
        elif record.kind == "http" or (record.kind == "frame" and record.opcode == Opcode.TEXT):
            setup.add(record)  # the handshake, and the room's greeting
        # pings and pongs (keepalive, every 20 s) are neither: left out
    up, down = data.per_message(messages)
    return WireCost(
        method, unit, size, messages, up, down, setup.up, setup.down, closing.up, closing.down
    )


def _http_cost(
    method: str, unit: str, size: int, messages: int, records: Iterable[WireRecord]
) -> WireCost:
    data = _Split()
    for record in records:
        data.add(record)
    up, down = data.per_message(messages)
    return WireCost(method, unit, size, messages, up, down)


class _Split:
    """Sizes of records, by direction."""

    def __init__(self) -> None:
        self.sizes: dict[bool, list[int]] = {True: [], False: []}

    def add(self, record: WireRecord) -> None:
        self.sizes[record.direction == CLIENT_TO_SERVER].append(record.size)

    @property
    def up(self) -> int:
        return sum(self.sizes[True])

    @property
    def down(self) -> int:
        return sum(self.sizes[False])

    def per_message(self, messages: int) -> tuple[float, float]:
        # Sizes can differ by a byte or two between messages (a sequence number that gains a
        # digit in a URL or a JSON body): the mean over the messages is what each one cost.
        # A direction may carry nothing per message (a push: the client only listens).
        means = []
        for direction in (True, False):
            sizes = self.sizes[direction]
            if len(sizes) not in (0, messages):
                raise AssertionError(
                    f"expected {messages} records {'up' if direction else 'down'}, got {len(sizes)}"
                )
            means.append(statistics.fmean(sizes) if sizes else 0.0)
        return means[0], means[1]
