"""`relay()`: a TCP relay that makes loopback feel like a real network, or breaks it on purpose.

Loopback is too good: a round trip takes microseconds, nothing is ever lost, no connection
dies at a bad moment. A `Relay` sits between client and server like the tap, forwards bytes
both ways unchanged, and adds what the field adds:

- ``Link(delay, jitter, loss)``: each chunk waits `delay` seconds (one way) plus a uniform
  draw from ``[0, jitter]``; with probability `loss` it also waits `rto` more, which is what a
  lost TCP segment feels like to the application (TCP resends it; everything behind it waits:
  head-of-line blocking). Bytes never overtake each other, as on one TCP connection;
- ``Cut(direction, after, times)``: on each of the first `times` connections, once the
  `after`-th data frame (text or binary) has gone through in `direction`, hang up both sides
  at once, so that whatever answer was due never comes (a crash between a frame and its ack);
- every chunk is recorded (`chunks()`), undecoded: what crossed, which way, how big, its first
  bytes. In front of a ``wss://`` server that is the way to see TLS records (`tls_records`).

No root, no kernel queueing discipline: everything happens in user space, on the relay's
own loop thread.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import protocol
from .._streams import StreamService, no_delay

CLIENT_TO_SERVER = "C→S"
SERVER_TO_CLIENT = "S→C"
READ_SIZE = 65_536
#: First bytes kept per recorded chunk (enough for a handshake and small messages).
KEEP = 4096


@dataclass(frozen=True)
class Link:
    """What the network between client and server does to each chunk, one way."""

    delay: float = 0.0
    """Seconds every chunk waits."""
    jitter: float = 0.0
    """Up to this many more seconds, drawn uniformly per chunk."""
    loss: float = 0.0
    """Probability that a chunk is lost once and resent after `rto`."""
    rto: float = 0.2
    """TCP's retransmission timeout: how long a lost segment holds everything behind it."""
    seed: int | None = None
    """Seed of the random draws, for a repeatable run."""

    def wait(self, rng: random.Random) -> float:
        """Seconds one chunk waits on this link."""
        extra = self.rto if self.loss and rng.random() < self.loss else 0.0
        return self.delay + (rng.uniform(0, self.jitter) if self.jitter else 0.0) + extra


#: A link that adds nothing.
NO_DELAY = Link()


@dataclass(frozen=True)
class Cut:
    """Hang up right after the `after`-th data frame in `direction`, on `times` connections."""

    direction: str = CLIENT_TO_SERVER
    after: int = 1
    times: int = 1


@dataclass(frozen=True)
class Chunk:
    """Bytes the relay read in one go from one side."""

    conn: int
    t: float
    direction: str
    size: int
    head: bytes


class _Pair:
    """One client connection and its upstream connection: what a cut or a timeout closes."""

    def __init__(self, conn: int, client: asyncio.StreamWriter, server: asyncio.StreamWriter):
        self.conn = conn
        self.writers = (client, server)
        self.frames = {CLIENT_TO_SERVER: 0, SERVER_TO_CLIENT: 0}
        self.parsers: dict[str, protocol.FrameParser | None] = {}
        self.heads: dict[str, bytearray | None] = {
            CLIENT_TO_SERVER: bytearray(),
            SERVER_TO_CLIENT: bytearray(),
        }
        self.cut = False
        # What a reverse proxy needs to know about the request (see proxy.UserSpaceProxy).
        self.request_head = bytearray()
        self.request_line: str | None = None
        self.status: str | None = None

    def hang_up(self) -> None:
        """Close both connections (what a proxy does when one side fails or times out)."""
        for writer in self.writers:
            writer.close()


