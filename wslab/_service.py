"""What every background service of wslab shares: a loop thread, a log, a name in the registry.

A service (a WebSocket server, the HTTP server, a tap, a process server) is started from a
notebook cell and must survive the way notebooks are used: cells re-run, run out of order,
interrupted. There is one way to start one, `Service.start()`: it stops whatever the registry
(`wslab._registry`) holds under the same name, starts the loop thread, binds, and holds the new
service under its name, so re-running a cell never leaks a thread or a listening socket.
Constructors start nothing: a constructor that rejects its arguments leaves nothing behind.
"""

from __future__ import annotations

import threading
from typing import Self

from ._log import LogView, ServiceLog
from ._loop import BackgroundLoop
from ._registry import SERVICE, registry, running, stop_all

__all__ = ["LOOPBACK", "Service", "running", "stop_all"]

#: Loopback only, always: nothing the course starts is reachable from another machine.
LOOPBACK = "127.0.0.1"

#: How long starting or stopping a service may take before wslab reports an error.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class Service:
    """Base class of the background services: a loop thread, a log and a lifecycle.

    Subclasses implement `_start()`, which binds and returns the listening (host, port), and
    `_stop()`, which shuts down gracefully; both run on the service's own loop. Factories end
    with ``return SomeService(...).start()``.
    """

    kind = "service"
    scheme = "tcp"

    def __init__(self, name: str) -> None:
        self.name = name
        self.host: str = LOOPBACK
        self.port: int = 0
        self._log = ServiceLog(name)
        self._loop: BackgroundLoop | None = None  # created by start()
        self._stopped = False
        self._stop_lock = threading.Lock()

    # --- public API ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where clients connect, e.g. ``ws://127.0.0.1:41234/``."""
        return f"{self.scheme}://{self.host}:{self.port}/"

    @property
    def running(self) -> bool:
        """True from a successful start until `stop()`."""
        return not self._stopped and self._loop is not None and self._loop.alive

    def log(self, level: str | None = None) -> LogView:
        """What the service did, oldest first; prints as one line per entry."""
        return self._log.view(level)

    def start(self) -> Self:
        """Start serving under `name`, replacing what wslab runs under that name; return self.

        On failure (a port in use, a bad option), raise and leave nothing behind.
        """
        with self._stop_lock:
            if self._loop is not None or self._stopped:
                raise RuntimeError(f"{self.kind} {self.name!r} was started already")
            registry.take((SERVICE, self.name))  # before binding: the old one may hold a port
            self._loop = BackgroundLoop(self.name, on_error=self._log.error)
        try:
            self.host, self.port = self._loop.run(self._start(), timeout=START_TIMEOUT)
        except BaseException:
            self._stopped = True
            self._loop.stop()
            raise
        self._log.info(f"{self.kind} {self.name!r} listening on {self.url}")
        registry.hold((SERVICE, self.name), self, self.stop)
        return self

    def stop(self) -> None:
        """Stop serving, close connections, end the thread. Safe to call more than once."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        registry.release((SERVICE, self.name), self)
        loop = self._loop
        if loop is None:  # never started
            return
        try:
            if loop.alive:
                loop.run(self._stop(), timeout=STOP_TIMEOUT)
        except Exception as exc:  # stopping must go on even if a graceful close failed
            self._log.error(f"error while stopping: {type(exc).__name__}: {exc}")
        finally:
            loop.stop()
            self._log.info("stopped")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.name!r} {self.url} {state}>"

    # --- for subclasses --------------------------------------------------------------------

    async def _start(self) -> tuple[str, int]:
        raise NotImplementedError

    async def _stop(self) -> None:
        raise NotImplementedError
