"""`reverse_proxy()`: a real nginx in front of a wslab server, or the user-space stand-in.

nginx runs unprivileged from a temporary folder: its configuration (`proxy.nginx_config`),
pid file, logs and temporary files all live there, and the folder goes when nginx stops.
nginx cannot listen on port 0, so a free port is found first by binding port 0 and letting
it go (should another program take it in between, nginx fails to start and we try again).

`Nginx` is a wslab service like the others: re-running a cell replaces it, `wslab.stop_all()`
stops it (SIGQUIT, nginx's graceful stop; SIGKILL if it does not go).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._service import LOOPBACK, START_TIMEOUT, Service
from .proxy import WORKING, ProxyConfig, UserSpaceProxy, nginx_config

#: Where Debian puts nginx; also looked up on PATH.
NGINX_PATHS = ("/usr/sbin/nginx",)
#: Seconds nginx gets to stop gracefully before SIGKILL.
STOP_GRACE = 2.0
START_ATTEMPTS = 3


#: Set this environment variable to 1 to use the user-space proxy even where nginx is installed.
NO_NGINX = "WSLAB_NO_NGINX"


def find_nginx() -> str | None:
    """The nginx executable, or None when nginx is not installed (or `NO_NGINX` is set)."""
    if os.environ.get(NO_NGINX) == "1":
        return None
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_PATHS if Path(p).exists()), None)


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it; we let it go at once)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class Nginx(Service):
    """nginx proxying to one upstream server; see `reverse_proxy()`."""

    kind = "nginx"

    def __init__(self, target: str, name: str, config: ProxyConfig, executable: str) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("ws", "http") or not parts.port:
            raise ValueError(f"nginx here proxies ws:// or http:// URLs with a port: {target!r}")
        super().__init__(name)
        self.target = target
        self.config = config
        self.executable = executable
        self.scheme = parts.scheme
        self.workdir: Path | None = None
        self.pid: int | None = None
        self._upstream = f"{parts.hostname}:{parts.port}"
        self._process: asyncio.subprocess.Process | None = None
        self._kept: dict[str, list[str]] = {}  # the logs, kept when the folder goes

    # --- public API ------------------------------------------------------------------------

    def access_log(self) -> list[str]:
        """nginx's access log: one line per finished request, ``address "request" status``."""
        return self._read_log("access.log")

    def error_log(self) -> list[str]:
        """nginx's error log (``info`` level: it says why a connection was closed)."""
        return self._read_log("error.log")

    def _read_log(self, name: str) -> list[str]:
        if name in self._kept:
            return self._kept[name]
        path = self.workdir / name if self.workdir else None
        return path.read_text(errors="replace").splitlines() if path and path.exists() else []

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Nginx {self.name!r} {self.url} -> {self.target} {state}>"

    # --- lifecycle -------------------------------------------------------------------------

    async def _start(self) -> tuple[str, int]:
        self.workdir = Path(tempfile.mkdtemp(prefix="wslab-nginx-"))
        error = ""
        for _ in range(START_ATTEMPTS):
            port = free_port()
            conf = self.workdir / "nginx.conf"
            conf.write_text(nginx_config(self.config, port, self._upstream, str(self.workdir)))
            # nginx's own messages (a bad directive...) go to a file: nobody reads a pipe.
            with open(self.workdir / "stderr.log", "wb") as stderr:
                self._process = await asyncio.create_subprocess_exec(
                    self.executable,
                    "-p",
                    str(self.workdir),
                    "-c",
                    str(conf),
                    "-e",
                    str(self.workdir / "error.log"),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,
                )
            self.pid = self._process.pid
            if await self._listening(port):
                return LOOPBACK, port
            await self._end()
            error = "\n".join(self._read_log("stderr.log")[-3:])
            if "Address already in use" not in error:
                break
        shutil.rmtree(self.workdir, ignore_errors=True)
        raise RuntimeError(f"nginx did not start: {error or 'no message'}")

    async def _listening(self, port: int) -> bool:
        """Wait until nginx accepts connections on `port`, or has exited."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT - 2
        while loop.time() < deadline and self._process.returncode is None:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(LOOPBACK, port)
                writer.close()
                return True
            # nginx is starting (or has failed): look again when it has had time to do either.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.02):
                    await self._process.wait()
        return False

    async def _stop(self) -> None:
        await self._end()
        if self.workdir is not None:
            # The folder goes; its logs stay readable from this object.
            self._kept = {name: self._read_log(name) for name in ("access.log", "error.log")}
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def _end(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                async with asyncio.timeout(STOP_GRACE):
                    await process.wait()
                return
            except TimeoutError:
                self._log.error(f"nginx {process.pid} did not stop: SIGKILL")


def access_log(proxy: Nginx | UserSpaceProxy, lines: int, timeout: float = 5.0) -> list[str]:
    """The proxy's access log once it holds at least `lines` lines (TimeoutError if it doesn't).

    A proxy writes a request's line when the request ends, which for a WebSocket is when
    the connection is closed: a moment after the client has seen it closed.
    """
    deadline = time.monotonic() + timeout
    while len(log := proxy.access_log()) < lines:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the access log has {len(log)} lines, not {lines}")
        time.sleep(0.01)
    return log


def reverse_proxy(
    target: Any,
    config: ProxyConfig = WORKING,
    name: str = "proxy",
    *,
    nginx: bool | None = None,
) -> Nginx | UserSpaceProxy:
    """A reverse proxy in front of `target`: nginx when installed, else `UserSpaceProxy`.

    ``nginx=True`` insists on nginx (RuntimeError if it is missing), ``nginx=False`` takes the
    user-space proxy; the default takes nginx when there is one. Both are services: re-running
    the cell replaces the proxy, `wslab.stop_all()` stops it.
    """
    url = getattr(target, "url", target)
    executable = find_nginx() if nginx is not False else None
    if nginx and executable is None:
        raise RuntimeError("nginx is not installed (Debian/Ubuntu: sudo apt-get install nginx)")
    if executable is None:
        return UserSpaceProxy(url, name, config).start()
    return Nginx(url, name, config, executable).start()
