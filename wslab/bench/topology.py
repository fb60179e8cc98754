"""Where the measured servers run: on loop threads of this process, or in child processes.

- ``"thread"``: the notebook set-up. The server runs on its own event loop in a thread of the
  client's process, so the client and the server share one GIL: they take turns on one core.
- ``"process"``: each server in a child process (`wslab._process`), with a GIL and a core of
  its own. This is how servers run for real, and the set-up measurements should use.

Both run the same code (`wslab.bench.servers`, wslab's HTTP server), so that only the
topology differs between them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._process import serve_process
from ..http_server import http_server
from .servers import bench_server, tcp_echo_server

TOPOLOGIES = ("thread", "process")


@dataclass
class Servers:
    """The three servers of one topology: WebSocket (`bench` routes), HTTP and raw TCP echo."""

    topology: str
    ws: Any
    http: Any
    tcp: Any

    def ws_url(self, path: str) -> str:
        """The WebSocket server's URL with `path` (e.g. "/echo", "/room/a")."""
        return with_path(self.ws.url, path)

    def http_waiting(self) -> int:
        """Long polls parked in the HTTP server right now."""
        if self.topology == "process":
            return self.http.stats()["waiting"]
        return self.http.waiting

    def stop(self) -> None:
        for server in (self.ws, self.http, self.tcp):
            server.stop()


@contextlib.contextmanager
def servers(topology: str, prefix: str = "bench") -> Iterator[Servers]:
    """Start the servers of `topology`, yield them, stop them."""
    started = start(topology, prefix)
    try:
        yield started
    finally:
        started.stop()


def start(topology: str, prefix: str = "bench") -> Servers:
    """Start the servers of `topology` under names "<prefix>-ws-<topology>" and so on."""
    names = {kind: f"{prefix}-{kind}-{topology}" for kind in ("ws", "http", "tcp")}
    if topology == "thread":
        starters = {
            "ws": lambda: bench_server(name=names["ws"]),
            "http": lambda: http_server(name=names["http"], interval=None),
            "tcp": lambda: tcp_echo_server(name=names["tcp"]),
        }
    elif topology == "process":
        starters = {
            "ws": lambda: serve_process("bench", name=names["ws"]),
            "http": lambda: serve_process("http", name=names["http"], interval=None),
            "tcp": lambda: serve_process("tcp-echo", name=names["tcp"]),
        }
    else:
        raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")
    # Child processes take ~0.3 s each to start (mostly imports): start them side by side.
    with ThreadPoolExecutor(len(starters)) as pool:
        futures = {kind: pool.submit(starter) for kind, starter in starters.items()}
    failed = [f.exception() for f in futures.values() if f.exception() is not None]
    if failed:
        for future in futures.values():
            if future.exception() is None:
                future.result().stop()
        raise failed[0]
    return Servers(topology, **{kind: f.result() for kind, f in futures.items()})


def with_path(url: str, path: str) -> str:
    """`url` with its path replaced by `path`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def address(url: str) -> tuple[str, int]:
    """(host, port) of `url`."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    return parts.hostname, parts.port
