"""ex09: ping timeouts, reconnection and backoff with jitter (RFC 6455 §5.5.2, §5.5.3).

`backoff_delays` is checked on a thousand seeds. `keep_alive` runs against servers written
for the test on plain asyncio streams, whose handshake comes from `wslab.protocol`, the
course's reference codec, so each server can misbehave in exactly one way: one answers pings
(and counts them), one never reads again after the handshake, so no ping ever gets a pong,
one refuses every handshake. websockets' own server plays the one that says one message and
hangs up. Every run of `keep_alive` is bounded by TIMEOUT; no test measures speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from types import ModuleType

import pytest
from websockets.asyncio.server import ServerConnection, serve

from wslab import protocol
from wslab.protocol import HandshakeError, Opcode

pytestmark = pytest.mark.exercise("ex09_heartbeat")

TIMEOUT = 5.0  # seconds: the bound on every keep_alive run and every network wait
# Small intervals, so that a dead peer is noticed in a tenth of a second.
FAST = {"ping_interval": 0.05, "ping_timeout": 0.1, "base_delay": 0.01, "cap": 0.05}
SEEDS = range(1000)


def expect(condition: object, message: str) -> None:
    """Fail the test with `message` alone (no assertion rewriting) unless `condition` holds."""
    if not condition:
        pytest.fail(message, pytrace=False)


# --- backoff_delays ---------------------------------------------------------------------------


@pytest.mark.points(1)
def test_backoff_within_cap(submission):
    """There is one delay per attempt, each a float between 0 and the cap."""
    cases = [(0.1, 2.0, 1.0, 10), (1.0, 3.0, 5.0, 8), (0.5, 1.5, 0.5, 4), (2.0, 2.0, 60.0, 1)]
    for base, factor, cap, attempts in cases:
        call = f"backoff_delays({base}, {factor}, {cap}, {attempts}, rng)"
        for seed in range(20):
            delays = submission.backoff_delays(base, factor, cap, attempts, random.Random(seed))
            expect(isinstance(delays, list), f"{call} returned {delays!r}, not a list")
            expect(len(delays) == attempts, f"{call} returned {len(delays)} delays: {delays}")
            for delay in delays:
                expect(isinstance(delay, float), f"{call}: {delay!r} is not a float")
                expect(0 <= delay <= cap, f"{call}: {delay} is outside [0, cap={cap}]")
    none = submission.backoff_delays(1.0, 2.0, 10.0, 0, random.Random(0))
    expect(
        none == [], f"backoff_delays(1.0, 2.0, 10.0, 0, rng): 0 attempts, 0 delays, not {none!r}"
    )


@pytest.mark.points(2)
def test_backoff_full_jitter_with_geometric_bounds(submission):
    """Delay i is uniform in [0, min(cap, base * factor**i)], judged over 1000 seeds."""
    base, factor, cap, attempts = 0.1, 2.0, 3.2, 8  # bounds 0.1 0.2 0.4 ... 3.2 3.2 3.2
    runs = [submission.backoff_delays(base, factor, cap, attempts, random.Random(s)) for s in SEEDS]
    for i in range(attempts):
        bound = min(cap, base * factor**i)
        draws = [run[i] for run in runs]
        where = f"delay {i} (range [0, {bound:g}] = [0, min(cap, base * factor**{i})])"
        expect(max(draws) <= bound + 1e-12, f"{where}: one of {len(draws)} draws was {max(draws)}")
        expect(
            max(draws) >= 0.95 * bound,
            f"{where}: the largest of {len(draws)} draws was {max(draws):.4f}; "
            "the upper bound must grow geometrically up to the cap",
        )
        expect(
            min(draws) <= 0.05 * bound,
            f"{where}: the smallest of {len(draws)} draws was {min(draws):.4f}; "
            "full jitter draws from 0 up, not from half the bound",
        )
        mean = statistics.fmean(draws)
        expect(
            0.45 * bound <= mean <= 0.55 * bound,
            f"{where}: the mean of {len(draws)} draws was {mean:.4f}; "
            f"uniform draws have a mean of half the bound, {bound / 2:g}",
        )


@pytest.mark.points(1)
def test_backoff_uses_only_the_given_rng(submission):
    """The same seed gives the same delays whatever the global random state; seeds differ."""
    args = (0.5, 2.0, 8.0, 6)
    random.seed(1)
    first = submission.backoff_delays(*args, random.Random(42))
    random.seed(2)
    again = submission.backoff_delays(*args, random.Random(42))
    expect(first == again, f"random.Random(42) gave {first}, then {again}")
    other = submission.backoff_delays(*args, random.Random(43))
    expect(other != first, f"random.Random(42) and random.Random(43) both gave {first}")
    bounds = [min(8.0, 0.5 * 2.0**i) for i in range(6)]
    expect(first != bounds, "every delay is its upper bound: where is the jitter?")


# --- Test servers -----------------------------------------------------------------------------

Behaviour = Callable[["RawServer", int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable]


class RawServer:
    """A WebSocket server on asyncio streams that runs `behaviour` after each handshake.

    `connections` counts the TCP connections accepted; `refuse` answers every handshake
    with HTTP 503 instead.
    """

    def __init__(self, behaviour: Behaviour | None = None, *, refuse: bool = False) -> None:
        self.behaviour = behaviour
        self.refuse = refuse
        self.connections = 0
        self.pings = 0
        self.ping_times: list[float] = []
        """When each ping arrived, on the server's event loop clock."""
        self.close_codes: list[int | None] = []
        self._handlers: set[asyncio.Task] = set()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()
        for task in self._handlers:
            task.cancel()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=TIMEOUT)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), TIMEOUT)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers.add(asyncio.current_task())
        self.connections += 1
        number = self.connections
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if self.refuse:
                error = HandshakeError(503, "down for maintenance")
                writer.write(protocol.build_error_response(error))
            else:
                key = protocol.check_request(protocol.parse_request(head))
                writer.write(protocol.build_response(key))
                await writer.drain()
                await self.behaviour(self, number, reader, writer)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, protocol.ProtocolError):
            pass  # the client left, or broke the rules: either way this connection is over
        finally:
            writer.close()


