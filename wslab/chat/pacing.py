"""When the chat tells a room of joins and leaves: the presence timer's rules, without a clock.

`room.ChatState` collects joins and leaves until `flush()`; this module decides when the server
calls it. The server passes the times, from its loop's clock; nothing here reads a clock or
sleeps, so the rules are tested with plain numbers.

Rules:

- A batch waits until no join or leave has come for `delay` seconds: a person joining a quiet
  room is told that soon, and a crowd arriving is told once it is in, not once per arrival.
  A new connection counts as an arrival under way: while a batch waits, it waits for that one
  too (a crowd's clients connect, then join; the pause while the next ones connect is not the
  end of the crowd).
- While changes keep coming, it waits at most `max_delay` seconds after the first one not yet
  told: the members of a busy room still hear of it.
- Batches are at least `interval` seconds apart. A batch costs one frame per member, so a
  large room must not get one for every arrival that happens to come just over `delay` after
  the one before: at most 10 batches a second is at most 10 frames a second per member. The
  pause also keeps the lull that a large batch causes (its clients busy reading it, not
  joining) from being taken for the end of a crowd.

Why not a fixed wait from the first change (the first design): a short one makes a crowd
arriving in a large room cost a batch, a frame per member, every few milliseconds; one in
proportion to the room (50 ms plus 1 ms per member, at most 1 s) left the last arrivals in a
room of 1,000 unknown for up to a second, and filling it took three times as long as
connecting as many clients to a bare server (bench-chat).
"""

from __future__ import annotations

__all__ = ["PRESENCE_DELAY", "PRESENCE_INTERVAL", "PRESENCE_MAX_DELAY", "PresencePacer"]

#: Seconds without a join or leave before a batch goes out: short, because the wait after the
#: last arrival is time that everyone spends not knowing (in bench-chat, 50 ms was longer than
#: connecting 100 clients to a bare server).
PRESENCE_DELAY = 0.02
#: Seconds a change waits at most while others keep coming.
PRESENCE_MAX_DELAY = 1.0
#: Seconds between two batches at least. (Tried first: a pause of 9 or 19 times the time the
#: last batch took to send. Under load that time grows, and the last arrivals of a filling room
#: of 1,000 waited up to half a second.)
PRESENCE_INTERVAL = 0.1


class PresencePacer:
    """Says when the next batch is due, from the times of changes and of past batches."""

    def __init__(
        self,
        delay: float = PRESENCE_DELAY,
        max_delay: float = PRESENCE_MAX_DELAY,
        interval: float = PRESENCE_INTERVAL,
    ) -> None:
        if not 0 < delay <= max_delay:
            raise ValueError(f"need 0 < delay <= max_delay, got {delay} and {max_delay}")
        if not 0 <= interval <= max_delay:
            raise ValueError(f"need 0 <= interval <= max_delay, got {interval} and {max_delay}")
        self.delay, self.max_delay, self.interval = delay, max_delay, interval
        self._first: float | None = None  # the first change not yet told
        self._last = 0.0  # the latest change
        self._not_before = float("-inf")  # the earliest time for the next batch

    def changed(self, now: float) -> None:
        """A join or leave happened at `now` (or may have: an extra call only waits longer)."""
        if self._first is None:
            self._first = now
        self._last = now

    def connected(self, now: float) -> None:
        """A client connected at `now`: it will likely join, so a waiting batch waits for it."""
        if self._first is not None:
            self._last = max(self._last, now)

    def due(self) -> float | None:
        """When the next batch should go out; None if no change is waiting."""
        if self._first is None:
            return None
        quiet = self._last + self.delay
        return max(min(quiet, self._first + self.max_delay), self._not_before)

    def flushed(self, now: float, told: bool = True) -> None:
        """The server flushed at `now`; changes after it start a new batch. `told`: whether
        anything was sent (a room that spoke was told its changes already: an empty flush
        holds nothing back)."""
        self._first = None
        if told:
            self._not_before = now + self.interval
