"""The browser's two WebSocket APIs against a slow reader: who waits, and where the data piles up.

The page sends the same `count` messages of `size` bytes to the same server twice, as fast as
each API lets it:

- with ``WebSocket``, whose ``send()`` never waits: the loop ends at once and everything the
  network cannot take yet waits in the browser (``bufferedAmount``);
- with ``WebSocketStream``, whose writer has backpressure: before each ``write()`` the page
  awaits ``writer.ready``, which resolves only once the previous message has been passed on,
  so the sender goes at the reader's pace and the page holds at most a message or so.

The server must answer each message it has read with the number of messages it has read so far
(``"1"``, ``"2"``, ...): that is how the page, on its own clock, learns how far the reader got.

Sans-I/O: this module turns what the page measured (the ``measured`` object of its reply to a
``compare`` command, see `model`) into a `Comparison`, and draws it. Its shape::

    {"WebSocket": RUN, "WebSocketStream": RUN or null (this browser has no WebSocketStream)}
    RUN = {"handedOver": [seconds, ...], "ahead": [messages, ...], "read": [seconds, ...],
           "peakHeld": bytes}

One entry per message, times in seconds since the page handed over the first one:
``handedOver`` when ``send()`` returned (or ``write()`` was called), ``ahead`` how many handed
over messages the server had not yet confirmed at that moment, ``read`` when the page got the
server's confirmation. ``peakHeld``: the most bytes the page held unsent (the largest
``bufferedAmount``, or the bytes of writes not yet done).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from .model import ReportError

__all__ = ["Api", "Comparison", "Run", "comparison"]


class Api(enum.Enum):
    """The browser's two WebSocket APIs."""

    WEBSOCKET = "WebSocket"
    STREAM = "WebSocketStream"

    @property
    def held(self) -> str:
        """What the page's unsent bytes are called in this API."""
        return "bufferedAmount" if self is Api.WEBSOCKET else "pending writes"


@dataclass(frozen=True)
class Run:
    """One API's run: `count` messages of `size` bytes, as the page saw it."""

    api: Api
    size: int
    handed_over: tuple[float, ...]
    ahead: tuple[int, ...]
    read: tuple[float, ...]
    peak_held: int

    @property
    def count(self) -> int:
        return len(self.handed_over)

    @property
    def sender_done(self) -> float:
        """Seconds until the page had handed over the last message."""
        return self.handed_over[-1]

    @property
    def reader_done(self) -> float:
        """Seconds until the server confirmed reading the last message."""
        return self.read[-1]

    @property
    def most_ahead(self) -> int:
        """The most messages the sender was ahead of the reader."""
        return max(self.ahead)


@dataclass(frozen=True)
class Comparison:
    """Both runs; `stream` is None when the browser has no ``WebSocketStream``."""

    websocket: Run
    stream: Run | None

    def __str__(self) -> str:
        head = (
            f"{'API':16} {'sender done':>12} {'reader done':>12} {'most ahead':>13}   "
            "most bytes waiting in the page"
        )
        rows = [head]
        for api, run in ((Api.WEBSOCKET, self.websocket), (Api.STREAM, self.stream)):
            if run is None:
                rows.append(f"{api.value:16} this browser does not have it")
                continue
            rows.append(
                f"{api.value:16} {run.sender_done * 1000:9.0f} ms {run.reader_done * 1000:9.0f} ms "
                f"{run.most_ahead:>4} messages   {run.peak_held:>11,} ({api.held})"
            )
        return "\n".join(rows)

    def plot(self):
        """Messages handed over by the page and read by the server, over time, one panel per
        API: the gap between the two lines is how far the sender ran ahead."""
        from matplotlib.figure import Figure  # only when drawing: the model needs no matplotlib

        figure = Figure(figsize=(9, 3), layout="constrained")
        axes = figure.subplots(1, 2, sharey=True)
        for ax, api, run in zip(axes, Api, (self.websocket, self.stream), strict=True):
            ax.set_title(api.value, fontsize="medium")
            ax.set_xlabel("ms since the first message")
            if run is None:
                ax.text(0.5, 0.5, "not in this browser", ha="center", transform=ax.transAxes)
                continue
            numbers = range(1, run.count + 1)
            ax.step([t * 1000 for t in run.handed_over], numbers, where="post",
                    label="handed over by the page")  # fmt: skip
            ax.step([t * 1000 for t in run.read], numbers, where="post",
                    label="read by the server")  # fmt: skip
        axes[0].set_ylabel("messages")
        axes[0].legend(loc="lower right", fontsize="small")
        return figure


def comparison(measured: dict[str, Any], count: int, size: int) -> Comparison:
    """The `Comparison` from a page's ``measured`` object; `ReportError` if it is not one."""
    websocket = _run(Api.WEBSOCKET, measured.get(Api.WEBSOCKET.value), count, size)
    raw_stream = measured.get(Api.STREAM.value)
    stream = None if raw_stream is None else _run(Api.STREAM, raw_stream, count, size)
    return Comparison(websocket, stream)


def _run(api: Api, raw: Any, count: int, size: int) -> Run:
    if not isinstance(raw, dict):
        raise ReportError(f"{api.value}: a run must be an object")
    handed_over = _numbers(raw, "handedOver", count, api)
    read = _numbers(raw, "read", count, api)
    ahead = _numbers(raw, "ahead", count, api)
    peak = raw.get("peakHeld")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (*ahead, peak)):
        raise ReportError(f"{api.value}: ahead and peakHeld must be integers")
    return Run(api, size, handed_over, tuple(int(n) for n in ahead), read, int(peak))


def _numbers(raw: dict[str, Any], key: str, count: int, api: Api) -> tuple[float, ...]:
    values = raw.get(key)
    if not isinstance(values, list) or len(values) != count:
        raise ReportError(f"{api.value}: {key} must list {count} numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ReportError(f"{api.value}: {key} must list numbers")
    return tuple(values)
