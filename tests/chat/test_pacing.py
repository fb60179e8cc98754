"""wslab.chat.pacing: when joins and leaves are told, with times as plain numbers. No clock."""

from __future__ import annotations

import pytest

from wslab.chat.pacing import PresencePacer


def pacer() -> PresencePacer:
    return PresencePacer(delay=0.05, max_delay=1.0, interval=0.1)


def test_nothing_waiting_nothing_due():
    """Without a change, no batch is due, before and after a flush."""
    clock = pacer()
    assert clock.due() is None
    clock.changed(10.0)
    clock.flushed(10.05)
    assert clock.due() is None


def test_one_change_is_told_after_the_delay():
    """A lone join in a quiet room goes out `delay` after it."""
    clock = pacer()
    clock.changed(10.0)
    assert clock.due() == pytest.approx(10.05)


def test_a_burst_is_told_once_it_is_quiet():
    """Changes closer together than `delay` push the batch back: one batch, after the last."""
    clock = pacer()
    for n in range(10):
        clock.changed(10.0 + n * 0.01)
    assert clock.due() == pytest.approx(10.09 + 0.05)


def test_a_stream_of_changes_is_told_by_the_deadline():
    """Changes that never stop are told `max_delay` after the first one not yet told."""
    clock = pacer()
    for n in range(300):
        clock.changed(10.0 + n * 0.01)  # until 12.99, never quiet for 50 ms
    assert clock.due() == pytest.approx(11.0)


def test_after_a_flush_a_new_batch_starts():
    """The deadline counts from the first change after the last flush, not from older ones."""
    clock = pacer()
    clock.changed(10.0)
    clock.flushed(11.0)
    clock.changed(20.0)
    for n in range(1, 100):
        clock.changed(20.0 + n * 0.02)
    assert clock.due() == pytest.approx(21.0)


def test_a_connection_is_an_arrival_under_way():
    """While a batch waits, a new connection (a join to come) counts as a change; with nothing
    waiting, it starts nothing."""
    clock = pacer()
    clock.connected(9.0)
    assert clock.due() is None
    clock.changed(10.0)
    clock.connected(10.03)
    assert clock.due() == pytest.approx(10.08)
    clock.connected(11.5)  # but never past the deadline
    assert clock.due() == pytest.approx(11.0)


def test_batches_are_an_interval_apart():
    """A change just after a batch waits until `interval` has passed since it; later ones
    only wait for the quiet."""
    clock = pacer()
    clock.changed(10.0)
    clock.flushed(10.05)
    clock.changed(10.06)
    assert clock.due() == pytest.approx(10.15)
    clock.flushed(10.15)
    clock.changed(10.5)
    assert clock.due() == pytest.approx(10.55)


def test_an_empty_flush_holds_nothing_back():
    """When a say already told the room, the timer's flush sends nothing: no interval after it."""
    clock = pacer()
    clock.changed(10.0)
    clock.flushed(10.05, told=False)
    clock.changed(10.06)
    assert clock.due() == pytest.approx(10.11)


@pytest.mark.parametrize(
    "options",
    [{"delay": 0}, {"delay": 2.0, "max_delay": 1.0}, {"interval": -1}, {"interval": 2.0}],
)
def test_bad_parameters_are_refused(options):
    """Delays must be positive and in order, and the interval no longer than the deadline."""
    with pytest.raises(ValueError):
        PresencePacer(**options)
