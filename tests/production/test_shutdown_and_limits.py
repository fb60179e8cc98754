"""Graceful shutdown on SIGTERM, the herd with and without jitter, and the limits."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

import wslab
from wslab.builtin import echo
from wslab.production import limits, shutdown


@pytest.mark.parametrize(
    ("target", "code"), [("wslab.production.shutdown:graceful_server", 1001), ("echo", 1006)]
)
def test_sigterm(target, code):
    """SIGTERM: the graceful server closes with 1001; a plain process just vanishes (1006)."""
    server = wslab.serve_process(target, name="victim")
    ws = wslab.connect(server.url)
    assert ws.request("hi") == "hi"
    os.kill(server.pid, signal.SIGTERM)
    with pytest.raises(ConnectionClosed):
        ws.recv()
    assert ws.close_code == code


def test_jitter_spreads_the_herd():
    """Every client gets 1001 and comes back; with full jitter the busiest 50 ms is far calmer."""
    fixed = asyncio.run(shutdown.herd(clients=40, delay=1.0, jitter=False))
    jittered = asyncio.run(shutdown.herd(clients=40, delay=1.0, jitter=True))
    for herd in (fixed, jittered):
        assert set(herd.close_codes) == {1001}
        assert len(herd.arrivals.times) == 40
    assert jittered.arrivals.peak(0.05) * 2 < fixed.arrivals.peak(0.05)


def test_token_bucket():
    """A burst of `burst`, then `rate` per second."""
    bucket = limits.TokenBucket(rate=2, burst=3)
    assert [bucket.allow(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.allow(0.5) and not bucket.allow(0.5)
    assert bucket.allow(10.0) and bucket.allow(10.0) and bucket.allow(10.0)
    assert not bucket.allow(10.0)


def test_rate_limited_handler_closes_with_1008():
    """The sixth message in a burst of five closes the connection with 1008."""

    async def upper(message):
        return message.upper()

    server = wslab.serve(limits.rate_limited(upper, rate=1, burst=5), name="limited")
    with wslab.connect(server.url) as ws:
        assert [ws.request("a") for _ in range(5)] == ["A"] * 5
        ws.send("a")
        with pytest.raises(ConnectionClosed):
            ws.recv()
        assert ws.close_code == 1008


def test_connection_cap_refuses_with_503():
    """Past the cap the handshake gets 503 and Retry-After; a freed place is taken again."""
    cap = limits.ConnectionCap(limit=2)
    server = wslab.serve(cap.wrap(echo), name="capped", process_request=cap.process_request)
    first, second = wslab.connect(server.url), wslab.connect(server.url)
    assert first.request("1") == "1" and second.request("2") == "2"
    with pytest.raises(InvalidStatus) as refused:
        wslab.connect(server.url)
    assert refused.value.response.status_code == 503
    assert refused.value.response.headers["Retry-After"] == "5"
    first.close()
    second.close()
    server.wait_idle()
    with wslab.connect(server.url) as third:
        assert third.request("3") == "3"
    assert cap.refused == 1


def test_decompression_bomb_is_refused():
    """16 MiB of zeros, compressed to a few KiB, is refused with 1009 by max_size=1 MiB."""
    server = wslab.echo_server(compression="deflate", max_size=2**20)
    with wslab.connect(server.url, compression="deflate") as ws:
        ws.send(bytes(16 * 2**20))
        with pytest.raises(ConnectionClosed):
            ws.recv()
        assert ws.close_code == 1009
