"""An asyncio event loop of its own, running in a daemon thread.

Why a thread and not the kernel's loop: a server on the kernel's loop stalls whenever a cell
blocks, and deadlocks a synchronous client used in a cell. Each background service of wslab
(server, HTTP server, tap) owns one `BackgroundLoop`; the notebook talks to it only through
`run()`, which hands a coroutine to the loop thread and waits for its result.

The loop thread never writes to stdout or stderr: output from a thread lands in whichever cell
happens to be running. Unhandled loop errors go to the `on_error` callback instead, which
services route into their own log.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: How long stop() waits for the loop to wind down before giving up on the thread.
STOP_TIMEOUT = 5.0


class BackgroundLoop:
    """An event loop running forever in a daemon thread until `stop()`."""

    def __init__(self, name: str, on_error: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._on_error = on_error
        self.loop.set_exception_handler(self._handle_exception)
        self._thread = threading.Thread(target=self._run, name=f"wslab-{name}", daemon=True)
        self._thread.start()

    # --- public API ------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """True while the loop thread runs."""
        return self._thread.is_alive()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop thread and return its result (from any other thread)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("run() would deadlock when called from the loop's own thread")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except (concurrent.futures.TimeoutError, KeyboardInterrupt):
            # Don't leave the coroutine running after the caller gave up on it.
            future.cancel()
            raise

    def stop(self) -> None:
        """Cancel what still runs on the loop, stop it, join the thread and close the loop."""
        if not self._thread.is_alive():
            return
        if threading.current_thread() is self._thread:
            raise RuntimeError("a background loop cannot stop itself from its own thread")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(STOP_TIMEOUT)

    # --- private ---------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        # The same steps as asyncio.run() takes on exit, so nothing lingers after stop().
        loop = self.loop
        try:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def _handle_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Replaces asyncio's default handler, which logs to stderr via the root logger.
        exc = context.get("exception")
        message = context.get("message", "unhandled error in event loop")
        if exc is not None:
            message = f"{message}: {type(exc).__name__}: {exc}"
        if self._on_error is not None:
            self._on_error(message)
