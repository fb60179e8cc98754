"""The results as text tables and as pictures.

Times print as "41.5 µs" or "11.2 ms" (the unit the notebooks' sanitizer recognises); byte
counts print exactly; rates to three significant figures.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import websockets

from .throughput import DIRECTIONS

if TYPE_CHECKING:
    from .results import Results

TOPOLOGY_NOTE = (
    "thread: the server runs on a loop thread of the client's own process (the notebook "
    "set-up): client and server share one GIL and take turns.\n"
    "process: the server runs in a child process with its own GIL, as servers do for real."
)
AMORTISED = (1, 10, 100, 1000)


def machine(load_before: Sequence[float], load_after: Sequence[float]) -> str:
    """Where a run happened, as one sentence for the head of a results page."""

    def load(values: Sequence[float]) -> str:
        return " / ".join(f"{v:.1f}" for v in values) or "unknown"

    return (
        f"Python {platform.python_version()}, websockets {websockets.__version__}, "
        f"{os.cpu_count()} CPUs, load average {load(load_before)} before and "
        f"{load(load_after)} after the run"
    )


def load_average() -> tuple[float, ...]:
    """The 1, 5 and 15 minute load averages (empty where the system has none)."""
    try:
        return os.getloadavg()
    except OSError:
        return ()


def duration(seconds: float) -> str:
    """'41.5 µs', '11.2 ms', '1.25 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def rate(value: float) -> str:
    """Three significant figures, with a thousands separator: '81,200', '3.52'."""
    if value >= 100:
        digits = len(str(int(value)))
        return f"{round(value, 3 - digits):,.0f}"
    return f"{value:.3g}"


def table(results: Results) -> str:
    sections = [
        latency_table(results),
        throughput_table(results),
        wire_table(results),
        fanout_table(results),
        TOPOLOGY_NOTE,
    ]
    env = results.environment
    if env:
        sections.append(
            f"{env.get('mode', '?')} run, Python {env.get('python')}, websockets "
            f"{env.get('websockets')}, {env.get('cpus')} CPUs, load average "
            f"{env.get('load_before')} before, {env.get('load_after')} after"
        )
    return "\n\n".join(s for s in sections if s)


def latency_table(results: Results) -> str:
    if not results.latency:
        return ""
    config = results.config
    lines = [
        f"Latency, {config.size}-byte messages ({config.rounds} interleaved rounds; "
        "round trips, then delivery delays)",
        f"{'method':<20} {'topology':<8} {'n':>5} {'median':>10} {'p90':>10} {'p99':>10}",
    ]
    for method, topology in results.latency:
        s = results.summary(method, topology)
        lines.append(
            f"{method:<20} {topology:<8} {s.n:>5} {duration(s.median):>10} "
            f"{duration(s.p90):>10} {duration(s.p99):>10}"
        )
    topologies = sorted({t for _, t in results.latency}, key=["thread", "process"].index)
    ratios = []
    for topology in topologies:
        pairs = [
            ("WebSocket", "raw TCP"),
            ("HTTP keep-alive", "WebSocket"),
            ("HTTP new connection", "WebSocket"),
            ("long poll", "WebSocket push"),
        ]
        ratios.append(
            f"{topology}: "
            + ", ".join(
                f"{a} / {b} {results.ratio(a, topology, b):.2f}x"
                for a, b in pairs
                if (a, topology) in results.latency and (b, topology) in results.latency
            )
        )
    return "\n".join(lines + ["ratios of medians, " + ratios[0]] + ratios[1:])


def throughput_table(results: Results) -> str:
    if not results.rates:
        return ""
    config = results.config
    topologies = sorted({r.topology for r in results.rates}, key=["thread", "process"].index)
    head = f"{'direction':<16} {'size':>7}" + "".join(
        f" {t + ' msg/s':>15} {'MB/s':>8}" for t in topologies
    )
    if len(topologies) == 2:
        head += f" {'process/thread':>15}"
    lines = [
        f"Throughput, each way (median of {config.throughput_rounds} round(s) of "
        f"{duration(config.duration)})",
        head,
    ]
    for size in config.sizes:
        for direction in DIRECTIONS:
            found = [results.throughput(t, direction, size) for t in topologies]
            line = f"{direction:<16} {size:>5} B" + "".join(
                f" {rate(r.messages_per_s):>15} {rate(r.mb_per_s):>8}" for r in found
            )
            if len(found) == 2:
                line += f" {found[1].messages_per_s / found[0].messages_per_s:>14.2f}x"
            lines.append(line)
    return "\n".join(lines)


def wire_table(results: Results) -> str:
    if not results.wire:
        return ""
    size = results.wire[0].size
    lines = [
        f"Bytes on the wire per message ({size}-byte payloads, counted by a tap; TCP/IP "
        "headers not included)",
        f"{'method':<20} {'per':<11} {'up':>6} {'down':>6} {'once':>6}"
        + "".join(f" {'N=' + str(n):>7}" for n in AMORTISED),
    ]
    for w in results.wire:
        lines.append(
            f"{w.method:<20} {w.unit:<11} {w.up:>6.0f} {w.down:>6.0f} {w.once:>6}"
            + "".join(f" {w.per_message(n):>7.0f}" for n in AMORTISED)
        )
    lines.append(
        "once: handshakes (opening and closing) per connection; N=n: bytes per "
        "message when one connection carries n messages"
    )
    return "\n".join(lines)


def fanout_table(results: Results) -> str:
    if not results.fanout:
        return ""
    lines = [
        f"Fan-out: one {results.fanout[0].size}-byte message to every client of a room "
        "(server and clients in child processes)",
        f"{'clients':>7} {'delay median':>13} {'p99':>10} {'time to all':>12} {'max':>10} "
        f"{'memory/connection':>18}",
    ]
    for f in results.fanout:
        lines.append(
            f"{f.clients:>7} {duration(f.delay.median):>13} {duration(f.delay.p99):>10} "
            f"{duration(f.to_all.median):>12} {duration(f.to_all.max):>10} "
            f"{f.memory_per_connection / 1024:>15.1f} KB"
        )
    return "\n".join(lines)


# --- pictures -------------------------------------------------------------------------------


def plot(results: Results) -> Any:
    """One figure, four panels: latency, bytes per message, throughput, fan-out.

    The figure is not registered with pyplot: a notebook shows it once, as the cell's result,
    and nothing needs closing afterwards.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 9))
    axes = fig.subplots(2, 2)
    plot_latency(results, axes[0][0])
    plot_wire(results, axes[0][1])
    plot_throughput(results, axes[1][0])
    plot_fanout(results, axes[1][1])
    fig.tight_layout()
    return fig


def plot_latency(results: Results, ax: Any = None) -> Any:
    """Distribution of each method's samples (box: quartiles; whiskers: p1-p99), log scale."""
    from matplotlib.patches import Patch

    ax = ax or _axes()
    keys = list(results.latency)
    data = [[s * 1e6 for s in results.latency[k]] for k in keys]
    colors = {"thread": "tab:orange", "process": "tab:blue"}
    options = {"whis": (1, 99), "showfliers": False, "patch_artist": True}
    try:
        boxes = ax.boxplot(data, orientation="horizontal", **options)
    except TypeError:  # matplotlib < 3.10
        boxes = ax.boxplot(data, vert=False, **options)
    for patch, (_, topology) in zip(boxes["boxes"], keys, strict=True):
        patch.set_facecolor(colors.get(topology, "tab:gray"))
    ax.set_yticks(range(1, len(keys) + 1), [f"{m} ({t})" for m, t in keys])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("µs (log scale)")
    ax.set_title(f"Latency, {results.config.size}-byte messages")
    handles = [Patch(color=c, label=f"server: {t}") for t, c in colors.items()]
    ax.legend(handles=handles, fontsize="small")
    return ax


def plot_wire(results: Results, ax: Any = None) -> Any:
    """Bytes per message for each method, with the handshakes spread over N = 1, 10, 100."""
    ax = ax or _axes()
    ns = AMORTISED[:3]
    width = 0.8 / len(ns)
    for i, n in enumerate(ns):
        ax.barh(
            [j + i * width for j in range(len(results.wire))],
            [w.per_message(n) for w in results.wire],
            height=width,
            label=f"N = {n}",
        )
    ax.set_yticks(
        [j + width for j in range(len(results.wire))],
        [f"{w.method} ({w.unit})" for w in results.wire],
    )
    ax.invert_yaxis()
    if results.wire:
        ax.axvline(results.wire[0].size, color="black", linestyle=":", label="payload")
    ax.set_xlabel("bytes on the wire per message, both directions")
    ax.set_title("Bytes per message, N messages per connection")
    ax.legend()
    return ax


def plot_throughput(results: Results, ax: Any = None) -> Any:
    """MB/s (each way) against payload size: a colour per direction, a line style per topology."""
    ax = ax or _axes()
    styles = {"thread": ":", "process": "-"}
    colors = dict(zip(DIRECTIONS, ("tab:blue", "tab:green", "tab:red"), strict=True))
    topologies = sorted({r.topology for r in results.rates}, key=["thread", "process"].index)
    for direction in DIRECTIONS:
        for topology in topologies:
            rates = [results.throughput(topology, direction, s) for s in results.config.sizes]
            ax.plot(
                [r.size for r in rates],
                [r.mb_per_s for r in rates],
                styles[topology],
                color=colors[direction],
                marker="o",
                label=f"{direction} ({topology})",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("payload bytes per message")
    ax.set_ylabel("MB/s each way")
    ax.set_title("Throughput by payload size")
    ax.legend(fontsize="small")
    return ax


def plot_fanout(results: Results, ax: Any = None) -> Any:
    """Per-client delivery delay in rooms of each size (box: quartiles; whiskers: p1-p99)."""
    ax = ax or _axes()
    data = [[d * 1e3 for d in f.delays] for f in results.fanout]
    ax.boxplot(data, whis=(1, 99), showfliers=False)
    ax.set_xticks(range(1, len(results.fanout) + 1), [str(f.clients) for f in results.fanout])
    ax.set_xlabel("clients in the room")
    ax.set_ylabel("ms from publish to arrival")
    ax.set_title("Fan-out delivery delay")
    return ax


def _axes() -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(7, 4)).add_subplot()
