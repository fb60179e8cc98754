"""One event's path through the cluster, as a sequence diagram with one lifeline per hop.

`wslab.plots.sequence` draws the two lifelines of one tap. An event in a cluster crosses
several links, each seen by its own tap (a WebSocket tap on each client's link, the Redis tap
between nodes and Redis), so this diagram has five lifelines, client A, node A, Redis, node B
and client B, and one arrow per record the taps made, labelled with what it was and its size.
Arrows are drawn in the order the hops must happen (each one causes the next), one step per
row: the taps' clocks are not one clock, so rows are steps, not a time scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["LANES", "path_diagram"]

LANES = ("client A", "node A", "Redis", "node B", "client B")
COLORS = {"client A": "tab:blue", "node A": "tab:orange", "Redis": "tab:red", "node B": "tab:green"}


def path_diagram(
    steps: Sequence[tuple[str, str, str]], lanes: Sequence[str] = LANES, title: str | None = None
) -> Figure:
    """Draw `steps`, ``(from lane, to lane, label)`` in order, as a pyplot figure."""
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.55 * len(steps)))
    x = {lane: i for i, lane in enumerate(lanes)}
    for lane in lanes:
        ax.axvline(x[lane], color="0.6", lw=1, ls="--", zorder=0)
    for row, (source, target, label) in enumerate(steps, start=1):
        color = COLORS.get(source, "0.3")
        ax.annotate(
            "",
            xy=(x[target], row),
            xytext=(x[source], row),
            arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.4},
        )
        middle = (x[source] + x[target]) / 2
        ax.text(middle, row - 0.12, label, ha="center", va="bottom", fontsize=7.5, color=color)
    ax.set_xlim(-0.5, len(lanes) - 0.5)
    ax.set_ylim(len(steps) + 0.6, 0.3)
    ax.set_xticks(range(len(lanes)), lanes)
    ax.xaxis.tick_top()
    ax.set_yticks(range(1, len(steps) + 1), [f"{i}" for i in range(1, len(steps) + 1)])
    ax.set_ylabel("step")
    ax.tick_params(length=0)
    for side in ("right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10, pad=24)
    fig.tight_layout()
    return fig
