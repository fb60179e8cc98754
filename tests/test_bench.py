"""`wslab.bench`: every measurement returns what it says, counted right. Behaviour, not speed:
no test here asserts how fast anything is."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import Resources, assert_released, child_pids, wait_until

import wslab
from wslab.bench import baseline, fanout, latency, throughput, wire
from wslab.bench.progress import progress
from wslab.bench.report import duration, rate
from wslab.bench.results import QUICK, Config
from wslab.bench.servers import bench_server
from wslab.bench.stats import Summary, percentile
from wslab.bench.suite import METHODS, run
from wslab.bench.topology import servers
from wslab.http_server import Response

#: The smallest run that still exercises everything.
TINY = Config(
    rounds=2,
    samples=5,
    short_poll_samples=2,
    short_poll_interval=0.005,
    throughput_rounds=1,
    duration=0.01,
    sizes=(32, 1024),
    wire_messages=3,
    fanout_clients=(10,),
    broadcasts=2,
)
ROOT = Path(__file__).resolve().parent.parent


# --- stats ----------------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks():
    """percentile() matches the usual definition: 50 is the median, 0 and 100 the extremes."""
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 50) == 2.5
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 90) == pytest.approx(3.7)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_is_ordered():
    """A summary's figures are in order: min <= median <= p90 <= p99 <= max."""
    s = Summary.of([0.001 * (i % 17) + 0.0001 * i for i in range(500)])
    assert s.n == 500
    assert s.min <= s.median <= s.p90 <= s.p99 <= s.max
    assert s.min <= s.mean <= s.max


# --- latency --------------------------------------------------------------------------------


@pytest.mark.parametrize("topology", ["thread", "process"])
def test_every_latency_method_gives_the_samples_asked_for(topology):
    """Each method, in each topology, returns `count` samples, all positive and finite."""
    config = replace(TINY, samples=7, short_poll_samples=3)
    with servers(topology, prefix="test") as started:
        for method, open_probe in METHODS.items():
            with open_probe(started, config) as probe:
                samples = latency.measure(probe, 3 if method == "short poll" else 7, warmup=1)
            assert len(samples) == (3 if method == "short poll" else 7), method
            assert all(0 < s < 10 and math.isfinite(s) for s in samples), method
            s = Summary.of(samples)
            assert s.min <= s.median <= s.p90 <= s.p99 <= s.max


def test_websocket_round_trips_with_either_client():
    """websocket_rtt works with wslab's client and with websockets' own (the baseline's)."""
    with bench_server(name="rtt") as server:
        for client in ("wslab", "websockets"):
            with latency.websocket_rtt(f"{server.url}echo", 16, client=client) as probe:
                assert len(latency.measure(probe, 4)) == 4
        with pytest.raises(ValueError):
            with latency.websocket_rtt(server.url, client="curl"):
                pass


# --- bytes on the wire ----------------------------------------------------------------------


def test_websocket_bytes_are_the_frames_sizes():
    """A 32-byte echo costs a 38 B masked client frame and a 34 B server frame (RFC 6455 §5.2)."""
    with bench_server(name="wire") as server:
        cost = wire.websocket_echo(f"{server.url}echo", size=32, messages=5)
        big = wire.websocket_echo(f"{server.url}echo", size=200, messages=2)
    assert (cost.up, cost.down) == (2 + 4 + 32, 2 + 32)
    assert cost.closing_up == 2 + 4 + 2 and cost.closing_down == 2 + 2  # close code 1000
    assert cost.setup_up > 100 and cost.setup_down > 100  # the opening handshake's heads
    assert cost.per_message(1) == 72 + cost.once
    assert cost.per_message(1000) == pytest.approx(72 + cost.once / 1000)
    assert (big.up, big.down) == (4 + 4 + 200, 4 + 200)  # 16-bit extended length from 126 B


def test_push_costs_only_the_server_frame():
    """Receiving a pushed 32-byte event costs its 34 B frame and nothing upstream."""
    with bench_server(name="wire") as server:
        cost = wire.websocket_push(f"{server.url}room/test", size=32, messages=4)
    assert (cost.up, cost.down) == (0, 34)
    assert cost.setup_down > 0  # the handshake and the room's greeting


