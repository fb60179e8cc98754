"""The performance lab's must-show ratios, from one run, against baselines measured in that run.

Every ratio compares set-ups measured side by side, so that a machine that gets busier or
quieter during the run weighs on both alike; read the ratios, not the times.

- Round trips (32-byte messages, a blocking client in the main thread): in each round, one
  connection per set-up is opened and the set-ups take turns, 25 round trips at a time after 3
  untimed ones, in a new random order each turn (C A B, B C A, ...). The ratio of a round is
  the ratio of its medians; a ratio is the median over rounds.
  * wslab / websockets, thread: wslab.echo_server() + wslab.connect() against websockets'
    serve() on a loop thread + websockets' sync client (the notebook set-up);
  * wslab / websockets, process: serve_process("echo") + wslab.connect() against websockets'
    serve() in asyncio.run() of a child process + websockets' sync client;
  * raw TCP, HTTP keep-alive and HTTP new connection, each server in a child process.
- Throughput (websockets' asyncio client; client → server, server → client, full duplex; per
  payload size): wslab's server in a child process, websockets' own in a child process, and
  wslab's server on a loop thread, measured one after the other for each case, in rounds that
  reverse the order every other time. The headline is the geometric mean over the cases of
  each case's median per-round ratio.
- Fan-out: 1,000 clients in a child process, one room in a server process.

The allocator: glibc's malloc gives the top of the main heap back to the OS once 128 KiB of
it are free, and takes it back with brk() for the next large frame. How often that happens
depends on where a process's heap top happens to sit, and it lasts for the life of the
process: measured here, it cut a plain websockets server's 16 KiB uploads from ~80k to
~17-28k messages/s, in one process and not in another started the same way. That would
decide the comparisons instead of the code, so the lab runs (itself and every server it
starts) with trimming relaxed: MALLOC_TOP_PAD_ and MALLOC_TRIM_THRESHOLD_ below.
``--default-malloc`` measures with glibc's defaults instead.

    python benchmarks/perf_lab.py [--full] [--default-malloc] [--out benchmarks/results/latest.md]

Exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import wslab
from wslab import serve_process
from wslab._loop import BackgroundLoop
from wslab.bench import baseline, fanout, latency, throughput
from wslab.bench.progress import Bar, progress
from wslab.bench.report import duration, load_average, machine, rate
from wslab.bench.servers import bench_server
from wslab.bench.stats import percentile
from wslab.bench.topology import with_path

#: wslab's echo must cost at most 10% more than websockets' own, in the same topology.
MAX_ECHO_RATIO = 1.10
#: wslab's out-of-process server must reach at least 90% of websockets' own throughput.
MIN_THROUGHPUT_RATIO = 0.90
SIZE = 32
OUT = Path(__file__).parent / "results" / "latest.md"
RATE_SETUPS = ("wslab process", "websockets process", "wslab thread")
#: glibc malloc settings for the whole lab (see the docstring); inherited by child processes.
RELAXED_MALLOC = {"MALLOC_TOP_PAD_": str(16 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}
#: Round trips measured in a row, per set-up and turn.
BLOCK = 25


@dataclass(frozen=True)
class Mode:
    rounds: int
    samples: int
    """Round trips per set-up and round."""
    throughput_rounds: int
    duration: float
    """Seconds each throughput measurement sends for."""
    sizes: tuple[int, ...]
    clients: int
    broadcasts: int


QUICK = Mode(
    rounds=7, samples=200, throughput_rounds=5, duration=0.08, sizes=(32, 1024), clients=1000,
    broadcasts=10,
)  # fmt: skip
FULL = Mode(
    rounds=15, samples=500, throughput_rounds=9, duration=0.25, sizes=(32, 1024, 16384),
    clients=1000, broadcasts=50,
)  # fmt: skip


@dataclass
class Ratio:
    name: str
    value: float
    per_round: list[float]
    """The same ratio in each round alone: its spread is the noise."""
    target: str = ""
    met: bool | None = None

    def line(self) -> str:
        verdict = "" if self.met is None else f"  target {self.target}: " + self.verdict
        return (
            f"{self.name:<62} {self.value:5.2f}x  (rounds {min(self.per_round):.2f}-"
            f"{max(self.per_round):.2f}){verdict}"
        )

    def row(self) -> str:
        spread = f"{min(self.per_round):.2f}-{max(self.per_round):.2f}"
        verdict = "" if self.met is None else self.verdict
        return f"| {self.name} | {self.value:.2f}x | {spread} | {self.target} | {verdict} |"

    @property
    def verdict(self) -> str:
        return "met" if self.met else "NOT met"


@dataclass
class Lab:
    mode: Mode
    rtt: dict[str, list[list[float]]] = field(default_factory=dict)
    """Round-trip samples by set-up, one list per round."""
    rates: dict[tuple[str, str, int], list[float]] = field(default_factory=dict)
    """Messages per second by (set-up, direction, size), one value per round."""
    fanout: fanout.Fanout | None = None
    started: float = field(default_factory=time.perf_counter)
    load_before: tuple[float, ...] = field(default_factory=load_average)

    # --- ratios ----------------------------------------------------------------------------

    def rtt_ratio(self, name: str, a: str, b: str, target: float | None = None) -> Ratio:
        per_round = [
            statistics.median(x) / statistics.median(y)
            for x, y in zip(self.rtt[a], self.rtt[b], strict=True)
        ]
        value = statistics.median(per_round)
        if target is None:
            return Ratio(name, value, per_round)
        return Ratio(name, value, per_round, f"<= {target:.2f}x", value <= target)

    def rate_ratio(self, name: str, a: str, b: str, target: float | None = None) -> Ratio:
        """Geometric mean over every direction and size of `a`'s rate over `b`'s."""
        cases = [(d, s) for s in self.mode.sizes for d in throughput.DIRECTIONS]
        by_case = [self.case_ratio("", a, b, d, s) for d, s in cases]
        value = _geometric_mean([r.value for r in by_case])
        rounds = zip(*(r.per_round for r in by_case), strict=True)
        per_round = [_geometric_mean(ratios) for ratios in rounds]
        if target is None:
            return Ratio(name, value, per_round)
        return Ratio(name, value, per_round, f">= {target:.2f}x", value >= target)

    def case_ratio(self, name: str, a: str, b: str, direction: str, size: int) -> Ratio:
        x, y = self.rates[(a, direction, size)], self.rates[(b, direction, size)]
        per_round = [p / q for p, q in zip(x, y, strict=True)]
        return Ratio(name, statistics.median(per_round), per_round)

    def ratios(self) -> list[Ratio]:
        """The must-show ratios."""
        return [
            self.rtt_ratio(
                "echo RTT, wslab / websockets, thread (notebook set-up)",
                "wslab thread", "websockets thread", MAX_ECHO_RATIO,
            ),
            self.rtt_ratio(
                "echo RTT, wslab / websockets, process",
                "wslab process", "websockets process", MAX_ECHO_RATIO,
            ),
            self.rtt_ratio("RTT, WebSocket / raw TCP (process)", "wslab process", "raw TCP"),
            self.rtt_ratio(
                "RTT, HTTP keep-alive / WebSocket (process)", "HTTP keep-alive", "wslab process"
            ),
            self.rtt_ratio(
                "RTT, HTTP new connection / WebSocket (process)",
                "HTTP new connection", "wslab process",
            ),
            self.rate_ratio(
                "throughput, wslab process / websockets process",
                "wslab process", "websockets process", MIN_THROUGHPUT_RATIO,
            ),
            self.rate_ratio(
                "throughput, wslab process / wslab thread (the GIL)",
                "wslab process", "wslab thread",
            ),
        ]  # fmt: skip

    def cases(self) -> list[Ratio]:
        """The throughput ratios case by case, behind the two geometric means."""
        found = []
        for a, b in (("wslab process", "websockets process"), ("wslab process", "wslab thread")):
            for size in self.mode.sizes:
                for direction in throughput.DIRECTIONS:
                    found.append(
                        self.case_ratio(f"{a} / {b}, {direction}, {size} B", a, b, direction, size)
                    )
        return found

    # --- report ----------------------------------------------------------------------------

    def summary(self) -> str:
        """What the terminal shows: the must-show ratios and the fan-out, one per line."""
        lines = [r.line() for r in self.ratios()]
        if self.fanout is not None:
            f = self.fanout
            lines.append(
                f"fan-out to {f.clients} clients: per-client delay median "
                f"{duration(f.delay.median)}, p99 {duration(f.delay.p99)}; time to all median "
                f"{duration(f.to_all.median)}; server memory {f.memory_per_connection / 1024:.1f}"
                " KB per connection"
            )
        return "\n".join(lines)

    def markdown(self) -> str:
        mode = "full" if self.mode == FULL else "quick"
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            "# Performance lab: latest results",
            "",
            f"`python benchmarks/perf_lab.py{' --full' if mode == 'full' else ''}` ({mode}), "
            f"{now}, {time.perf_counter() - self.started:.0f} s. "
            f"{machine(self.load_before, load_average())}. Allocator: {_malloc()}.",
            "",
            "Ratios against baselines measured in the same run, set-ups interleaved (see the "
            "docstring of `benchmarks/perf_lab.py`). The range is the lowest and highest ratio "
            "of a single round: the noise of this machine at the time.",
            "",
            "| ratio | value | per-round range | target | |",
            "|---|---|---|---|---|",
            *(r.row() for r in self.ratios()),
            "",
            f"## Round trips, {SIZE}-byte messages ({self.mode.rounds} rounds x "
            f"{self.mode.samples} samples per set-up)",
            "",
            "| set-up | median | p90 | p99 |",
            "|---|---|---|---|",
        ]
        for name, rounds in self.rtt.items():
            samples = [s for samples in rounds for s in samples]
            lines.append(
                f"| {name} | {duration(statistics.median(samples))} | "
                f"{duration(percentile(samples, 90))} | {duration(percentile(samples, 99))} |"
            )
        lines += [
            "",
            f"## Throughput, messages/s each way (median of {self.mode.throughput_rounds} "
            f"rounds of {duration(self.mode.duration)})",
            "",
            "| direction | size | " + " | ".join(RATE_SETUPS) + " |",
            "|---|---|" + "---|" * len(RATE_SETUPS),
        ]
        for size in self.mode.sizes:
            for direction in throughput.DIRECTIONS:
                cells = [
                    rate(statistics.median(self.rates[(s, direction, size)])) for s in RATE_SETUPS
                ]
                lines.append(f"| {direction} | {size} B | " + " | ".join(cells) + " |")
        lines += ["", "| throughput ratio, case by case | value | per-round range | | |",
                  "|---|---|---|---|---|", *(r.row() for r in self.cases())]  # fmt: skip
        if self.fanout is not None:
            f = self.fanout
            lines += [
                "",
                f"## Fan-out: one {SIZE}-byte message to {f.clients} clients "
                f"({len(f.time_to_all)} broadcasts)",
                "",
                "| per-client delay median | p99 | time to all, median | max | "
                "server memory per connection |",
                "|---|---|---|---|---|",
                f"| {duration(f.delay.median)} | {duration(f.delay.p99)} | "
                f"{duration(f.to_all.median)} | {duration(f.to_all.max)} | "
                f"{f.memory_per_connection / 1024:.1f} KB |",
            ]
        return "\n".join(lines) + "\n"


# --- set-ups --------------------------------------------------------------------------------


@contextlib.contextmanager
def rtt_setups() -> Iterator[dict[str, Callable[[], contextlib.AbstractContextManager]]]:
    """Round-trip set-ups by name: each value opens a probe (a fresh connection per round)."""
    with contextlib.ExitStack() as stack:
        thread = stack.enter_context(wslab.echo_server(name="lab-echo-thread"))
        process = stack.enter_context(serve_process("echo", name="lab-echo-process"))
        tcp = stack.enter_context(serve_process("tcp-echo", name="lab-tcp-process"))
        http = stack.enter_context(serve_process("http", name="lab-http-process", interval=None))
        plain_thread = stack.enter_context(baseline.thread_server())
        plain_process = stack.enter_context(baseline.process_server())
        plain_thread_url = with_path(plain_thread.url, "/echo")
        plain_process_url = with_path(plain_process.url, "/echo")
        yield {
            "wslab thread": lambda: latency.websocket_rtt(thread.url, SIZE),
            "websockets thread": lambda: latency.websocket_rtt(
                plain_thread_url, SIZE, client="websockets"
            ),
            "wslab process": lambda: latency.websocket_rtt(process.url, SIZE),
            "websockets process": lambda: latency.websocket_rtt(
                plain_process_url, SIZE, client="websockets"
            ),
            "raw TCP": lambda: latency.tcp_rtt(tcp.url, SIZE),
            "HTTP keep-alive": lambda: latency.http_rtt(http.url, SIZE),
            "HTTP new connection": lambda: latency.http_rtt(http.url, SIZE, new_connection=True),
        }


@contextlib.contextmanager
def rate_setups() -> Iterator[dict[str, str]]:
    """Throughput set-ups by name: the URL of a server running the `bench` routes."""
    with contextlib.ExitStack() as stack:
        process = stack.enter_context(serve_process("bench", name="lab-bench-process"))
        plain = stack.enter_context(baseline.process_server())
        thread = stack.enter_context(bench_server(name="lab-bench-thread"))
        yield {
            "wslab process": process.url,
            "websockets process": plain.url,
            "wslab thread": thread.url,
        }


def measure_rtt(lab: Lab, bar: Bar) -> None:
    shuffle = random.Random(0).shuffle
    with rtt_setups() as setups:
        names = list(setups)
        for name in names:
            lab.rtt[name] = []
        for round_number in range(lab.mode.rounds):
            order = list(names)
            with contextlib.ExitStack() as stack:
                probes = {name: stack.enter_context(setups[name]()) for name in order}
                for probe in probes.values():
                    latency.measure(probe, 0, warmup=lab.mode.samples // 10)
                samples: dict[str, list[float]] = {name: [] for name in order}
                block = min(BLOCK, lab.mode.samples)
                for _ in range(lab.mode.samples // block):
                    # Short blocks in a fresh order each turn: whatever one set-up leaves behind
                    # (a server still closing connections) falls on each of the others alike,
                    # and mostly on the block's untimed warm-up.
                    shuffle(order)
                    for name in order:
                        samples[name] += latency.measure(probes[name], block, warmup=3)
            for name in names:
                lab.rtt[name].append(samples[name])
            bar.update(f"round trips: round {round_number + 1}/{lab.mode.rounds}")


def measure_rates(lab: Lab, bar: Bar) -> None:
    client = BackgroundLoop("lab-client")
    try:
        with rate_setups() as urls:
            keys = [
                (s, d, size)
                for size in lab.mode.sizes
                for d in throughput.DIRECTIONS
                for s in RATE_SETUPS
            ]
            for key in keys:
                lab.rates[key] = []
            for round_number in range(lab.mode.throughput_rounds):
                for setup, direction, size in keys if round_number % 2 == 0 else keys[::-1]:
                    messages, seconds = client.run(
                        throughput.measure(urls[setup], direction, size, lab.mode.duration),
                        timeout=60,
                    )
                    lab.rates[(setup, direction, size)].append(messages / seconds)
                bar.update(f"throughput: round {round_number + 1}/{lab.mode.throughput_rounds}")
    finally:
        client.stop()


def _geometric_mean(values: list[float] | tuple[float, ...]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def _malloc() -> str:
    if all(os.environ.get(k) == v for k, v in RELAXED_MALLOC.items()):
        return (
            "glibc trimming relaxed ("
            + ", ".join(f"{k}={v}" for k, v in RELAXED_MALLOC.items())
            + ")"
        )
    return "glibc defaults"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--full", action="store_true", help="more rounds and samples (~2 min)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"markdown report (default {OUT})")
    parser.add_argument(
        "--default-malloc", action="store_true", help="keep glibc's malloc defaults (see above)"
    )
    args = parser.parse_args(argv)
    lab = Lab(FULL if args.full else QUICK)
    try:
        with progress(lab.mode.rounds + lab.mode.throughput_rounds + 1, "perf lab") as bar:
            measure_rtt(lab, bar)
            measure_rates(lab, bar)
            lab.fanout = fanout.measure(lab.mode.clients, lab.mode.broadcasts, SIZE)
            bar.update(f"fan-out to {lab.mode.clients} clients")
    finally:
        wslab.stop_all()
    print(lab.summary())
    print(f"allocator: {_malloc()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(lab.markdown())
    print(f"written to {args.out}")
    return 0 if all(r.met is not False for r in lab.ratios()) else 1


if __name__ == "__main__":
    # The allocator reads its settings when a process starts: run again with them set.
    if "--default-malloc" not in sys.argv and _malloc() == "glibc defaults":
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **RELAXED_MALLOC})
    sys.exit(main())
