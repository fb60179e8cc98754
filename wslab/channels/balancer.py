"""The load balancer used when nginx is not installed: least connections, in Python.

It does what the cluster needs from nginx and no more: each new TCP connection goes to the node
with the fewest connections it has open through us; a node that refuses (killed) is skipped and
the next one tried; then bytes are copied both ways until either side closes. It works on TCP,
below HTTP, so WebSocket upgrades pass unchanged. It runs on a loop thread of the kernel, so it
shares the kernel's GIL: fine for lessons, a bottleneck for measurements (use nginx for those).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from .._service import LOOPBACK
from .._streams import StreamService, no_delay

__all__ = ["TcpBalancer", "pipe"]

READ_SIZE = 65_536


class TcpBalancer(StreamService):
    kind = "load balancer"
    scheme = "ws"

    def __init__(self, name: str, ports: list[int]) -> None:
        super().__init__(name)
        self.ports = ports
        self.open = dict.fromkeys(ports, 0)
        """Connections open through us, per node port."""

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tried: set[int] = set()
        while len(tried) < len(self.ports):
            # Counted before connecting, so that clients arriving together spread out.
            port = min((p for p in self.ports if p not in tried), key=lambda p: self.open[p])
            tried.add(port)
            self.open[port] += 1
            try:
                up_reader, up_writer = await asyncio.open_connection(LOOPBACK, port)
            except OSError:
                self.open[port] -= 1
                continue
            try:
                no_delay(up_writer)
                await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
            finally:
                self.open[port] -= 1
                up_writer.close()
            return
        self._log.error("no node accepted the connection")


async def pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    record: Callable[[bytes], None] | None = None,
) -> None:
    """Copy one direction until it ends (`record` sees each chunk first); then hang up the
    other side too, as a broken cable would."""
    try:
        while data := await reader.read(READ_SIZE):
            if record is not None:
                record(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
