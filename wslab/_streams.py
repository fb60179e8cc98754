"""A background service that is a plain asyncio stream server on loopback.

The tap and the raw TCP echo server of the benchmarks are both this: `asyncio.start_server`
on 127.0.0.1 port 0, Nagle off on every connection, and a stop that closes every connection
still open (a stream server's `close()` only stops accepting). Subclasses write
`_connection(reader, writer)`; the base class counts, tracks and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from ._service import LOOPBACK, Service


def no_delay(writer: asyncio.StreamWriter) -> None:
    """Turn Nagle's algorithm off: with it on, a small write waits for the previous one's ACK,
    which the peer delays by up to 40 ms (Nagle + delayed ACK)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # a peer that has already reset: nothing to do
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class StreamService(Service):
    """A `Service` serving `_connection(reader, writer)` for each client that connects."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.connections_total = 0
        """Client connections accepted since the service started."""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def connections(self) -> int:
        """Client connections open right now."""
        return len(self._writers)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        return self._server.sockets[0].getsockname()[:2]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_total += 1
        self._writers.add(writer)
        no_delay(writer)
        try:
            await self._connection(reader, writer)
        finally:
            self._writers.discard(writer)
            writer.close()
