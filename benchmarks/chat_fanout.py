"""Chat fan-out: how long one message takes to reach every member of a room, on this machine.

For a room of N receiving clients (100 and 1,000 by default) plus one sender, the time from the
sender's ``send()`` until the LAST of the N clients has the message: the fan-out time. Median
and p99 over R messages (one at a time), for two servers measured in the same run, their
messages alternating so that both meet the same machine (others' work on a shared machine
shows as noise: the load average is printed before and after):

- chat:      ``wslab.chat.chat_server()``: JSON parsing, room state, an ack to the sender, then
             ``websockets.broadcast()`` of one encoded message to the others, a backlog check
             per member;
- baseline:  a plain websockets handler that calls ``broadcast()`` with the frame it received
             to every other connection: the floor for any broadcasting websockets server.

Topology, the notebook's: the server runs on its own loop in a thread of this process (through
``wslab``), the sender is a synchronous websockets client in this process's main thread. The N
receivers are asyncio clients in ONE separate process, so they share no GIL with the server.

Clocks: the send time is taken here, arrivals in the client process, both with
``time.monotonic()``. On Linux that is ``clock_gettime(CLOCK_MONOTONIC)``, one clock for the
whole system (time since boot), so values from two processes on one machine are comparable;
the run checks it (a child's reading must fall between two readings taken here around it).

Filling the room is measured too, each room alone: the time from the receiver process's
start (the same instant for every server, taken by the same code) until all N are in and
each knows what its server tells it of the others. A chat join answers the newcomer with a
welcome (the member list as the room knows it) and the server tells the room of joins in
batches, one ``presence_changed`` per room once arrivals pause (``wslab/chat/pacing.py``):
a chat member counts only once its own list, its welcome plus the batches it received, is
exactly the N nicks, so the chat's time includes every join's round trip and the wait for
the last batch. (One ``joined`` per join cost N(N-1)/2 notices, 499,500 for 1,000; before
that, a ``presence`` list to everyone on every join: O(N^3) bytes.) Two baselines:

- baseline (the target's): the bare ``broadcast()`` server above, filled by connecting: no
  join, no notices;
- announcing: the same server announcing each connection, one at a time, to those already
  there with a one-nick ``presence_changed``, so it carries N(N-1)/2 notices: the floor for
  any server that tells members of each arrival separately, as the chat did before batching.

The chat server runs with a large ``max_backlog`` so that the join storm does not get slow
members dropped before the measurement starts.

Warming: fresh TCP connections deliver small messages measurably slower than connections that
have carried some data (seen here: a baseline room of 1,000 took ~50 ms per fan-out fresh,
~25-35 ms after each connection had received a few hundred KB; our guess is the receive
window still growing). The chat room's join storm warms its connections, the baseline has no
such thing; so before timing, both rooms get the same `--warm` texts of 2,000 characters.

    python benchmarks/chat_fanout.py [--clients 100 1000] [--messages 100] [--warmup 5]
                                     [--warm 200] [--out benchmarks/results/chat.md]
    python benchmarks/chat_fanout.py --quick      # rooms of 100 and 300, 20 messages

Exits with status 1 when filling the largest room takes more than `FILL_TARGET` times the
baseline's time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from wslab._limits import raise_open_files_limit
from wslab.bench.report import load_average, machine
from wslab.bench.stats import percentile

#: Marks a measured message's text: "fanout#<seq>#".
MARK = "fanout#"
#: Marks a notice that someone joined (the chat's encoding, compact JSON).
NOTICE = '"type":"presence_changed"'
#: Connections the client process opens at once (the listen backlog is 100 by default).
CONNECT_AT_ONCE = 50
#: Characters of each warming text (the chat's default max_text).
WARM_SIZE = 2000
#: Seconds a message may take to reach everyone before the run gives up.
MESSAGE_TIMEOUT = 30.0
#: Seconds filling a room may take.
FILL_TIMEOUT = 300.0
#: The issue's target: filling a room of 1,000 takes at most twice the baseline's time.
FILL_TARGET = 2.0


# --- the client process: N asyncio receivers --------------------------------------------------


def receivers(pipe: Connection, url: str, chat: bool, notices: bool, count: int) -> None:
    """The client process: connect `count` clients, report each message's last arrival.

    `chat`: each client joins, and the room is full once every client's list (its welcome's,
    then the batches it received) is exactly the N nicks; `notices` (announcing): once
    N(N-1)/2 notices arrived. Its open-files limit is inherited from `main()`, which raised it.
    """
    pipe.send(("clock", time.monotonic()))
    asyncio.run(_receivers(pipe, url, chat, notices, count))


async def _receivers(pipe: Connection, url: str, chat: bool, notices: bool, count: int) -> None:
    from websockets.asyncio.client import connect

    arrived: dict[int, int] = {}
    first: dict[int, float] = {}
    # announcing: notices received, until every member has heard of every later one;
    # chat: members whose own list is complete.
    heard = 0
    heard_all = asyncio.Event()
    heard_all_at = 0.0
    lists: dict[Any, set[str]] = {}  # chat: each client's list, from its welcome on
    everyone = {f"c{index}" for index in range(count)}  # what each list must be in the end

    def heard_one() -> None:
        nonlocal heard, heard_all_at
        heard += 1
        if heard == (count if chat else count * (count - 1) // 2):
            heard_all_at = time.monotonic()
            heard_all.set()

    async def receive(websocket: Any) -> None:
        async for data in websocket:
            at = data.find(MARK)
            if at < 0:
                if NOTICE not in data:
                    continue  # an ack, typing...
                if not chat:
                    heard_one()
                    continue
                change = json.loads(data)
                online = lists[websocket]
                if online != everyone:
                    online.difference_update(change["left"])
                    online.update(change["joined"])
                    if online == everyone:
                        heard_one()
                continue
            now = time.monotonic()
            start = at + len(MARK)
            seq = int(data[start : data.index("#", start)])
            n = arrived[seq] = arrived.get(seq, 0) + 1
            if n == 1:
                first[seq] = now
            if n == count:
                pipe.send(("done", seq, first.pop(seq), now))
                del arrived[seq]

    async def open_one(index: int) -> Any:
        websocket = await connect(
            url, proxy=None, compression=None, ping_interval=None, open_timeout=60
        )
        if chat:
            await websocket.send(json.dumps({"type": "join", "nick": f"c{index}"}))
            while (welcome := json.loads(await websocket.recv()))["type"] != "welcome":
                pass
            lists[websocket] = set(welcome["online"])
            if lists[websocket] == everyone:  # the last one in may know everyone already
                heard_one()
        return websocket

    started = time.monotonic()
    websockets: list[Any] = []
    tasks = []
    for batch in range(0, count, CONNECT_AT_ONCE):
        indexes = range(batch, min(batch + CONNECT_AT_ONCE, count))
        opened = await asyncio.gather(*(open_one(i) for i in indexes))
        websockets += opened
        # Read from now on: the others' joins arrive while the rest connect.
        tasks += [asyncio.create_task(receive(ws)) for ws in opened]
    # The receivers are the measuring instrument: a garbage collection among a thousand
    # connections' objects pauses this process for milliseconds (measured: 300 receivers,
    # the last arrival 13 ms after the send without collections, 28 ms with), which would be
    # counted as fan-out. Nothing here lives long enough to need the collector.
    connected = time.monotonic()
    if notices and (count > 1 or chat):
        await asyncio.wait_for(heard_all.wait(), FILL_TIMEOUT)
    else:
        heard_all_at = connected
    gc.collect()
    gc.disable()
    pipe.send(("ready", max(connected, heard_all_at) - started))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    await asyncio.gather(*(websocket.close() for websocket in websockets))
    await asyncio.gather(*tasks, return_exceptions=True)


# --- this process: the server thread and the sender ----------------------------------------


@contextmanager
def chat_server_url() -> Iterator[str]:
    from wslab.chat.server import chat_server

    with chat_server("bench-chat", max_backlog=1 << 30) as server:
        yield server.url


@contextmanager
def baseline_server_url(announce: bool = False) -> Iterator[str]:
    from websockets.asyncio.server import broadcast

    import wslab
    from wslab.chat import protocol

    members: set[Any] = set()
    arrivals = iter(range(1_000_000))

    async def relay(websocket: Any) -> None:
        if announce:  # the chat's notice for one arrival, as it was before batches
            notice = protocol.presence_changed(protocol.DEFAULT_ROOM, [f"c{next(arrivals)}"], [])
            broadcast(members, protocol.encode(notice))
        members.add(websocket)
        try:
            async for message in websocket:
                broadcast([m for m in members if m is not websocket], message)
        finally:
            members.discard(websocket)

    with wslab.serve(relay, name="bench-baseline") as server:
        yield server.url


@contextmanager
def announcing_server_url() -> Iterator[str]:
    with baseline_server_url(announce=True) as url:
        yield url


#: The two rooms measured side by side; "announcing" only fills, for comparison.
SERVERS = {"chat": chat_server_url, "baseline": baseline_server_url}
FILL_ONLY = {"announcing": announcing_server_url}
#: The rooms whose members hear of each other: their fill waits for N(N-1)/2 notices.
NOTICES = {"chat", "announcing"}


class Room:
    """A server (thread), `count` receivers (another process) and a sender (this thread)."""

    def __init__(self, kind: str, count: int, stack: ExitStack, sender: bool = True) -> None:
        from websockets.sync.client import connect

        self.kind, self.count = kind, count
        self._process: multiprocessing.process.BaseProcess | None = None
        stack.callback(self._stop_receivers)
        # Exits run last first: the server stops before the receivers leave. Stopping it
        # first puts every connection in CLOSING at once, and broadcast() skips those; the
        # receivers leaving one by one would keep the server sending batches of leaves to
        # those still there while the next room is measured.
        url = stack.enter_context({**SERVERS, **FILL_ONLY}[kind]())
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._pipe, there = context.Pipe()
        args = (there, url, kind == "chat", kind in NOTICES, count)
        process = context.Process(target=receivers, args=args)
        process.daemon = True
        before = time.monotonic()
        process.start()
        self._process = process
        kind_, child_clock = self._pipe.recv()
        after = time.monotonic()
        # CLOCK_MONOTONIC is system-wide: a reading there falls between two readings here.
        if not (kind_ == "clock" and before <= child_clock <= after):
            raise RuntimeError(f"clocks not comparable: {before} <= {child_clock} <= {after}?")
        if not self._pipe.poll(FILL_TIMEOUT):
            raise TimeoutError(f"{count} clients not connected within {FILL_TIMEOUT} s")
        _, self.fill_seconds = self._pipe.recv()
        if not sender:
            return
        self._ws = stack.enter_context(
            connect(url, proxy=None, compression=None, ping_interval=None)
        )
        if kind == "chat":
            self._ws.send(json.dumps({"type": "join", "nick": "sender"}))
            self._read_until("welcome", FILL_TIMEOUT)
        self.fanout: list[float] = []
        self.first: list[float] = []
        self._seq = 0

    def measure(self, keep: bool = True, timeout: float = MESSAGE_TIMEOUT) -> None:
        """Send one message; record when the first and the last receiver had it."""
        seq, self._seq = self._seq, self._seq + 1
        text = json.dumps({"type": "say", "text": f"{MARK}{seq}#"})
        sent = time.monotonic()
        self._ws.send(text)
        if not self._pipe.poll(timeout):
            raise TimeoutError(f"{self.kind}: message {seq} did not reach {self.count} clients")
        kind, done_seq, first_at, last_at = self._pipe.recv()
        if (kind, done_seq) != ("done", seq):
            raise RuntimeError(f"{self.kind}: expected message {seq} done, got {kind} {done_seq}")
        if keep:
            self.fanout.append(last_at - sent)
            self.first.append(first_at - sent)
        if self.kind == "chat":  # read the ack, so that nothing piles up for the sender
            self._read_until("ack", timeout)

    def warm(self, count: int, size: int) -> None:
        """Send `count` texts of `size` characters to everyone, then wait until all have them."""
        text = json.dumps({"type": "say", "text": "w" * size})
        for _ in range(count):
            self._ws.send(text)
        if self.kind == "chat":
            for _ in range(count):
                self._read_until("ack", FILL_TIMEOUT)
        self.measure(keep=False, timeout=FILL_TIMEOUT)  # arrives after them: TCP keeps order

    def _read_until(self, kind: str, timeout: float) -> None:
        while json.loads(self._ws.recv(timeout))["type"] != kind:
            pass

    def _stop_receivers(self) -> None:
        process = self._process
        if process is None:
            return
        if process.is_alive():
            self._pipe.send("stop")
            process.join(30)
        if process.is_alive():
            process.kill()
            process.join()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--messages", type=int, default=100, help="timed messages per room")
    parser.add_argument("--warmup", type=int, default=5, help="untimed messages first")
    parser.add_argument(
        "--warm", type=int, default=200, help=f"texts of {WARM_SIZE} characters sent first"
    )
    parser.add_argument(
        "--quick", action="store_true", help="rooms of 100 and 300, 20 messages each"
    )
    parser.add_argument(
        "--fills",
        type=int,
        default=3,
        help="rounds of filling each room alone, order alternating (the median is reported: "
        "one round slowed by others' work on the machine does not decide it)",
    )
    parser.add_argument("--out", type=Path, help="also write the results there (Markdown)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.messages, args.warmup, args.warm = [100, 300], 20, 3, 50
    started, load_before = time.monotonic(), load_average()
    # Both servers' sockets live here; the receiver processes inherit the limit.
    limit = raise_open_files_limit(2 * max(args.clients) + 200)

    info = time.get_clock_info("monotonic")
    lines = [
        f"chat fan-out: time until the last of N clients has a message; {args.messages} "
        f"messages per room (+{args.warmup} warm-up, after {args.warm} texts of {WARM_SIZE} "
        "characters), chat and baseline interleaved",
        f"clock: time.monotonic() is {info.implementation} (system-wide on Linux); "
        f"open files {limit}; load average before {os.getloadavg()[0]:.2f}",
        f"fill: seconds until N receivers are in (chat: welcomed, and each one's own list is "
        f"exactly the N; announcing: all N(N-1)/2 notices arrived), median of {args.fills} "
        "rounds, each room alone",
        f"{'server':<10} {'N':>5} {'fill':>9}  {'median':>11} {'p99':>11}  {'first (median)':>14}",
    ]
    print("\n".join(lines), flush=True)
    ratios, fills = [], []
    for count in args.clients:
        # Each room fills alone (a room still open would weigh on the next one: its thousand
        # connections' objects make every garbage collection of this process slower).
        filled: dict[str, list[float]] = {kind: [] for kind in [*SERVERS, *FILL_ONLY]}
        for n in range(args.fills):
            for kind in list(filled)[:: 1 if n % 2 == 0 else -1]:
                with ExitStack() as stack:
                    filled[kind].append(Room(kind, count, stack, sender=False).fill_seconds)
        fill = {kind: statistics.median(seconds) for kind, seconds in filled.items()}
        with ExitStack() as stack:
            rooms = [Room(kind, count, stack) for kind in SERVERS]
            for room in rooms:  # the first message also waits for the join storm to drain
                room.measure(keep=False, timeout=FILL_TIMEOUT)
                room.warm(args.warm, WARM_SIZE)
            for n in range(args.warmup + args.messages):
                for room in rooms:  # alternate, so that both see the same machine
                    room.measure(keep=n >= args.warmup)
            for room in rooms:
                line = (
                    f"{room.kind:<10} {count:>5} {fill[room.kind]:>7.2f} s  "
                    f"{ms(statistics.median(room.fanout))} {ms(percentile(room.fanout, 99))}  "
                    f"{ms(statistics.median(room.first)):>14}"
                )
                lines.append(line)
                print(line, flush=True)
            line = f"{'announcing':<10} {count:>5} {fill['announcing']:>7.2f} s"
            lines.append(line)
            print(line, flush=True)
            chat, base = rooms
            ratios.append(
                f"N={count}: fan-out, chat / baseline = "
                f"{statistics.median(chat.fanout) / statistics.median(base.fanout):.2f}x "
                f"(median), {percentile(chat.fanout, 99) / percentile(base.fanout, 99):.2f}x (p99)"
            )
            # Round n of chat and of baseline ran one after the other: their ratio shows the
            # spread that the machine's other work puts on the median's.
            rounds = " ".join(
                f"{c / b:.1f}x" for c, b in zip(filled["chat"], filled["baseline"], strict=True)
            )
            fills.append((count, fill["chat"], fill["baseline"], fill["announcing"], rounds))
    for count, chat_fill, base_fill, announcing, rounds in fills:
        ratios.append(
            f"N={count}: fill, chat / baseline = {chat_fill / base_fill:.1f}x "
            f"(target <= {FILL_TARGET:.0f}x; rounds {rounds}); "
            f"chat / announcing = {chat_fill / announcing:.2f}x"
        )
    lines += ratios
    lines.append(f"load average after {os.getloadavg()[0]:.2f} (others' work adds noise)")
    print("\n".join(lines[-len(ratios) - 1 :]))
    count, chat_fill, base_fill, _, _ = fills[-1]
    met = chat_fill <= FILL_TARGET * base_fill
    if args.out is not None:
        write_markdown(args.out, argv, lines, time.monotonic() - started, load_before)
        print(f"written to {args.out}")
    if not met:
        print(f"MISSED: filling {count} took {chat_fill / base_fill:.2f}x the baseline's time")
    return 0 if met else 1


def write_markdown(
    path: Path, argv: list[str] | None, lines: list[str], seconds: float, load_before: tuple
) -> None:
    """The run's output as a Markdown page, with the command and the machine."""
    command = " ".join(["python benchmarks/chat_fanout.py", *(argv or sys.argv[1:])])
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [
        "# Chat fan-out and fill: latest results",
        "",
        f"`{command}`, {when}, {seconds:.0f} s. {machine(load_before, load_average())}.",
        "",
        "How it is measured: see the docstring of `benchmarks/chat_fanout.py`. Read the "
        "ratios, not the times: the servers are measured in the same run, on the same machine.",
        "",
        "```",
        *lines,
        "```",
        "",
    ]
    path.write_text("\n".join(text))


if __name__ == "__main__":
    sys.exit(main())
