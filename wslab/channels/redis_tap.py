"""A tap on the Redis link: the commands nodes send and what Redis pushes back, decoded.

Like `wslab.tap()` for WebSockets, it is a recording TCP proxy: point the cluster's broker URL
at ``link.url`` instead of Redis's and every byte between nodes and Redis passes through it.
Each direction is decoded as RESP, Redis's wire format (``*3\\r\\n$7\\r\\nPUBLISH\\r\\n...``:
arrays of length-prefixed strings), one record per command or reply. Each node names its
connections (``CLIENT SETNAME``), so records say which node a connection belongs to.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .._streams import StreamService, no_delay
from .balancer import pipe

__all__ = ["RedisTap", "RespRecord", "parse_resp", "redis_tap"]

TO_REDIS, FROM_REDIS = "→ redis", "← redis"
MAX_RECORDS = 10_000


@dataclass(frozen=True)
class RespRecord:
    seq: int
    conn: int
    who: str
    """The name the connection gave itself (CLIENT SETNAME), or "conn <n>"."""
    t: float
    direction: str
    value: Any
    size: int

    def __str__(self) -> str:
        return (
            f"{self.seq:>4} {self.who:<14} {self.direction}  {_show(self.value)}  ({self.size} B)"
        )


def _show(value: Any, width: int = 90) -> str:
    text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    text = " ".join(text.split())  # a script's newlines, on one line
    return text if len(text) <= width else text[: width - 1] + "…"


def parse_resp(buffer: bytes, start: int = 0) -> tuple[Any, int] | None:
    """One RESP value from `buffer` at `start` and where it ends, or None if incomplete."""
    end = buffer.find(b"\r\n", start)
    if end < 0:
        return None
    kind, line = buffer[start : start + 1], buffer[start + 1 : end].decode(errors="replace")
    after = end + 2
    if kind in (b"+", b"-"):
        return (line if kind == b"+" else f"ERR {line}"), after
    if kind == b":":
        return int(line), after
    if kind == b"$":
        length = int(line)
        if length < 0:
            return None, after
        if len(buffer) < after + length + 2:
            return None
        return buffer[after : after + length].decode(errors="replace"), after + length + 2
    if kind in (b"*", b">"):
        items = []
        for _ in range(max(int(line), 0)):
            parsed = parse_resp(buffer, after)
            if parsed is None:
                return None
            item, after = parsed
            items.append(item)
        return items, after
    raise ValueError(f"not RESP: {buffer[start : start + 20]!r}")


class RedisTap(StreamService):
    """A recording proxy in front of a Redis server; see `redis_tap()`."""

    kind = "redis tap"
    scheme = "redis"

    def __init__(self, target: str, name: str) -> None:
        parts = urlsplit(target)
        if parts.scheme != "redis" or not parts.port:
            raise ValueError(f"redis_tap needs a redis:// URL with a port, got {target!r}")
        super().__init__(name)
        self.target = target
        self._target = (parts.hostname or "127.0.0.1", parts.port)
        self._records: list[RespRecord] = []
        self._names: dict[int, str] = {}
        self._seq = itertools.count(1)
        self._conns = itertools.count(1)
        self._t0 = time.perf_counter()

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def records(self, who: str | None = None, contains: str | None = None) -> list[RespRecord]:
        """What crossed the link, oldest first; only `who`'s, only those mentioning `contains`."""
        return [
            r
            for r in list(self._records)
            if (who is None or r.who == who)
            and (contains is None or contains in _show(r.value, 10**6))
        ]

    def clear(self) -> None:
        self._records.clear()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = next(self._conns)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError as exc:
            self._log.error(f"connection {conn}: cannot reach {self.target}: {exc}")
            return
        no_delay(up_writer)
        self._writers.add(up_writer)
        try:
            await asyncio.gather(
                pipe(reader, up_writer, self._recorder(conn, TO_REDIS)),
                pipe(up_reader, writer, self._recorder(conn, FROM_REDIS)),
            )
        finally:
            self._writers.discard(up_writer)

    def _recorder(self, conn: int, direction: str) -> Any:
        buffer = bytearray()

        def record(data: bytes) -> None:
            buffer.extend(data)
            while buffer:
                try:
                    parsed = parse_resp(bytes(buffer))
                except ValueError:
                    buffer.clear()  # not RESP: stop decoding this chunk rather than guess
                    return
                if parsed is None:
                    return
                value, used = parsed
                del buffer[:used]
                if isinstance(value, list) and [str(v).upper() for v in value[:2]] == [
                    "CLIENT",
                    "SETNAME",
                ]:
                    self._names[conn] = str(value[2])
                who = self._names.get(conn, f"conn {conn}")
                t = time.perf_counter() - self._t0
                self._records.append(
                    RespRecord(next(self._seq), conn, who, t, direction, value, used)
                )
                del self._records[:-MAX_RECORDS]

        return record


def redis_tap(target: Any, name: str = "redis-tap") -> RedisTap:
    """Start a recording proxy in front of a Redis server (a URL, or anything with ``.url``)."""
    return RedisTap(getattr(target, "url", target), name).start()
