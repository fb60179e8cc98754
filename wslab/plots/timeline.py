"""Both directions of one connection on a shared timeline, and how much they overlap.

A tap stamps each record with the time its last byte reached it (`WireRecord.t`), so one
connection's records give two series of instants: what the client sent (C→S) and what the
server sent (S→C). `duplex_timeline()` draws them as two lanes; `overlap_intervals()` says where
the two sides were *not* taking turns.

The rules, stated once (they are what the lesson and the tests rely on):

- Only **messages** count: a WebSocket data frame with FIN set (the last, usually the only,
  frame of a text or binary message), or an HTTP head that is not part of a WebSocket opening
  handshake. Control frames (ping, pong, close) and the upgrade request and its 101 answer are
  left out.
- **Turn-taking** is what request/response looks like: between two consecutive messages of one
  side, the other side sends at most one (its answer).
- The two directions **overlap** from one message of a side to that side's next message when
  the other side sent **two or more** messages in between: the other side kept talking while
  this one was mid-stream, which strict turn-taking never does. Overlapping stretches are
  merged; `overlap()` is their total length in seconds.

Points in time cannot tell *why* a side sent: two streams that happen to run at the same pace
alternate on the wire and look like turn-taking (overlap 0). The lesson uses two different
paces for that reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import protocol
from .._wire import CLIENT_TO_SERVER, SERVER_TO_CLIENT, WireRecord

__all__ = ["duplex_timeline", "is_message", "messages", "overlap", "overlap_intervals"]

LANES = {CLIENT_TO_SERVER: 1.0, SERVER_TO_CLIENT: 0.0}
COLORS = {CLIENT_TO_SERVER: "tab:blue", SERVER_TO_CLIENT: "tab:orange"}
SHADE_COLOR = "tab:green"
TICK_GID, SHADE_GID, NOTE_GID = "wslab-tick", "wslab-overlap", "wslab-note"
_DATA_OPCODES = (protocol.Opcode.CONT, protocol.Opcode.TEXT, protocol.Opcode.BINARY)


# --- which records are messages ------------------------------------------------------------


def is_message(record: WireRecord) -> bool:
    """True for a data frame that ends a message, or an HTTP head outside a WebSocket handshake."""
    if record.kind == "frame":
        return record.opcode in _DATA_OPCODES and record.fin
    if record.kind == "http":
        # Both the upgrade request and its 101 answer say "Upgrade: websocket".
        upgrade = record.headers.get("Upgrade", "") if record.headers is not None else ""
        answer = record.start_line.split(" ")
        switching = record.direction == SERVER_TO_CLIENT and answer[1:2] == ["101"]
        return not ("websocket" in upgrade.lower() or switching)
    return False


def messages(records: Iterable[WireRecord]) -> list[WireRecord]:
    """The message records of one connection, in the order they crossed the tap.

    Raises ValueError if the records come from more than one connection: directions of
    different connections say nothing about each other (filter with ``tap.frames(conn=n)``).
    """
    records = list(records)
    connections = {r.conn for r in records}
    if len(connections) > 1:
        raise ValueError(
            f"records of {len(connections)} connections {sorted(connections)}: "
            "pass one connection's records, e.g. tap.frames(conn=1)"
        )
    return sorted((r for r in records if is_message(r)), key=lambda r: (r.t, r.seq))


# --- overlap -------------------------------------------------------------------------------


def overlap_intervals(records: Iterable[WireRecord]) -> list[tuple[float, float]]:
    """The stretches of time (start, end), in tap seconds, where the two sides overlapped.

    A stretch runs from one message of a side to that side's next message, when the other side
    sent two or more messages in between (see the module docstring). Stretches that touch or
    overlap are merged; the result is sorted and disjoint.
    """
    previous: dict[str, WireRecord] = {}
    others_since = {CLIENT_TO_SERVER: 0, SERVER_TO_CLIENT: 0}
    stretches: list[tuple[float, float]] = []
    for record in messages(records):
        side = record.direction
        if side in previous and others_since[side] >= 2:
            stretches.append((previous[side].t, record.t))
        previous[side] = record
        others_since[side] = 0
        for other in others_since:
            if other != side:
                others_since[other] += 1
    return _merge(stretches)


def overlap(records: Iterable[WireRecord]) -> float:
    """Seconds during which the two sides overlapped: the total length of `overlap_intervals`."""
    return sum(end - start for start, end in overlap_intervals(records))


def _merge(stretches: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(stretches):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# --- drawing -------------------------------------------------------------------------------


def duplex_timeline(
    records: Sequence[WireRecord], ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Draw one connection's messages on two lanes (C→S above, S→C below); return the Figure.

    Each message is a tick at its time, in milliseconds since the connection's first message;
    the stretches where the sides overlapped (`overlap_intervals`) are shaded. With `ax` the
    timeline goes into that Axes; without, a new Figure is made (not registered with pyplot:
    end a cell with it, or save it, to see it).
    """
    shown = messages(records)
    if ax is None:
        fig = Figure(figsize=(8.0, 2.2))
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.1, right=0.98, top=0.82, bottom=0.25)
    fig = ax.figure
    ax.set_yticks(list(LANES.values()), list(LANES))
    ax.set_ylim(-0.6, 1.6)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel("time since the first message (ms)")
    if title:
        ax.set_title(title, fontsize=10)
    if not shown:
        ax.text(
            0.5,
            0.5,
            "no messages to draw",
            ha="center",
            va="center",
            color="gray",
            transform=ax.transAxes,
            gid=NOTE_GID,
        )
        return fig

    origin = shown[0].t
    for start, end in overlap_intervals(shown):
        ax.axvspan(
            (start - origin) * 1000,
            (end - origin) * 1000,
            color=SHADE_COLOR,
            alpha=0.15,
            lw=0,
            gid=SHADE_GID,
        )
    for direction, y in LANES.items():
        times = [(r.t - origin) * 1000 for r in shown if r.direction == direction]
        ax.axhline(y, color="0.85", lw=0.8, zorder=0)
        ax.plot(
            times,
            [y] * len(times),
            ls="none",
            marker="|",
            markersize=16,
            mew=2,
            color=COLORS[direction],
            gid=TICK_GID,
            label=f"{direction}: {len(times)} message{'s' * (len(times) != 1)}",
        )
    # Margins, not fixed limits: Axes that share their x axis (one timeline above another)
    # then autoscale to cover every timeline drawn on them, instead of the last one drawn.
    ax.margins(x=0.04)
    ax.autoscale(axis="x")
    return fig
