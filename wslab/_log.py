"""A bounded, printable log for each background service.

Background threads must never print (their output lands in whatever cell is running), yet a
learner needs to see what a server did. So each service keeps its own log in memory: websockets'
logger, asyncio's loop errors and wslab's own notes all end up here, and `Server.log()` shows
them when the learner asks.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass

#: How many entries a service keeps; older ones are dropped first.
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class LogEntry:
    """One line of a service's log."""

    t: float
    """Seconds since the service started."""
    level: str
    message: str

    def __str__(self) -> str:
        return f"{self.t * 1000:10.1f} ms  {self.level:<7} {self.message}"


class LogView(list[LogEntry]):
    """A snapshot of a log that prints as one line per entry."""

    def __str__(self) -> str:
        return "\n".join(str(entry) for entry in self) if self else "(log is empty)"

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's pretty printer
        p.text(str(self))


class ServiceLog:
    """Thread-safe ring buffer of log entries, with a `logging.Logger` that writes into it."""

    def __init__(self, name: str, maxlen: int = MAX_ENTRIES) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._start = time.perf_counter()
        self.dropped = 0
        """Entries pushed out of the ring buffer by newer ones."""
        # websockets logs here: its warnings and errors, and of its INFO lines only the
        # rejected handshakes (the others, connection open/closed, would repeat ours).
        # A Logger built directly, not through logging.getLogger(): it is not registered in the
        # logging manager (so it is freed with the service) and it never propagates to the root
        # logger (which would print to stderr).
        self.logger = logging.Logger(f"wslab.{name}", level=logging.INFO)
        self.logger.addFilter(_worth_keeping)
        self.logger.propagate = False
        self.logger.addHandler(_BufferHandler(self))

    def add(self, level: str, message: str) -> None:
        entry = LogEntry(time.perf_counter() - self._start, level, message)
        with self._lock:
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append(entry)

    def info(self, message: str) -> None:
        self.add("INFO", message)

    def error(self, message: str) -> None:
        self.add("ERROR", message)

    def view(self, level: str | None = None) -> LogView:
        with self._lock:
            entries = list(self._entries)
        if level is not None:
            entries = [e for e in entries if e.level == level.upper()]
        return LogView(entries)


def _worth_keeping(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.getMessage().startswith(
        "connection rejected"
    )


class _BufferHandler(logging.Handler):
    def __init__(self, log: ServiceLog) -> None:
        super().__init__()
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            self._log.add(record.levelname, message)
        except Exception:  # a logging handler must never raise into the code that logs
            pass
