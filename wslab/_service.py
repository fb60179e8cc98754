"""What every background service of wslab shares: a loop thread, a log, a name in the registry.

A service (a WebSocket server, the HTTP server, a tap) is started from a notebook cell and must
survive the way notebooks are used: cells re-run, run out of order, interrupted. Hence the
registry: starting a service under a name that is already running stops the old one first, so
re-running a cell never leaks a thread or a listening socket. Everything still registered is
stopped at interpreter exit.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Self

from ._log import LogView, ServiceLog
from ._loop import BackgroundLoop

#: Loopback only, always: nothing the course starts is reachable from another machine.
LOOPBACK = "127.0.0.1"

#: How long starting or stopping a service may take before wslab reports an error.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class Service:
    """Base class of the background services: a loop thread, a log and a lifecycle.

    Subclasses implement `_start()`, which binds and returns the listening (host, port), and
    `_stop()`, which shuts down gracefully; both run on the service's own loop.
    """

    kind = "service"
    scheme = "tcp"

    def __init__(self, name: str) -> None:
        self.name = name
        self.host: str = LOOPBACK
        self.port: int = 0
        self._log = ServiceLog(name)
        self._loop = BackgroundLoop(name, on_error=self._log.error)
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
        return not self._stopped and self._loop.alive

    def log(self, level: str | None = None) -> LogView:
        """What the service did, oldest first; prints as one line per entry."""
        return self._log.view(level)

    def stop(self) -> None:
        """Stop serving, close connections, end the thread. Safe to call more than once."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            if self._loop.alive:
                self._loop.run(self._stop(), timeout=STOP_TIMEOUT)
        except Exception as exc:  # stopping must go on even if a graceful close failed
            self._log.error(f"error while stopping: {type(exc).__name__}: {exc}")
        finally:
            self._loop.stop()
            _registry.forget(self)
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

    def _launch(self) -> Self:
        """Start on the loop thread and register; on failure, leave nothing behind."""
        try:
            self.host, self.port = self._loop.run(self._start(), timeout=START_TIMEOUT)
        except BaseException:
            self._stopped = True
            self._loop.stop()
            raise
        self._log.info(f"{self.kind} {self.name!r} listening on {self.url}")
        _registry.add(self)
        return self


class _Registry:
    """Running services by name, so that re-running a cell replaces rather than leaks."""

    def __init__(self) -> None:
        self._services: dict[str, Service] = {}
        self._lock = threading.Lock()

    def replace(self, name: str) -> None:
        """Stop the service running under `name`, if any (before its successor starts)."""
        with self._lock:
            old = self._services.pop(name, None)
        if old is not None:
            old.stop()

    def add(self, service: Service) -> None:
        with self._lock:
            old = self._services.get(service.name)
            self._services[service.name] = service
        if old is not None and old is not service:
            old.stop()

    def forget(self, service: Service) -> None:
        with self._lock:
            if self._services.get(service.name) is service:
                del self._services[service.name]

    def running(self) -> dict[str, Service]:
        with self._lock:
            return dict(self._services)

    def stop_all(self) -> None:
        with self._lock:
            services = list(self._services.values())
            self._services.clear()
        for service in services:
            service.stop()


_registry = _Registry()


def running() -> dict[str, Service]:
    """The services running now, by name."""
    return _registry.running()


_stop_hooks: list[Callable[[], None]] = []


def on_stop_all(hook: Callable[[], None]) -> Callable[[], None]:
    """Have `stop_all()` call `hook` first: for what runs in the kernel but is no service
    (chat panels and bots, which are clients with threads of their own)."""
    _stop_hooks.append(hook)
    return hook


def stop_all() -> None:
    """Stop every running wslab service (servers, HTTP servers, taps) and close wslab clients."""
    from .client import close_all_clients  # imported here: client imports nothing of ours

    failures = []
    for hook in list(_stop_hooks):
        try:
            hook()
        except Exception as exc:  # stop everything else first, then report it
            failures.append(exc)
    _registry.stop_all()
    close_all_clients()
    if failures:
        raise failures[0]


atexit.register(stop_all)
