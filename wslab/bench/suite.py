"""`wslab.bench.run()`: every measurement of the lab, in one call.

Order of work: start the servers of both topologies; latency in interleaved rounds (each
round visits every method and topology, in a new random order, so that a machine that gets
busier during the run, or what one set-up leaves behind, weighs on all set-ups alike);
throughput in rounds of alternating order; bytes on the wire; fan-out. Everything started is
stopped at the end, even on error or interrupt.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import websockets

from .._loop import BackgroundLoop
from . import fanout, latency, throughput, wire
from .progress import Bar, progress
from .results import FULL, QUICK, Config, Results
from .topology import TOPOLOGIES, Servers, start

Opener = Callable[[Servers, Config], contextlib.AbstractContextManager[latency.Probe]]

#: Latency methods: name -> how to open its probe against a topology's servers.
METHODS: dict[str, Opener] = {
    "raw TCP": lambda s, c: latency.tcp_rtt(s.tcp.url, c.size),
    "WebSocket": lambda s, c: latency.websocket_rtt(s.ws_url("/echo"), c.size),
    "HTTP keep-alive": lambda s, c: latency.http_rtt(s.http.url, c.size),
    "HTTP new connection": lambda s, c: latency.http_rtt(s.http.url, c.size, True),
    "WebSocket push": lambda s, c: latency.websocket_push(s.ws_url("/room/push"), c.size),
    "long poll": lambda s, c: latency.long_poll(s.http.url, s.http_waiting, c.size),
    "short poll": lambda s, c: latency.short_poll(s.http.url, c.short_poll_interval, c.size),
}


def run(
    quick: bool = True,
    progress_bar: bool | None = None,
    topologies: tuple[str, ...] = TOPOLOGIES,
    config: Config | None = None,
) -> Results:
    """Measure latency, throughput, bytes on the wire and fan-out; return the `Results`.

    `quick` (default) takes a few seconds; ``quick=False`` measures more samples, sizes and
    room sizes (up to 1,000 clients) in a minute or two. `progress_bar`: None shows one in a
    notebook or a terminal. `config` overrides both presets.
    """
    mode = "custom" if config else "quick" if quick else "full"
    config = config or (QUICK if quick else FULL)
    steps = (
        1
        + config.rounds * len(topologies) * len(METHODS)
        + config.throughput_rounds
        * len(topologies)
        * len(throughput.DIRECTIONS)
        * len(config.sizes)
        + 1
        + len(config.fanout_clients)
    )
    results = Results(config, environment=_environment(mode))
    started = time.perf_counter()
    with progress(steps, "bench", progress_bar) as bar:
        with _all_servers(topologies) as servers:
            bar.update("servers started")
            _latency(results, servers, bar)
            _throughput(results, servers, bar)
            thread = servers.get("thread") or start("thread", "bench-wire")
            try:
                results.wire = wire.measure_all(thread, config.size, config.wire_messages)
            finally:
                if "thread" not in servers:
                    thread.stop()
            bar.update("bytes on the wire")
        for clients in config.fanout_clients:
            results.fanout.append(fanout.measure(clients, config.broadcasts, config.size))
            bar.update(f"fan-out to {clients}")
    results.environment["seconds"] = round(time.perf_counter() - started, 1)
    results.environment["load_after"] = _load()
    return results


@contextlib.contextmanager
def _all_servers(topologies: tuple[str, ...]) -> Iterator[dict[str, Servers]]:
    started: dict[str, Servers] = {}
    try:
        for topology in topologies:
            started[topology] = start(topology)
        yield started
    finally:
        for servers in started.values():
            servers.stop()


def _latency(results: Results, servers: dict[str, Servers], bar: Bar) -> None:
    config = results.config
    setups = [(m, t) for t in servers for m in METHODS]
    for key in setups:
        results.latency[key] = []
    shuffle = random.Random(0).shuffle
    for _ in range(config.rounds):
        shuffle(setups)
        for method, topology in setups:
            count = config.short_poll_samples if method == "short poll" else config.samples
            with METHODS[method](servers[topology], config) as probe:
                results.latency[(method, topology)] += latency.measure(
                    probe, count, warmup=0 if method == "short poll" else None
                )
            bar.update(f"latency: {method}, {topology}")


def _throughput(results: Results, servers: dict[str, Servers], bar: Bar) -> None:
    config = results.config
    setups = [(t, d, s) for s in config.sizes for d in throughput.DIRECTIONS for t in servers]
    client = BackgroundLoop("bench-client")
    try:
        for round_number in range(config.throughput_rounds):
            order = setups if round_number % 2 == 0 else setups[::-1]
            for topology, direction, size in order:
                url = servers[topology].ws.url
                messages, seconds = client.run(
                    throughput.measure(url, direction, size, config.duration),
                    timeout=config.duration + 4 * throughput.TIMEOUT,
                )
                results.rates.append(throughput.Rate(topology, direction, size, messages, seconds))
                bar.update(f"throughput: {direction}, {size} B, {topology}")
    finally:
        client.stop()


def _environment(mode: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "python": platform.python_version(),
        "websockets": websockets.__version__,
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "load_before": _load(),
    }


def _load() -> list[float]:
    """The 1, 5 and 15 minute load averages: how busy the machine was around the run."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []
