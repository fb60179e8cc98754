"""A widget's updater: one daemon thread that refreshes a view after changes, at most `rate`
times a second however fast the changes come.

The inspector (new records on a tap) and the chat panel (new messages in a model) both use
it. The source of changes notifies a `threading.Condition` on every change; `version()`,
called under that condition, says whether anything changed since the last refresh.

Rules of the loop:

1. Sleep on the condition until `version()` differs from what was shown, or until `alive()`
   turns false (a source that stops without notifying is polled every `poll` seconds).
2. Let changes pile up until the next refresh is due: a burst of a thousand changes costs a
   few refreshes, not a thousand. `urgent()` skips that wait (a final state to show promptly).
3. Call `refresh()`: one snapshot, one refresh. It returns the version it showed and whether
   to go on; False ends the thread (the final state is on show).

`stop()` ends the thread at once. The thread never prints: an exception ends it and goes
to `fail`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

#: How long `stop()` and `join()` wait for the thread to end.
JOIN_TIMEOUT = 2.0


class Throttle:
    """One daemon thread: refresh after changes, at most `rate` times a second (see above)."""

    def __init__(
        self,
        name: str,
        changed: threading.Condition,
        rate: float,
        version: Callable[[], Hashable],
        refresh: Callable[[], tuple[Hashable, bool]],
        fail: Callable[[BaseException], None],
        *,
        alive: Callable[[], bool] = lambda: True,
        urgent: Callable[[], bool] = lambda: False,
        poll: float | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self._changed = changed
        self._period = 1.0 / rate
        self._version, self._refresh, self._fail = version, refresh, fail
        self._alive, self._urgent, self._poll = alive, urgent, poll
        self._closing = threading.Event()
        self._seen: Hashable = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self, seen: Hashable) -> None:
        """Start from `seen`, the version on show now."""
        self._seen = seen
        self._thread.start()

    def stop(self) -> None:
        """End now, whatever is on show."""
        self._closing.set()
        with self._changed:
            self._changed.notify_all()
        self.join()

    def join(self) -> None:
        """Wait for the thread to end (it does by itself once `refresh()` says so)."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # never let threading print a traceback into a cell
            self._fail(exc)

    def _loop(self) -> None:
        closing, changed = self._closing, self._changed
        seen = self._seen
        next_refresh = time.monotonic() + self._period
        while not closing.is_set():
            # 1. Sleep until something changes (or the source stops, or we are stopped).
            with changed:
                while not closing.is_set() and self._version() == seen and self._alive():
                    changed.wait(self._poll)
            # 2. Let changes pile up until the next refresh is due: this bounds the rate.
            delay = next_refresh - time.monotonic()
            if delay > 0 and not self._urgent() and closing.wait(delay):
                return
            if closing.is_set():
                return
            # 3. One snapshot, one refresh, however many changes arrived meanwhile.
            seen, go_on = self._refresh()
            next_refresh = time.monotonic() + self._period
            if not go_on:
                return
