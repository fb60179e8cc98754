"""Sequence diagrams drawn from tap records: two lifelines, one arrow per thing on the wire.

The client's lifeline is on the left, the server's on the right, and time flows downward, to
scale: each arrow sits at the record's own timestamp `t` (when its last byte reached the tap).
Client-to-server arrows point right, server-to-client arrows point left. Arrows that happened
close together overlap, which is the truth; so the labels stand in a column right of the
server, pushed apart just enough to stay readable, each tied to its arrow by a thin line.

Works for any `WireTable`: HTTP heads (labelled with their start line) and WebSocket frames
(labelled with their type and `preview()`), each with its size on the wire.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._wire import CLIENT_TO_SERVER, WireRecord

__all__ = ["message_label", "sequence_diagram"]

CLIENT_X, SERVER_X, LABEL_X = 0.0, 1.0, 1.12  # lifelines, then the column of labels
CLIENT_COLOR, SERVER_COLOR = "tab:blue", "tab:orange"  # by who sent the message
LABEL_INCHES = 0.17  # vertical room one label needs
MESSAGE_INCHES = 0.22  # figure height per message when we size the figure ourselves
LABEL_WIDTH = 46  # characters of a label before it is cut
ARROW_GID, LABEL_GID, NOTE_GID = "wslab-arrow", "wslab-label", "wslab-note"


def message_label(record: WireRecord, with_conn: bool = False) -> str:
    """One line for one record: what it is and its size on the wire."""
    if record.kind == "http":
        what = record.start_line
    elif record.kind == "frame":
        what = f"{record.opcode_name} {record.preview(24)}".rstrip()
    else:
        what = record.preview() or "bytes"
    if len(what) > LABEL_WIDTH:
        what = what[: LABEL_WIDTH - 1] + "…"
    prefix = f"[{record.conn}] " if with_conn else ""
    return f"{prefix}{what} · {record.size} B"


def sequence_diagram(
    records: Sequence[WireRecord],
    ax: Axes | None = None,
    title: str | None = None,
    max_messages: int = 40,
) -> Figure:
    """Draw `records` (e.g. ``tap.frames()``) as a sequence diagram; return the Figure.

    At most `max_messages` records are drawn, the earliest ones; a note says how many were
    left out. Labels start with ``[conn]`` when the records span more than one connection.
    With `ax` the diagram goes into that Axes; without, a new pyplot figure sized to the
    messages is made: show it with ``plt.show()`` like any other plot. (It is a pyplot figure
    because ipykernel's default inline backend draws those at the end of a cell, but registers
    no PNG formatter for a bare Figure returned as a cell's value.)
    """
    ordered = sorted(records, key=lambda r: (r.t, r.seq))
    shown = ordered[: max(0, max_messages)]
    if ax is None:
        height = max(2.5, 1.4 + MESSAGE_INCHES * len(shown))
        fig = plt.figure(figsize=(8.0, height))
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.1, right=0.98, top=1 - 0.8 / height, bottom=0.3 / height)
    fig = ax.figure
    _lifelines(ax)
    if title:
        ax.set_title(title, fontsize=10, pad=22)
    if not shown:
        _note(ax, 0.5, "no records to draw", va="center")
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        return fig

    times = [r.t * 1000 for r in shown]  # milliseconds since the tap started
    with_conn = len({r.conn for r in shown}) > 1
    axes_inches = ax.get_position().height * fig.get_figheight()
    top, bottom = times[0], times[-1]
    span = max(bottom - top, 1.0)
    for _ in range(3):  # the gap depends on the range, which depends on where labels end up
        gap = (span * 1.1) * LABEL_INCHES / max(axes_inches, 0.5)
        label_ys = _spread(times, gap)
        span = max(bottom - top, label_ys[-1] - top, 1.0)
    pad = 0.04 * span + gap / 2
    for record, y, label_y in zip(shown, times, label_ys, strict=True):
        _message(ax, record, y, label_y, message_label(record, with_conn))
    ax.set_ylim(max(label_ys[-1], bottom) + pad, top - pad)  # inverted: time flows down
    ax.set_ylabel("time since the tap started (ms)")
    if len(ordered) > len(shown):
        _note(ax, -0.01, f"… {len(ordered) - len(shown)} more not shown", va="top", fontsize=8)
    return fig


# --- drawing -------------------------------------------------------------------------------


def _lifelines(ax: Axes) -> None:
    for x in (CLIENT_X, SERVER_X):
        ax.axvline(x, color="0.6", lw=1, ls="--", zorder=0)
    ax.set_xlim(-0.08, 2.3)
    ax.set_xticks([CLIENT_X, SERVER_X], ["client", "server"])
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0, labelsize=10)
    ax.tick_params(axis="y", labelsize=8)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


def _message(ax: Axes, record: WireRecord, y: float, label_y: float, label: str) -> None:
    outbound = record.direction == CLIENT_TO_SERVER
    start, end = (CLIENT_X, SERVER_X) if outbound else (SERVER_X, CLIENT_X)
    color = CLIENT_COLOR if outbound else SERVER_COLOR
    ax.annotate(
        "",
        xy=(end, y),
        xytext=(start, y),
        gid=ARROW_GID,
        arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2, "shrinkA": 0, "shrinkB": 0},
    )
    ax.plot([SERVER_X, LABEL_X - 0.02], [y, label_y], color=color, alpha=0.35, lw=0.6)
    ax.text(
        LABEL_X, label_y, label, ha="left", va="center", fontsize=7.5, color=color, gid=LABEL_GID
    )


def _note(ax: Axes, y: float, text: str, **style: object) -> None:
    """Grey text centred between the lifelines, `y` in axes coordinates (0 bottom, 1 top)."""
    x_between = (CLIENT_X + SERVER_X) / 2
    ax.text(
        x_between,
        y,
        text,
        ha="center",
        color="gray",
        gid=NOTE_GID,
        transform=ax.get_xaxis_transform(),
        **style,
    )


def _spread(ys: list[float], gap: float) -> list[float]:
    """Positions at least `gap` apart, each as close to its own y (and never above it)."""
    placed: list[float] = []
    for y in ys:
        placed.append(max(y, placed[-1] + gap) if placed else y)
    return placed
