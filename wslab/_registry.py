"""The one registry of what wslab runs in this kernel, and `stop_all()`, which ends all of it.

Rules (one place, for every kind of thing):

- Whatever wslab starts in the background is *held* here under a key ``(kind, name)`` until it
  is stopped: services (servers, HTTP servers, taps, process servers) under their name, chat
  panels and bots under their nick, inspectors under their tap's name, clients under
  themselves.
- Holding a key that is already held closes the previous holder first. That is what makes
  re-running a cell safe: a cell that starts "echo" again replaces "echo", never leaks it.
- `stop_all()` stops everything, users before what they use: clients, panels, bots and
  inspectors first, services last, newest first within each. A client then closes its own
  connection (1000) instead of being cut by its server, and a server never waits for a client
  that stopped reading. It runs at interpreter exit too.

This module imports nothing else of wslab, so that every other module may import it.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

#: The kind of key under which services are held; `running()` lists these.
SERVICE = "service"

Key = tuple[str, Hashable]


@dataclass(frozen=True)
class _Held:
    thing: Any
    stop: Callable[[], None] | None
    """What `stop_all()` calls; None: the thing ends by itself once what it shows stops."""
    replace: Callable[[], None] | None
    """What a new holder of the key calls; None: the same as `stop`."""


class Registry:
    """Things held by key; see the module's docstring for the rules."""

    def __init__(self) -> None:
        self._held: dict[Key, _Held] = {}
        self._lock = threading.Lock()

    def take(self, key: Key) -> bool:
        """Close whatever holds `key` (before its successor starts); True if something did."""
        with self._lock:
            old = self._held.pop(key, None)
        if old is not None:
            _replace(old)
        return old is not None

    def hold(
        self,
        key: Key,
        thing: Any,
        stop: Callable[[], None] | None,
        replace: Callable[[], None] | None = None,
    ) -> bool:
        """Hold `thing` under `key`, closing a previous holder first; True if there was one."""
        with self._lock:
            old = self._held.get(key)
            self._held[key] = _Held(thing, stop, replace)
        if old is not None and old.thing is not thing:
            _replace(old)
            return True
        return False

    def release(self, key: Key, thing: Any) -> None:
        """Forget `thing` (it stopped by itself), if it still holds `key`."""
        with self._lock:
            held = self._held.get(key)
            if held is not None and held.thing is thing:
                del self._held[key]

    def held(self, kind: str) -> dict[Hashable, Any]:
        """What is held under keys of `kind`, by name, oldest first."""
        with self._lock:
            return {name: held.thing for (k, name), held in self._held.items() if k == kind}

    def stop_all(self, kind: str | None = None) -> None:
        """Stop everything held (of `kind`, if given), in the order the module docstring gives.

        Every holder is stopped even if some fail; the first failure is raised at the end.
        """
        with self._lock:
            keys = [key for key in self._held if kind is None or key[0] == kind]
            taken = [(key, self._held.pop(key)) for key in keys]
        users = [held for key, held in reversed(taken) if key[0] != SERVICE]
        services = [held for key, held in reversed(taken) if key[0] == SERVICE]
        failures = []
        for held in users + services:
            try:
                if held.stop is not None:
                    held.stop()
            except Exception as exc:  # stop everything else first, then report it
                failures.append(exc)
        if failures:
            raise failures[0]


def _replace(held: _Held) -> None:
    close = held.replace or held.stop
    if close is not None:
        close()


registry = Registry()


def running() -> dict[str, Any]:
    """The services running now, by name."""
    return registry.held(SERVICE)  # type: ignore[return-value]


def stop_all() -> None:
    """Stop everything wslab started: clients, chat panels and bots, then every service."""
    registry.stop_all()


atexit.register(stop_all)