class Relay(StreamService):
    """A forwarding proxy with a simulated link and faults; see `relay()`."""

    kind = "relay"

    def __init__(self, target: str, name: str, link: Link = NO_DELAY, cut: Cut | None = None):
        parts = urlsplit(target)
        if parts.scheme not in ("ws", "wss", "http", "https") or not parts.port:
            raise ValueError(f"a relay needs a ws://, wss:// or http:// URL and port: {target!r}")
        super().__init__(name)
        self.target = target
        self.scheme = parts.scheme
        self.link = link
        self.cut = cut
        self.cuts = 0
        """Connections cut so far by `cut`."""
        self._target_host = parts.hostname or "127.0.0.1"
        self._target_port = parts.port
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        self._rng = random.Random(link.seed)
        self._chunks: list[Chunk] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._started = time.perf_counter()

    # --- public API ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where clients connect instead of the server."""
        return f"{self.scheme}://{self.host}:{self.port}{self._path}"

    def chunks(self, conn: int | None = None) -> list[Chunk]:
        """The chunks relayed so far, oldest first (one connection's with `conn`)."""
        with self._lock:
            return [c for c in self._chunks if conn is None or c.conn == conn]

    # --- per connection --------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        conn = next(self._ids)
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self._target_host, self._target_port
            )
        except OSError as exc:
            self._log.error(f"connection {conn}: cannot reach {self.target}: {exc}")
            return
        self._writers.add(up_writer)
        no_delay(up_writer)
        pair = _Pair(conn, writer, up_writer)
        if self.cut is not None and self.cuts < self.cut.times:
            pair.parsers[self.cut.direction] = protocol.FrameParser(strict=False)
        self._log.info(f"connection {conn} open")
        try:
            await asyncio.gather(
                self._pump(pair, CLIENT_TO_SERVER, reader, up_writer),
                self._pump(pair, SERVER_TO_CLIENT, up_reader, writer),
            )
        finally:
            up_writer.close()
            self._writers.discard(up_writer)
        self._closed(pair, writer.get_extra_info("peername")[0])
        self._log.info(f"connection {conn} {'cut' if pair.cut else 'closed'}")

    async def _pump(self, pair: _Pair, direction: str, reader, writer) -> None:
        """Read one direction, and deliver each chunk after its wait, in order."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes | None, bool]] = asyncio.Queue()
        deliver = asyncio.create_task(self._deliver(pair, queue, writer))
        last = 0.0
        try:
            while data := await self._read(pair, direction, reader):
                if pair.cut:
                    continue  # after a cut, nothing more goes through: read to the end, drop
                self._record(pair.conn, direction, data)
                data = self._rewrite(pair, direction, data)
                data, cut_here = self._watch(pair, direction, data)
                last = max(loop.time() + self.link.wait(self._rng), last)
                queue.put_nowait((last, data, cut_here))
                if cut_here:
                    break
        except (ConnectionError, OSError):
            pass
        queue.put_nowait((last, None, False))
        await deliver

    async def _deliver(self, pair: _Pair, queue: asyncio.Queue, writer) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                at, data, cut_here = await queue.get()
                if at > loop.time():
                    await asyncio.sleep(at - loop.time())
                if data is None:
                    if writer.can_write_eof() and not writer.is_closing():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                if cut_here:
                    self._cut(pair, writer)
                    return
        except (ConnectionError, OSError):
            pair.hang_up()

    def _cut(self, pair: _Pair, writer: asyncio.StreamWriter) -> None:
        """Hang up on both sides, so that the frame just written arrives and nothing after it.

        The side that gets the frame gets an end of file right behind it (a half-close: no
        reset, which could destroy the frame in its socket buffer before it is read); the
        other side is reset at once, and whatever it was owed is dropped (see `_pump`).
        """
        pair.cut = True
        self.cuts += 1
        for side in pair.writers:
            if side is not writer:
                side.transport.abort()
        if writer.can_write_eof():
            writer.write_eof()

    # --- hooks (the user-space reverse proxy overrides them) --------------------------------

    async def _read(self, pair: _Pair, direction: str, reader: asyncio.StreamReader) -> bytes:
        return await reader.read(READ_SIZE)

    def _rewrite(self, pair: _Pair, direction: str, data: bytes) -> bytes:
        return data

    def _closed(self, pair: _Pair, peer: str) -> None:
        pass

    # --- faults ----------------------------------------------------------------------------

    def _watch(self, pair: _Pair, direction: str, data: bytes) -> tuple[bytes, bool]:
        """Count data frames in the cut's direction; return what to forward and whether to cut.

        The cut falls exactly at the end of the `after`-th data frame: bytes after it in the
        same chunk are never forwarded.
        """
        parser = pair.parsers.get(direction)
        if parser is None or pair.cut:
            return data, False
        offset = 0
        head = pair.heads[direction]
        if head is not None:  # the HTTP head is not made of frames: skip it first
            head += data
            end = protocol.find_head_end(bytes(head))
            if end is None:
                return data, False
            offset = len(data) - (len(head) - end)
            pair.heads[direction] = None
        position = -len(parser.buffered)  # bytes of this chunk's first frame seen earlier
        for frame in parser.feed(data[offset:]):
            position += protocol.header_length(frame) + frame.length
            if frame.opcode in (protocol.Opcode.TEXT, protocol.Opcode.BINARY):
                pair.frames[direction] += 1
                if pair.frames[direction] == self.cut.after:
                    return data[: offset + position], True
        return data, False

    def _record(self, conn: int, direction: str, data: bytes) -> None:
        chunk = Chunk(conn, time.perf_counter() - self._started, direction, len(data), data[:KEEP])
        with self._lock:
            self._chunks.append(chunk)


def relay(
    target: Any, name: str = "relay", *, link: Link = NO_DELAY, cut: Cut | None = None
) -> Relay:
    """Start a relay in front of `target` (a URL or anything with ``.url``); see `Relay`."""
    url = getattr(target, "url", target)
    return Relay(url, name, link, cut).start()


# --- TLS records, for a look at what a relay in front of wss:// carries ------------------------

TLS_CONTENT_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data"}
TLS_HANDSHAKE_TYPES = {1: "ClientHello", 2: "ServerHello"}


def tls_records(data: bytes) -> list[tuple[str, int]]:
    """Split one direction's bytes into TLS records: ``(content type, length)`` each.

    A TLS record is a 5-byte header (type, version, length) and its body (RFC 8446 §5.1).
    A handshake record also names its first message (ClientHello...) when it is readable.
    """
    records = []
    position = 0
    while position + 5 <= len(data):
        kind = data[position]
        length = int.from_bytes(data[position + 3 : position + 5], "big")
        name = TLS_CONTENT_TYPES.get(kind, f"type {kind}")
        if kind == 22 and position + 5 < len(data):
            name += f" ({TLS_HANDSHAKE_TYPES.get(data[position + 5], 'encrypted')})"
        records.append((name, length))
        position += 5 + length
    return records
