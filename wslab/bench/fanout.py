"""Fan-out: how long one message takes to reach every client of a room of N, and what each
open connection costs the server in memory.

The server is the `room` handler in a child process (`serve_process("room")`), started afresh
for each N so that memory freed by a previous room does not hide the next one's cost. The N
clients run in another child process (the *swarm*, asyncio, one connection each, plus one
publisher), so that neither the server nor the clients share a GIL with this process.

- time to all: the publisher sends; each client notes when the message arrived; the broadcast
  is done when the last one has it. Both times come from the same process (the swarm), so no
  clocks are compared across processes. The clients are Python too: on a machine with few
  cores, part of "time to all" is the swarm reading N messages, not the server writing them.
- memory per connection: the resident memory of the server process (its ``stats()``) with
  the room empty (after one connection came and went, so that first-use allocations are done), then
  with N clients in it; the difference over N.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .._limits import raise_open_files_limit
from .._process import serve_process
from ..client import connect
from . import swarm
from .stats import Summary
from .topology import with_path

#: Seconds to wait for the swarm to connect, or for one broadcast.
TIMEOUT = swarm.TIMEOUT
ROOM = "/room/fanout"


@dataclass(frozen=True)
class Fanout:
    """One room size: delivery times of every broadcast and the server's memory."""

    clients: int
    size: int
    delays: list[float] = field(repr=False)
    """Publish → arrival, for every client and every broadcast (seconds)."""
    time_to_all: list[float] = field(repr=False)
    """Publish → arrival at the last client, per broadcast (seconds)."""
    rss_empty: int
    """Server's resident memory with the room empty (bytes)."""
    rss_full: int
    """... with the N clients in the room (bytes)."""

    @property
    def memory_per_connection(self) -> float:
        """Bytes of server memory per open connection."""
        return (self.rss_full - self.rss_empty) / self.clients

    @property
    def delay(self) -> Summary:
        return Summary.of(self.delays)

    @property
    def to_all(self) -> Summary:
        return Summary.of(self.time_to_all)

    def to_dict(self) -> dict:
        return {
            "clients": self.clients,
            "size": self.size,
            "broadcasts": len(self.time_to_all),
            "delay": self.delay.to_dict(),
            "time_to_all": self.to_all.to_dict(),
            "rss_empty": self.rss_empty,
            "rss_full": self.rss_full,
            "memory_per_connection": self.memory_per_connection,
        }


def measure(
    clients: int,
    broadcasts: int = 10,
    size: int = 32,
    on_step: Callable[[str], None] | None = None,
) -> Fanout:
    """Open a room of `clients` in a fresh server process, broadcast `broadcasts` times."""
    # A listen backlog as long as a batch of connections: the default (100) would make the
    # kernel drop SYNs, and clients would retry after a second.
    with serve_process("room", name="bench-fanout", backlog=4 * swarm.BATCH) as server:
        url = with_path(server.url, ROOM)
        with connect(with_path(server.url, "/room/warm-up")) as first:
            first.recv()  # "joined"
        server.wait_idle()
        rss_empty = server.stats()["rss"]
        with Swarm(url, clients) as clients_process:
            if on_step:
                on_step(f"{clients} clients connected")
            rss_full = server.stats()["rss"]
            delays, time_to_all = clients_process.broadcast(broadcasts, size)
    return Fanout(clients, size, delays, time_to_all, rss_empty, rss_full)


class Swarm:
    """`clients` WebSocket clients and a publisher in a child process, all in one room."""

    def __init__(self, url: str, clients: int) -> None:
        self._stderr = tempfile.TemporaryFile()
        raise_open_files_limit()  # the swarm inherits it: its 1,000 clients need more than 1,024
        self._process = subprocess.Popen(
            # -P: the script's folder (wslab/bench) must not shadow anything on sys.path.
            [sys.executable, "-P", swarm.__file__, json.dumps({"url": url, "clients": clients})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
        )
        try:
            self._read()  # {"ready": clients}
        except BaseException:
            self.close()
            raise

    def broadcast(self, count: int, size: int) -> tuple[list[float], list[float]]:
        """(delays, time to all) of `count` broadcasts of `size` bytes, one after the other."""
        assert self._process.stdin is not None
        self._process.stdin.write(f"{count} {size}\n".encode())
        self._process.stdin.flush()
        result = self._read()
        return result["delays"], result["time_to_all"]

    def close(self) -> None:
        """End the swarm: EOF on its stdin, then SIGKILL if it has not exited in time."""
        process = self._process
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(TIMEOUT / 6)
        except (subprocess.TimeoutExpired, OSError):
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()
            self._stderr.close()

    def __enter__(self) -> Swarm:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _read(self) -> dict:
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], TIMEOUT)
        line = self._process.stdout.readline() if ready else b""
        if not line:
            self._stderr.seek(0)
            errors = self._stderr.read().decode(errors="replace").strip()
            raise RuntimeError(f"the client swarm failed: {errors or 'no answer in time'}")
        message = json.loads(line)
        if "error" in message:
            raise RuntimeError(f"the client swarm failed: {message['error']}")
        return message


def measure_all(
    sizes: Sequence[int],
    broadcasts: int,
    size: int = 32,
    on_step: Callable[[str], None] | None = None,
) -> list[Fanout]:
    """`measure` for each room size in `sizes`."""
    return [measure(n, broadcasts, size, on_step) for n in sizes]
