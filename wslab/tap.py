"""`wslab.tap()`: a recording TCP proxy that shows what really crosses the wire.

Clients connect to ``tap.url`` instead of the server's URL; the tap forwards every byte both
ways, unchanged, and records it with a timestamp. Each direction's bytes are decoded with the
course's own codec (`wslab.protocol`): first HTTP heads, then, once the handshake switches
protocols, WebSocket frames. This is how lessons show the wire: from the bytes themselves,
never reconstructed from a library's logs.

Records are made *before* the bytes are forwarded, so when a client has received a message,
the tap has already recorded it: a cell that reads ``tap.frames()`` right after ``recv()``
sees every frame that led to it.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from ._streams import StreamService, no_delay
from ._wire import CLIENT_TO_SERVER, SERVER_TO_CLIENT, DirectionDecoder, WireRecord, WireTable

#: How many records a tap keeps; the oldest are dropped first.
MAX_RECORDS = 10_000
READ_SIZE = 65_536


class Tap(StreamService):
    """A recording proxy in front of one server; see `tap()`."""

    kind = "tap"

    def __init__(self, target: str, name: str, max_records: int = MAX_RECORDS) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("ws", "http") or not parts.hostname or not parts.port:
            raise ValueError(f"tap needs a ws:// or http:// URL with a port, got {target!r}")
        super().__init__(name)
        self.target = target
        self.scheme = parts.scheme
        self._target_host = parts.hostname
        self._target_port = parts.port
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        self._records: list[WireRecord] = []
        self._max_records = max_records
        self._changed = threading.Condition()
        self._seq = itertools.count(1)
        self._conn_ids = itertools.count(1)
        self._started = time.perf_counter()

    # --- public API ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where clients connect instead of the server: same scheme and path, the tap's port."""
        return f"{self.scheme}://{self.host}:{self.port}{self._path}"

    def frames(self, conn: int | None = None, *, http: bool = True) -> WireTable:
        """What crossed the wire so far, oldest first; prints as a table.

        `conn` keeps one connection's records (connections are numbered from 1 in the order
        the tap accepted them); ``http=False`` leaves out the HTTP heads (the handshake).
        """
        with self._changed:
            records = list(self._records)
        return WireTable(
            r for r in records if (conn is None or r.conn == conn) and (http or r.kind != "http")
        )

    def wait_for(self, count: int, timeout: float = 5.0, **filters: Any) -> WireTable:
        """Wait until `frames(**filters)` holds at least `count` records and return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                table = self.frames(**filters)
                if len(table) >= count:
                    return table
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the tap saw {len(table)} records, not {count}")
                self._changed.wait(remaining)

    def totals(self) -> dict[str, int]:
        """Bytes seen in each direction since the tap started (or since `clear()`)."""
        table = self.frames()
        return {
            CLIENT_TO_SERVER: sum(r.size for r in table if r.direction == CLIENT_TO_SERVER),
            SERVER_TO_CLIENT: sum(r.size for r in table if r.direction == SERVER_TO_CLIENT),
        }

    def clear(self) -> None:
        """Forget the records so far (connections keep being decoded where they are)."""
        with self._changed:
            self._records.clear()
            self._changed.notify_all()

    # --- lifecycle -------------------------------------------------------------------------

    async def _stop(self) -> None:
        await super()._stop()
        with self._changed:  # wake whoever waits for records: there will be no more
            self._changed.notify_all()

    # --- per connection --------------------------------------------------------------------

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        conn = next(self._conn_ids)
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self._target_host, self._target_port
            )
        except OSError as exc:
            self._log.error(f"connection {conn}: cannot reach {self.target}: {exc}")
            return
        # Tracked like the client's side, so that stop() closes it too. Nagle off: otherwise
        # the tap itself would hold back small messages by tens of milliseconds.
        self._writers.add(server_writer)
        no_delay(server_writer)
        self._log.info(f"connection {conn} open")
        upstream = DirectionDecoder(CLIENT_TO_SERVER)
        downstream = DirectionDecoder(SERVER_TO_CLIENT)
        try:
            await asyncio.gather(
                self._pump(conn, upstream, client_reader, server_writer),
                self._pump(conn, downstream, server_reader, client_writer),
            )
        finally:
            server_writer.close()
            self._writers.discard(server_writer)
        self._log.info(f"connection {conn} closed")

    async def _pump(
        self,
        conn: int,
        decoder: DirectionDecoder,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Copy one direction, recording before forwarding; pass on a half-close."""
        try:
            while data := await reader.read(READ_SIZE):
                self._record(conn, decoder, data)
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
        except (ConnectionError, OSError):
            # One side vanished: close the other side too, as a broken cable would.
            writer.close()

    def _record(self, conn: int, decoder: DirectionDecoder, data: bytes) -> None:
        t = time.perf_counter() - self._started
        records = [
            WireRecord(seq=0, conn=conn, t=t, direction=decoder.direction, **fields)
            for fields in decoder.feed(data)
        ]
        if not records:
            return
        with self._changed:
            for record in records:
                self._records.append(record.numbered(next(self._seq)))
            overflow = len(self._records) - self._max_records
            if overflow > 0:
                del self._records[:overflow]
            self._changed.notify_all()


def tap(target: Any, name: str = "tap") -> Tap:
    """Start a recording proxy in front of `target` (a URL, or anything with a ``.url``).

    A tap already running under `name` is stopped first, so re-running a cell is safe.
    """
    url = getattr(target, "url", target)
    return Tap(url, name).start()
