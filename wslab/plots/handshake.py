"""The opening handshake, line by line: how many bytes each line of the two HTTP heads costs.

A head is a start line, header lines and a blank line, each ending in CRLF (RFC 7230 §3).
`head_lines` sizes the lines the codec cuts a head into (`protocol.head_lines`), every byte
counted, so the bars of `plot_handshake` always add up to the size the tap measured on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .. import protocol

#: Headers that exist for the WebSocket handshake itself (RFC 6455 §4, §11.3) or that it
#: requires (Upgrade, Connection); everything else is ordinary HTTP.
WEBSOCKET_HEADERS = frozenset(
    {
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-accept",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    }
)

#: Bar colours by kind of line.
COLOURS = {
    "start line": "#4c72b0",
    "WebSocket header": "#dd8452",
    "other header": "#8c8c8c",
    "blank line": "#cccccc",
}


class _HasRaw(Protocol):
    raw: bytes


@dataclass(frozen=True)
class HeadLine:
    """One line of an HTTP head, as it crossed the wire."""

    label: str
    """The start line, a header's name, or ``"(blank line)"``."""
    kind: str
    """A key of `COLOURS`."""
    size: int
    """Bytes on the wire, CRLF included."""


def head_lines(head: bytes | _HasRaw) -> list[HeadLine]:
    """Split an HTTP head (bytes, or a tap record's ``.raw``) into lines with their sizes.

    The sizes add up to ``len(head)``: every line counts its CRLF, and the blank line that
    ends the head counts 2.
    """
    data = head if isinstance(head, bytes | bytearray) else head.raw
    try:
        first, *headers = protocol.head_lines(bytes(data))
    except protocol.HandshakeError:
        raise ValueError("not a complete HTTP head: no blank line (CRLF CRLF) at the end") from None
    lines = [HeadLine(first, "start line", len(first) + 2)]
    for line in headers:
        name = line.partition(":")[0]
        kind = "WebSocket header" if name.lower() in WEBSOCKET_HEADERS else "other header"
        lines.append(HeadLine(name, kind, len(line.encode("latin-1")) + 2))
    lines.append(HeadLine("(blank line)", "blank line", 2))
    return lines


def plot_handshake(request: bytes | _HasRaw, response: bytes | _HasRaw) -> Figure:
    """Draw the bytes of each line of a request head and its response head, side by side.

    Pass two tap records (or the raw heads). Bars are coloured by kind of line: the start
    line, the headers the WebSocket handshake needs, other HTTP headers, the closing CRLF.
    """
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    axes = figure.subplots(1, 2)
    heads = (("request (client → server)", request), ("response (server → client)", response))
    widest = max(line.size for _, head in heads for line in head_lines(head))
    for ax, (title, head) in zip(axes, heads, strict=True):
        lines = head_lines(head)
        positions = range(len(lines))
        ax.barh(positions, [line.size for line in lines], color=[COLOURS[li.kind] for li in lines])
        ax.set_yticks(positions, [_short(line.label) for line in lines], fontsize=8)
        ax.invert_yaxis()  # first line on top, as the head reads
        for y, line in zip(positions, lines, strict=True):
            ax.text(line.size, y, f" {line.size}", va="center", fontsize=8)
        ax.set_xlim(0, widest * 1.15)
        ax.set_xlabel("bytes on the wire (CRLF included)")
        ax.set_title(f"{title}: {sum(line.size for line in lines)} B", fontsize=10)
    handles = [Patch(color=colour) for colour in COLOURS.values()]
    figure.legend(handles, list(COLOURS), loc="outside lower center", ncols=len(COLOURS))
    return figure


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
