"""wslab._throttle: the widgets' updater thread, driven by a plain counter and condition."""

from __future__ import annotations

import threading
import time

from helpers import wait_until

from wslab._throttle import Throttle


class Source:
    """A counter that notifies its condition on every change, as a tap or a chat model does."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.version = 0
        self.running = True
        self.shown: list[int] = []

    def bump(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def refresh(self) -> tuple[int, bool]:
        with self.changed:
            version, running = self.version, self.running
        self.shown.append(version)
        return version, running


def throttle(source: Source, rate: float = 20.0, **options) -> Throttle:
    failures: list[BaseException] = []
    updater = Throttle(
        "test-throttle",
        source.changed,
        rate,
        version=lambda: source.version,
        refresh=source.refresh,
        fail=failures.append,
        **options,
    )
    updater.start(0)
    return updater


def test_a_burst_costs_a_few_refreshes_and_the_last_shows_everything():
    """1,000 changes: at most one refresh per period (plus the first), the last one complete."""
    source = Source()
    updater = throttle(source, rate=20.0)
    started = time.monotonic()
    for _ in range(1000):
        source.bump()
    wait_until(lambda: source.shown and source.shown[-1] == 1000)
    elapsed = time.monotonic() - started
    assert len(source.shown) <= elapsed * 20.0 + 2
    updater.stop()
    assert not [t for t in threading.enumerate() if t.name == "test-throttle"]


def test_a_source_that_stops_without_a_word_is_noticed_by_polling():
    """alive() turning false ends the thread after one last refresh, without a notification."""
    source = Source()
    updater = throttle(source, alive=lambda: source.running, poll=0.01)
    source.running = False
    wait_until(lambda: not [t for t in threading.enumerate() if t.name == "test-throttle"])
    assert source.shown == [0]  # the final state, once
    updater.stop()  # harmless afterwards


def test_a_failing_refresh_ends_the_thread_quietly(capfd):
    """An exception in refresh() goes to fail(), never to stderr."""
    source = Source()
    failures: list[BaseException] = []

    def broken() -> tuple[int, bool]:
        raise RuntimeError("boom")

    Throttle("test-throttle", source.changed, 50.0, lambda: source.version, broken,
             failures.append).start(0)  # fmt: skip
    source.bump()
    wait_until(lambda: failures)
    assert str(failures[0]) == "boom"
    assert capfd.readouterr() == ("", "")