async def never_read_again(
    server: RawServer, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """A peer that hangs right after the handshake: the socket stays open, nobody reads it."""
    await asyncio.Event().wait()  # until the test ends and cancels us


async def answer_pings(
    server: RawServer, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Say hello, answer every ping with its pong, send a message after each 10th ping.

    On a Close frame, record its code, answer with a Close (§5.5.1) and hang up.
    """
    writer.write(protocol.text(f"hello {number}"))
    parser = protocol.FrameParser(expect_masked=True)
    while chunk := await reader.read(4096):
        for frame in parser.feed(chunk):
            if frame.opcode == Opcode.PING:
                writer.write(protocol.pong(frame.payload))
                server.pings += 1
                server.ping_times.append(asyncio.get_running_loop().time())
                if server.pings % 10 == 0:
                    writer.write(protocol.text(f"{server.pings} pings"))
            elif frame.opcode == Opcode.CLOSE:
                code, _ = protocol.parse_close(frame.payload)
                server.close_codes.append(code)
                writer.write(protocol.close(code))
                return


async def run_keep_alive(
    submission: ModuleType, url: str, what: str, if_stuck: str = "", **options: object
) -> tuple[int, list[str | bytes]]:
    """Run the submission's keep_alive (FAST settings unless overridden) within TIMEOUT.

    Return what it returned and every message it handed to on_message, after each of which
    `react(message)` runs if given; `if_stuck` is a suggestion for the learner if it never
    returns.
    """
    received: list[str | bytes] = []
    react = options.pop("react", None)

    def on_message(message: str | bytes) -> None:
        received.append(message)
        if react is not None:
            react(message)

    settings = {**FAST, "rng": random.Random(7), **options}
    try:
        result = await asyncio.wait_for(submission.keep_alive(url, on_message, **settings), TIMEOUT)
    except TimeoutError:
        problem = f"keep_alive did not return within {TIMEOUT:g} s{if_stuck}"
    except Exception as exc:
        problem = f"keep_alive raised {type(exc).__name__}: {exc}"
    else:
        return result, received
    pytest.fail(f"{what}: {problem} (messages received: {received})", pytrace=False)


# --- keep_alive -------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_pings_a_healthy_server_and_stops_cleanly(submission):
    """The client pings on its own, takes the pongs as life, and on `stop` closes with 1000."""

    async def scenario() -> None:
        async with RawServer(answer_pings) as server:
            stop = asyncio.Event()

            def stop_after_20_pings(message: str | bytes) -> None:
                if message == "20 pings":
                    stop.set()

            what = "against a server that answers pings and sends '20 pings' after 20 of them"
            result, received = await run_keep_alive(
                submission,
                server.url,
                what,
                react=stop_after_20_pings,
                stop=stop,
                ping_interval=0.01,
                ping_timeout=1.0,  # generous: a loaded machine must not look like a dead peer
                max_reconnects=5,
            )
            expect(
                received == ["hello 1", "10 pings", "20 pings"],
                f"{what}: expected on_message to get 'hello 1', '10 pings', '20 pings' "
                f"(one connection, pinged every ping_interval), got {received}",
            )
            # However fast the machine, 20 pings a ping_interval apart span 19 intervals; a
            # slow machine only spreads them further. Half of that is the least accepted.
            span = server.ping_times[19] - server.ping_times[0]
            expect(
                span >= 0.5 * 19 * 0.01,
                f"{what}: the server got 20 pings within {span * 1000:.1f} ms, but "
                "ping_interval is 10 ms: wait ping_interval between two pings (a client "
                "that pings as fast as the pongs come back floods its server)",
            )
            expect(result == 0, f"{what}: stopped after no reconnection, but returned {result!r}")
            expect(server.connections == 1, f"{what}: {server.connections} connections, not 1")
            # The client's close() returned, so the server has answered its Close frame.
            expect(
                server.close_codes == [1000],
                f"{what}: after `stop`, expected a closing handshake with 1000 (§7.1.2), "
                f"the server saw {server.close_codes or 'no Close frame'}",
            )

    asyncio.run(scenario())


@pytest.mark.points(2)
def test_dead_peer_detected_by_ping_timeout(submission):
    """A server that never reads again gets no pong back: the client notices and reconnects."""

    async def scenario() -> None:
        async with RawServer(never_read_again) as server:
            what = "against a server that completes the handshake and then never reads again"
            stuck = (
                ": was the late pong noticed, and did the client then wait for a closing"
                " handshake that a dead peer never answers? (see the hints)"
            )
            result, received = await run_keep_alive(
                submission, server.url, what, stuck, max_reconnects=1
            )
            expect(
                server.connections == 2,
                f"{what}: expected 2 connections (the first, and one reconnection after a "
                f"ping went unanswered for ping_timeout), the server saw {server.connections}",
            )
            expect(result == 1, f"{what}: max_reconnects=1, so return 1, not {result!r}")
            expect(received == [], f"{what}: the server sent nothing, got {received}")

    asyncio.run(scenario())


@pytest.mark.points(1)
def test_reconnects_when_the_server_hangs_up(submission):
    """When the server closes after one message, the client reconnects and keeps receiving."""

    async def scenario() -> None:
        connections = 0

        async def one_message(websocket: ServerConnection) -> None:
            nonlocal connections
            connections += 1
            await websocket.send(f"message {connections}")  # then the handler ends: close 1000

        async with serve(one_message, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
            what = "against a server that sends one message per connection, then closes"
            result, received = await run_keep_alive(
                submission, url, what, max_reconnects=3, ping_timeout=1.0
            )
            expected = ["message 1", "message 2", "message 3", "message 4"]
            expect(
                received == expected,
                f"{what}: with max_reconnects=3, expected the messages of 4 connections, "
                f"{expected}, got {received}",
            )
            expect(result == 3, f"{what}: max_reconnects=3, so return 3, not {result!r}")

            # A schedule of 0.01 s, 1 s, 100 s: after each successful connection it starts
            # over, so each of the 3 reconnections waits 0.01 s. Going on with the schedule
            # would wait 100 s before the third.
            what = (
                f"{what}, with backoff delays of 0.01 s, 1 s, 100 s (base_delay=0.01, "
                "factor=100, an rng that draws the top of the range)"
            )
            stuck = (
                ": after a connection opens, the backoff schedule starts over (a fresh "
                "backoff_delays(...)), so every reconnection here waits 0.01 s"
            )
            result, received = await run_keep_alive(
                submission,
                url,
                what,
                stuck,
                max_reconnects=3,
                ping_timeout=1.0,
                base_delay=0.01,
                factor=100.0,
                cap=100.0,
                rng=TopOfRange(),
            )
            expect(result == 3, f"{what}: max_reconnects=3, so return 3, not {result!r}")

    asyncio.run(scenario())


@pytest.mark.points(1)
def test_refused_handshakes_are_retried(submission):
    """A server that answers every handshake with HTTP 503 is tried 1 + max_reconnects times."""

    async def scenario() -> None:
        async with RawServer(refuse=True) as server:
            what = "against a server that answers every handshake with 503"
            result, _ = await run_keep_alive(submission, server.url, what, max_reconnects=3)
            expect(
                server.connections == 4,
                f"{what}: expected 4 attempts (the first and 3 reconnections), "
                f"the server saw {server.connections}",
            )
            expect(result == 3, f"{what}: max_reconnects=3, so return 3, not {result!r}")

    asyncio.run(scenario())


class TopOfRange(random.Random):
    """An rng whose every draw is (almost) the top of its range."""

    def random(self) -> float:
        return 1.0 - 2.0**-20


@pytest.mark.points(1)
def test_server_down_backs_off_then_gives_up(submission):
    """With nothing listening, the client waits each backoff delay, then returns max_reconnects."""
    with socket.socket() as sock:  # a port that was free a moment ago, and now is closed
        sock.bind(("127.0.0.1", 0))
        url = f"ws://127.0.0.1:{sock.getsockname()[1]}/"

    async def scenario() -> None:
        base, factor, cap = 0.02, 2.0, 0.05
        delays = [min(cap, base * factor**i) for i in range(3)]  # 0.02, 0.04, 0.05
        what = "against a closed port, with an rng that always draws the top of the range"
        started = time.monotonic()
        result, received = await run_keep_alive(
            submission,
            url,
            what,
            max_reconnects=3,
            base_delay=base,
            factor=factor,
            cap=cap,
            rng=TopOfRange(),
        )
        elapsed = time.monotonic() - started
        expect(result == 3, f"{what}: max_reconnects=3, so return 3, not {result!r}")
        expect(received == [], f"{what}: nobody is listening, yet on_message got {received}")
        expect(
            elapsed >= 0.99 * sum(delays),
            f"{what}: the 3 delays before the reconnections add up to {sum(delays):g} s, "
            f"but keep_alive returned after {elapsed:.3f} s: it did not wait them all",
        )

    asyncio.run(scenario())
