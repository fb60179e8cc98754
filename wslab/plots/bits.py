"""The bits of a WebSocket frame as a grid: one row per byte, one cell per bit.

RFC 6455 §5.2 draws the frame header 32 bits wide. Here each row is one byte, its 8 bits most
significant first (the order they go on the wire), so a 2-, 4- or 10-byte header reads from the
top down and the masking key and payload follow. Every cell shows its bit's 0 or 1 and is
coloured by the field it belongs to; the right margin gives the byte's value and names the
fields in that row, and for a masked payload also the byte after unmasking.

`field_spans()` is the pure part (which bits belong to which field, from the bytes alone, as
the codec's `header_fields()` lays them out); `frame_layout()` draws it.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ..protocol import FIELD_NAMES, Opcode, header_fields, header_layout

__all__ = ["FIELDS", "field_spans", "frame_layout"]

#: The fields of a frame, in wire order (the codec's names).
FIELDS = FIELD_NAMES
COLORS = {
    "FIN": "#e15759",
    "RSV1": "#bab0ac",
    "RSV2": "#d4cfcc",
    "RSV3": "#e9e6e4",
    "opcode": "#f28e2b",
    "MASK": "#b07aa1",
    "payload len": "#4e79a7",
    "extended length": "#76b7b2",
    "masking key": "#edc948",
    "payload": "#59a14f",
}
OUTSIDE = "(after this frame)"  # bits of `raw` past the frame's end
OUTSIDE_COLOR = "#ffffff"
ROW_INCHES = 0.34
CELLS_GID = "wslab-bit-cells"  # the collection of bit cells, for tests and for restyling
DIGIT_GIDS = {0: "wslab-bit-zeros", 1: "wslab-bit-ones"}  # the digits drawn on the cells
DIGIT_COLORS = {0: "#3b3b3b", 1: "#000000"}
DIGIT_SIZE = 45  # marker area in points²: a digit about 7 points tall
NOTE_CELLS = 9.0  # room for the margin notes, in bit-cell widths, inside the Axes

Span = tuple[str, int, int]


def field_spans(raw: bytes) -> list[Span]:
    """Which bits of `raw`, a frame from its first byte on, belong to which field.

    Returns ``(name, first_bit, last_bit)`` in wire order, bits numbered from 0 (the most
    significant bit of byte 0), both ends included; names are those of `FIELDS`. The layout
    comes from the codec (`wslab.protocol.header_fields`); here fields are cut at the end of
    `raw`, so the first bytes of a long frame (a tap record's ``raw``) work, and fields that
    start past it are left out.
    """
    last = 8 * len(raw) - 1
    return [
        (name, first, min(end, last)) for name, first, end in header_fields(raw) if first <= last
    ]


def frame_layout(raw: bytes, ax: Axes | None = None, max_bytes: int = 16) -> Figure:
    """Draw the first `max_bytes` bytes of the frame `raw` bit by bit; return the Figure.

    With `ax` the grid goes into that Axes; without, a new Figure sized to the rows is made
    (not registered with pyplot: end a cell with it, or save it, to see it).
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
    spans = field_spans(raw)
    shown = raw[:max_bytes]
    if ax is None:
        height = 1.75 + ROW_INCHES * len(shown)
        fig = Figure(figsize=(8.0, height))
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.8 / height, bottom=0.95 / height)
    fig = ax.figure

    owner = [OUTSIDE] * (8 * len(shown))
    for name, first, last in spans:
        for bit in range(first, min(last, len(owner) - 1) + 1):
            owner[bit] = name
    cells, colors = [], []
    digits: dict[int, list[tuple[float, float]]] = {0: [], 1: []}
    for index, byte in enumerate(shown):
        for column in range(8):
            cells.append(Rectangle((column, index), 1, 1))
            colors.append(COLORS.get(owner[8 * index + column], OUTSIDE_COLOR))
            digits[byte >> (7 - column) & 1].append((column + 0.5, index + 0.5))
        ax.text(
            8.25,
            index + 0.5,
            _row_note(raw, spans, owner, index),
            ha="left",
            va="center",
            fontsize=8,
            fontfamily="monospace",
            clip_on=False,
        )

    # One collection for all the cells: one artist to draw instead of one per bit.
    ax.add_collection(
        PatchCollection(cells, facecolors=colors, edgecolors="white", linewidths=1.5, gid=CELLS_GID)
    )
    # Each bit's digit, drawn as a marker: two collections draw far faster than 8 texts a row.
    for value, points in digits.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(
                xs,
                ys,
                s=DIGIT_SIZE,
                marker=f"${value}$",
                color=DIGIT_COLORS[value],
                linewidths=0,
                gid=DIGIT_GIDS[value],
                zorder=3,
            )
    ax.set_xlim(0, 8 + NOTE_CELLS)  # notes inside the Axes: neighbours never overlap them
    ax.set_ylim(len(shown), 0)  # byte 0 at the top, as it comes first on the wire
    ax.set_xticks([c + 0.5 for c in range(8)], [str(c) for c in range(8)], fontsize=8)
    ax.xaxis.tick_top()
    ax.set_xlabel("bit within the byte (0 = most significant, sent first)", fontsize=8, loc="left")
    ax.xaxis.set_label_position("top")
    ax.set_yticks(
        [r + 0.5 for r in range(len(shown))], [f"byte {r}" for r in range(len(shown))], fontsize=8
    )
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)

    present = [name for name in FIELDS if name in set(owner)]
    ax.legend(
        handles=[Patch(facecolor=COLORS[name], label=name) for name in present],
        loc="upper left",
        bbox_to_anchor=(0.0, -0.02),
        ncol=5,
        fontsize=7,
        frameon=False,
        handlelength=1.2,
        columnspacing=1.0,
    )
    ax.set_title(_summary(raw, len(shown)), fontsize=9, loc="left", pad=28)
    return fig


