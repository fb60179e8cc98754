"""Plain websockets servers: the baselines wslab's own servers are measured against.

Each runs the very handler wslab's server runs (`wslab.bench.servers.bench`), with websockets'
``serve()`` and nothing of wslab's around it, in the same topology as the wslab server it is
compared with:

- `thread_server`: ``serve()`` on an event loop in a thread of this process (the notebook
  set-up);
- `process_server`: ``asyncio.run(serve(...))`` in the main thread of a child process, the
  way a websockets server is usually deployed.

Compression is off on both, as on wslab's servers.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from websockets.asyncio.server import serve

from .._loop import BackgroundLoop
from .servers import bench

#: Seconds to start or stop a baseline server.
TIMEOUT = 10.0

_CHILD_SCRIPT = """
import asyncio, sys
from websockets.asyncio.server import serve
from wslab.bench.servers import bench

async def main():
    async with serve(bench, "127.0.0.1", 0, compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF

asyncio.run(main())
"""


@dataclass(frozen=True)
class Baseline:
    url: str
    pid: int


@contextlib.contextmanager
def thread_server() -> Iterator[Baseline]:
    """websockets' ``serve(bench)`` on a loop thread of this process."""
    loop = BackgroundLoop("bench-baseline")
    try:

        async def start():
            # serve() needs a running loop: create it in a coroutine on that loop.
            return await serve(bench, "127.0.0.1", 0, compression=None)

        server = loop.run(start(), timeout=TIMEOUT)
        port = server.sockets[0].getsockname()[1]
        try:
            yield Baseline(f"ws://127.0.0.1:{port}/", os.getpid())
        finally:
            server.close()
            loop.run(server.wait_closed(), timeout=TIMEOUT)
    finally:
        loop.stop()


@contextlib.contextmanager
def process_server() -> Iterator[Baseline]:
    """websockets' ``serve(bench)`` in ``asyncio.run()`` of a child process."""
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
        port = int(process.stdout.readline() or 0) if ready else 0
        if not port:
            raise RuntimeError("the plain websockets server did not start")
        yield Baseline(f"ws://127.0.0.1:{port}/", process.pid)
    finally:
        if process.stdin is not None:
            process.stdin.close()  # EOF: the child's server closes and the process ends
        try:
            process.wait(TIMEOUT / 2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
