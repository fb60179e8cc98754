"""Shared test helpers: waiting on conditions and counting what a process holds open.

A module of its own rather than conftest.py: tests/exercises has a conftest.py too, and
`from conftest import ...` would pick whichever pytest imported first.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.005):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


@dataclass(frozen=True)
class Resources:
    """What this process holds open: threads, sockets and listening TCP ports."""

    threads: frozenset[str]
    sockets: int
    listening: frozenset[int]

    @classmethod
    def now(cls) -> Resources:
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:  # the fd of listdir itself, closed meanwhile
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        listening = set()
        for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
            with open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    # st == 0A is LISTEN; keep only sockets this process owns (by inode).
                    if fields[3] == "0A" and fields[9] in inodes:
                        listening.add(int(fields[1].rsplit(":", 1)[1], 16))
        threads = frozenset(f"{t.name}#{t.ident}" for t in threading.enumerate())
        return cls(threads, len(inodes), frozenset(listening))


def assert_released(before: Resources, timeout: float = 5.0) -> None:
    """Wait until the process holds no more threads, sockets or listeners than `before`."""

    def released() -> bool:
        now = Resources.now()
        return (
            now.threads <= before.threads
            and now.sockets <= before.sockets
            and now.listening <= before.listening
        )

    deadline = time.monotonic() + timeout
    while not released():
        if time.monotonic() > deadline:
            now = Resources.now()
            pytest.fail(
                f"leaked: threads {sorted(now.threads - before.threads)}, "
                f"sockets {before.sockets} -> {now.sockets}, "
                f"listening {sorted(now.listening - before.listening)}"
            )
        time.sleep(0.01)


def child_pids() -> set[int]:
    """Processes whose parent is this process, zombies (exited, not yet reaped) included."""
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == os.getpid():
            children.add(int(entry))
    return children


# --- a WebSocket client on a raw socket, built from the teaching codec ----------------------


def raw_connection(server) -> socket.socket:
    """A plain TCP connection to a wslab service, with a timeout on every read."""
    return socket.create_connection((server.host, server.port), timeout=5)


def handshake(sock: socket.socket, server) -> bytes:
    """Complete a valid opening handshake on a raw socket; return bytes read past the head."""
    from wslab import protocol

    key = protocol.generate_key()
    sock.sendall(protocol.build_request(f"127.0.0.1:{server.port}", "/", key))
    buffer = b""
    while (end := protocol.find_head_end(buffer)) is None:
        buffer += sock.recv(4096)
    protocol.check_response(protocol.parse_response(buffer[:end]), key)
    return buffer[end:]


def read_frames(sock: socket.socket, parser, already: bytes = b"") -> list:
    """Feed `parser` what was already read, then the socket, until it yields frames."""
    frames = parser.feed(already)
    while not frames:
        data = sock.recv(4096)
        if not data:
            raise ConnectionError("the server closed the connection before a whole frame")
        frames = parser.feed(data)
    return frames