def _row_note(raw: bytes, spans: list[Span], owner: list[str], index: int) -> str:
    """The margin note of one row: the byte's value and the fields it holds."""
    byte = raw[index]
    names: list[str] = []
    for name in owner[8 * index : 8 * index + 8]:
        shown = "RSV1-3" if name.startswith("RSV") else name
        if name != OUTSIDE and shown not in names:
            names.append(shown)
    note = f"0x{byte:02x}  {' + '.join(names) or OUTSIDE}"
    bounds = {name: (first, last) for name, first, last in spans}
    if names == ["payload"]:
        position = index - bounds["payload"][0] // 8
        if "masking key" in bounds:
            key_start = bounds["masking key"][0] // 8
            key = raw[key_start : key_start + 4]
            plain = byte ^ key[position % 4]
            note += f"  [{position}] ^ key[{position % 4}] = {_char(plain)}"
        else:
            note += f"  [{position}] = {_char(byte)}"
    return note


def _char(value: int) -> str:
    shown = chr(value) if 0x20 <= value < 0x7F else ""
    return f"0x{value:02x} {shown!r}" if shown else f"0x{value:02x}"


def _summary(raw: bytes, rows: int) -> str:
    """A title from the header: type, FIN, mask, lengths; says when rows were cut."""
    extended, masked, length = header_layout(raw)
    opcode = raw[0] & 0x0F
    try:
        kind = Opcode(opcode).name
    except ValueError:
        kind = f"reserved opcode 0x{opcode:X}"
    parts = [
        kind,
        f"FIN={raw[0] >> 7}",
        "masked" if masked else "unmasked",
        f"payload {'?' if length is None else length} B",
        f"header {2 + extended + 4 * masked} B",
    ]
    cut = f"\nfirst {rows} of {len(raw)} bytes shown" if rows < len(raw) else ""
    return ", ".join(parts) + cut