def test_http_bytes_are_the_messages_sizes():
    """An HTTP echo costs its request head and body up, and the server's response down."""
    with servers("thread", prefix="test") as started:
        keep_alive = wire.http_echo(started.http.url, size=32, messages=3)
        fresh = wire.http_echo(started.http.url, size=32, messages=3, new_connection=True)
        poll = wire.long_poll(started, size=32, messages=3)
        empty = wire.short_poll_empty(started.http.url, messages=3)
    response = Response(200, b"x" * 32, "application/octet-stream").encode(None)
    assert keep_alive.down == len(response)
    assert keep_alive.up > 32 and keep_alive.once == 0
    assert (fresh.up, fresh.down) == (keep_alive.up, keep_alive.down)  # above TCP, the same
    assert poll.down > 32 and poll.up > 0
    assert empty.size == 0 and empty.down > 0


def test_every_wire_method_is_measured():
    """measure_all() covers every method, each with bytes both ways or at least down."""
    with servers("thread", prefix="test") as started:
        costs = wire.measure_all(started, size=32, messages=2)
    assert [c.method for c in costs] == [
        "WebSocket",
        "WebSocket push",
        "HTTP keep-alive",
        "HTTP new connection",
        "long poll",
        "short poll",
    ]
    assert all(c.down > 0 for c in costs)


# --- throughput -----------------------------------------------------------------------------


@pytest.mark.parametrize("direction", throughput.DIRECTIONS)
def test_throughput_counts_what_arrived(direction):
    """Each direction reports messages that really arrived (the sink's count is checked)."""
    from wslab._loop import BackgroundLoop

    client = BackgroundLoop("test-client")
    try:
        with bench_server(name="rates") as server:
            for size in (32, 70_000):
                messages, seconds = client.run(
                    throughput.measure(server.url, direction, size, 0.01), timeout=30
                )
                rate_ = throughput.Rate("thread", direction, size, messages, seconds)
                assert messages > 0 and seconds > 0
                assert rate_.mb_per_s == pytest.approx(rate_.messages_per_s * size / 1e6)
    finally:
        client.stop()


# --- fan-out --------------------------------------------------------------------------------


def test_fanout_reaches_every_client_and_leaves_no_process():
    """Every client gets every broadcast; time to all is the slowest client; nothing stays."""
    wslab.stop_all()
    children = child_pids()
    result = fanout.measure(clients=20, broadcasts=3)
    assert len(result.delays) == 20 * 3 and len(result.time_to_all) == 3
    assert all(d > 0 for d in result.delays)
    for n, slowest in enumerate(result.time_to_all):
        assert slowest == max(result.delays[20 * n : 20 * (n + 1)])
    assert result.rss_empty > 0 and result.rss_full > 0
    assert result.to_dict()["broadcasts"] == 3
    assert "bench-fanout" not in wslab.running()
    wait_until(lambda: child_pids() <= children)


# --- the whole run, its report and its command line -----------------------------------------


def test_run_measures_everything_and_stops_everything():
    """run() fills every table, prints, serialises and plots, and leaves nothing running."""
    import matplotlib.pyplot

    wslab.stop_all()
    before, children = Resources.now(), child_pids()
    results = run(config=TINY, progress_bar=False)
    assert set(results.latency) == {(m, t) for m in METHODS for t in ("thread", "process")}
    assert len(results.rates) == 2 * 3 * 2  # topologies x directions x sizes
    assert [f.clients for f in results.fanout] == [10]
    assert len(results.wire) == 6
    text = results.table()
    for heading in ("Latency", "Throughput", "Bytes on the wire", "Fan-out", "GIL"):
        assert heading in text
    json.dumps(results.to_dict())
    figure = results.plot()
    assert len(figure.axes) == 4
    assert not matplotlib.pyplot.get_fignums()  # not left open in pyplot
    assert wslab.running() == {}
    assert_released(before)
    wait_until(lambda: child_pids() <= children)


def test_quick_preset_stays_small():
    """The default preset is the quick one, with at most a room of 100 clients."""
    assert run.__defaults__[0] is True
    assert max(QUICK.fanout_clients) <= 100 and QUICK.rounds >= 2


def test_formats():
    """Times print with the units the notebooks' sanitizer recognises; rates shortly."""
    assert duration(41.5e-6) == "41.5 µs"
    assert duration(0.0112) == "11.20 ms"
    assert duration(1.25) == "1.25 s"
    assert rate(81234.0) == "81,200" and rate(3.517) == "3.52"


