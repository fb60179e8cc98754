"""Lesson 02's picture: events a server pushed, when they arrived, against the server's own pace.

The figure is built with `matplotlib.figure.Figure`, not pyplot, so that it is displayed once
when a cell returns it (pyplot would show it a second time at the end of the cell) and is freed
with the last reference to it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from matplotlib.figure import Figure

__all__ = ["plot_arrivals"]


def plot_arrivals(
    times: Sequence[float],
    interval: float,
    *,
    title: str = "The server pushes at its own pace: the client only receives",
) -> Figure:
    """Plot when each pushed event arrived against the schedule of a server that sends one
    event every `interval` seconds.

    `times` are seconds since the client started connecting, one per event, in order. The
    schedule (dashed lines) is one line every `interval`, shifted to fit the arrivals (by the
    median of each arrival's offset from its slot, so that one late event does not shift the
    rest): dots on the lines mean the events came at the server's pace.
    """
    if not times:
        raise ValueError("no arrival times to plot")
    if interval <= 0:
        raise ValueError(f"interval must be positive, got {interval}")
    arrived = [t * 1000 for t in times]
    step = interval * 1000
    start = statistics.median(t - n * step for n, t in enumerate(arrived))
    schedule = [start + n * step for n in range(len(arrived))]
    numbers = range(1, len(arrived) + 1)

    figure = Figure(figsize=(7, 2.8), layout="constrained")
    axes = figure.subplots()
    for n, t in enumerate(schedule):
        label = f"server's schedule: every {interval * 1000:g} ms" if n == 0 else None
        axes.axvline(t, color="0.75", linestyle="--", linewidth=1, label=label)
    axes.plot(arrived, numbers, "o", color="tab:blue", label="event arrived at the client")
    axes.set_xlabel("time since the client started connecting (ms)")
    axes.set_ylabel("event number")
    axes.set_yticks(list(numbers))
    axes.set_xlim(left=0)
    axes.set_title(title, fontsize="medium")
    axes.legend(loc="lower right", fontsize="small")
    return figure
