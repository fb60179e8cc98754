"""Echo round trip: wslab.echo_server() against plain websockets and raw TCP, in one run.

The three set-ups share one topology, the notebook's: the server runs on its own event loop in a
background thread of this process, the client is synchronous in the main thread, over loopback.

- wslab:      wslab.echo_server() and wslab.connect()
- websockets: websockets.asyncio.server.serve() on a loop thread, websockets.sync.client
- raw TCP:    an asyncio echo server on a loop thread, a blocking socket (the floor)

Compression is off on both WebSocket set-ups (wslab's servers default to it off, so the tap can
show payloads). Rounds of each set-up are interleaved, so that a machine that gets busier or
quieter during the run affects all three alike; the ratios are what to read, not the times.

    python benchmarks/echo_rtt.py [--rounds 7] [--messages 1000] [--size 32]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from websockets.asyncio.server import serve as websockets_serve
from websockets.sync.client import connect as websockets_connect

import wslab

#: wslab must add no measurable overhead to what websockets costs on its own.
TARGET_RATIO = 1.10


@contextmanager
def loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def run(loop: asyncio.AbstractEventLoop, coro):
    return asyncio.run_coroutine_threadsafe(coro, loop).result(10)


@contextmanager
def wslab_echo() -> Iterator[Callable[[bytes], bytes]]:
    with wslab.echo_server(name="bench-echo") as server, wslab.connect(server.url) as client:
        yield client.request


@contextmanager
def websockets_echo() -> Iterator[Callable[[bytes], bytes]]:
    async def echo(websocket):
        async for message in websocket:
            await websocket.send(message)

    with loop_thread() as loop:
        # websockets' serve() needs a running loop: create it inside a coroutine on that loop.
        async def start():
            return await websockets_serve(echo, "127.0.0.1", 0, compression=None)

        server = run(loop, start())
        port = server.sockets[0].getsockname()[1]
        with websockets_connect(f"ws://127.0.0.1:{port}/", proxy=None, compression=None) as ws:

            def request(message: bytes) -> bytes:
                ws.send(message)
                return ws.recv(10)

            yield request
        server.close()
        run(loop, server.wait_closed())


@contextmanager
def raw_tcp_echo() -> Iterator[Callable[[bytes], bytes]]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    with loop_thread() as loop:
        server = run(loop, asyncio.start_server(echo, "127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def request(message: bytes) -> bytes:
                sock.sendall(message)
                received = b""
                while len(received) < len(message):
                    received += sock.recv(65536)
                return received

            yield request
        server.close()
        run(loop, server.wait_closed())


SETUPS = {"wslab": wslab_echo, "websockets": websockets_echo, "raw TCP": raw_tcp_echo}


def measure(request: Callable[[bytes], bytes], message: bytes, count: int) -> list[float]:
    for _ in range(count // 10):  # warm-up
        request(message)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        reply = request(message)
        samples.append(time.perf_counter() - started)
        assert reply == message
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--messages", type=int, default=1000, help="round trips per round")
    parser.add_argument("--size", type=int, default=32, help="message size in bytes")
    args = parser.parse_args(argv)
    message = b"x" * args.size

    samples: dict[str, list[float]] = {name: [] for name in SETUPS}
    for _ in range(args.rounds):
        for name, setup in SETUPS.items():
            with setup() as request:
                samples[name] += measure(request, message, args.messages)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"echo round trip, {args.size}-byte messages, "
        f"{args.rounds} interleaved rounds x {args.messages} messages"
    )
    print(f"{'set-up':<12} {'median':>10} {'p90':>10} {'p99':>10}")
    for name, values in samples.items():
        q = statistics.quantiles(values, n=100)
        print(
            f"{name:<12} " + " ".join(f"{v * 1e6:>7.1f} µs" for v in (medians[name], q[89], q[98]))
        )
    overhead = medians["wslab"] / medians["websockets"]
    print(
        f"wslab / websockets:    {overhead:.3f}x  (target <= {TARGET_RATIO:.2f}x: "
        f"{'met' if overhead <= TARGET_RATIO else 'NOT met'})"
    )
    print(f"websockets / raw TCP:  {medians['websockets'] / medians['raw TCP']:.2f}x")
    return 0 if overhead <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