def test_cli_prints_tables_and_writes_json(tmp_path, monkeypatch, capsys):
    """`python -m wslab bench --json FILE` prints the tables and writes the summaries."""
    from wslab.bench import cli

    monkeypatch.setattr(cli, "run", lambda quick: run(config=TINY, progress_bar=False))
    assert cli.main(json_path=tmp_path / "bench.json") == 0
    out = capsys.readouterr()
    assert "Latency" in out.out and out.err == ""
    data = json.loads((tmp_path / "bench.json").read_text())
    assert {"config", "environment", "latency", "throughput", "wire", "fanout"} <= set(data)


def test_progress_goes_to_stderr_only(capsys):
    """A progress bar never writes to stdout; disabled, it writes nothing at all."""
    bar = progress(3, "test", enabled=False)
    bar.update("x")
    bar.close()
    assert capsys.readouterr() == ("", "")
    bar = progress(2, "test", enabled=True)
    bar.update("one")
    bar.update("two")
    bar.close()
    out = capsys.readouterr()
    assert out.out == "" and "test" in out.err


def test_progress_says_how_the_measurement_ended(capsys):
    """An interrupted measurement's bar says "interrupted", not "done"; a finished one erases."""
    with pytest.raises(KeyboardInterrupt):
        with progress(3, "test", enabled=True) as bar:
            bar.update("one")
            raise KeyboardInterrupt
    assert "interrupted" in capsys.readouterr().err
    with progress(1, "test", enabled=True) as bar:
        bar.update("one")
    assert "interrupted" not in capsys.readouterr().err


def test_the_widget_bar_says_interrupted(monkeypatch):
    """In a kernel, the bar's label ends as "interrupted" after a KeyboardInterrupt."""
    from wslab.bench import progress as module

    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    bar = module._WidgetBar(2, "test")
    with pytest.raises(KeyboardInterrupt), bar:
        raise KeyboardInterrupt
    (box,) = shown
    assert [w.value for w in box.children[1:]] == ["interrupted"]
    assert box.children[0].bar_style == "warning"


# --- baselines and the lab script -----------------------------------------------------------


def test_baselines_serve_the_same_routes():
    """Plain websockets baselines echo on /echo, on a thread and in a child process."""
    wslab.stop_all()
    before, children = Resources.now(), child_pids()
    with baseline.thread_server() as plain:
        assert plain.pid == os.getpid()
        with latency.websocket_rtt(f"{plain.url}echo", client="websockets") as probe:
            assert len(latency.measure(probe, 3)) == 3
    with baseline.process_server() as plain:
        assert plain.pid != os.getpid()
        with latency.websocket_rtt(f"{plain.url}echo", client="websockets") as probe:
            assert len(latency.measure(probe, 3)) == 3
    assert_released(before)
    wait_until(lambda: child_pids() <= children)


def test_perf_lab_writes_the_ratios(tmp_path, monkeypatch, capsys):
    """benchmarks/perf_lab.py prints every must-show ratio and writes them to its file."""
    spec = importlib.util.spec_from_file_location("perf_lab", ROOT / "benchmarks/perf_lab.py")
    perf_lab = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "perf_lab", perf_lab)  # dataclasses look their module up
    spec.loader.exec_module(perf_lab)
    tiny = perf_lab.Mode(
        rounds=2,
        samples=5,
        throughput_rounds=2,
        duration=0.01,
        sizes=(32,),
        clients=20,
        broadcasts=2,
    )
    monkeypatch.setattr(perf_lab, "QUICK", tiny)
    out = tmp_path / "latest.md"
    assert perf_lab.main(["--out", str(out)]) in (0, 1)  # 1: a target missed, not a crash
    printed = capsys.readouterr().out
    report = out.read_text()
    for needle in (
        "wslab / websockets, thread",
        "wslab / websockets, process",
        "raw TCP",
        "HTTP keep-alive",
        "HTTP new connection",
        "wslab process / websockets process",
        "fan-out",
        "20 clients",
    ):
        assert needle.lower() in printed.lower(), needle
        assert needle.lower() in report.lower(), needle
    assert wslab.running() == {}
