"""ex07: a full-duplex client, against servers that only a full-duplex client can finish with.

Each test runs, on one event loop, a websockets server of its own and the submission's
`duplex()`, watched. The server records everything: what it received, what it sent, what it
is waiting for, the close frame it got. Half duplex is detected by what waits for what, not by
how long anything takes: the servers are built so that a client that does not send and
receive at the same time can never finish, and the watcher calls it a deadlock when neither
side makes any progress for `STALL` seconds. A full-duplex client never stops making
progress, however slow the machine.

- `listen_first` sends nothing until it has read every client message: a client that waits to
  receive before it has sent everything waits forever.
- `speak_first` sends more than the TCP buffers between the two can hold before it reads
  anything: a client that sends everything before receiving blocks in `send` (the server does
  not read), while the server blocks in `send` (the client does not read). The amount is
  computed from this machine's limits on socket buffers, plus websockets' own bounded queues.
"""

from __future__ import annotations

import asyncio
import gc
import math
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

pytestmark = pytest.mark.exercise("ex07_full_duplex")

TIMEOUT = 5.0  # seconds, for every wait of the test's own
STALL = 2.0  # seconds without any progress on either side: a deadlock
POLL = 0.05  # seconds between two looks at the server's progress
LIMIT = 10.0  # seconds for one call of duplex(), however steadily it progresses

SIZE = 64 * 1024  # characters (and bytes: ASCII) in each message of the speak-first test
SERVER_BUFFER = 64 * 1024  # the test server's socket buffers (Linux doubles what it is given)


class Verdict(Exception):
    """The test fails with this message (raised inside the event loop, reported outside)."""


def run(scenario: Awaitable[Any]) -> Any:
    """Run one test's scenario on a fresh event loop; a Verdict fails the test."""
    try:
        return asyncio.run(scenario)
    except Verdict as verdict:
        message = str(verdict)
    finally:
        gc.collect()  # finalize what the scenario left behind now, not inside a later test
    pytest.fail(message, pytrace=False)


def explain(exc: BaseException) -> str:
    """An exception in one line (the first one inside an ExceptionGroup)."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, BaseExceptionGroup):
        text += f" [{explain(exc.exceptions[0])}]"
    return text


def contains(exc: BaseException, kind: type[BaseException]) -> bool:
    """`exc` is a `kind`, or an ExceptionGroup holding one (asyncio.TaskGroup raises those)."""
    if isinstance(exc, BaseExceptionGroup):
        return any(contains(inner, kind) for inner in exc.exceptions)
    return isinstance(exc, kind)


def short(message: object) -> str:
    """One message, as its repr, cut to 20 characters (the speak-first ones are 64 KiB)."""
    text = repr(message)
    return text if len(text) <= 20 else text[:17] + "..."


def summary(messages: list) -> str:
    """A list of messages as a learner wants to read it in a verdict."""
    if len(messages) <= 6:
        return f"[{', '.join(short(m) for m in messages)}]"
    return f"{len(messages)} messages, starting {', '.join(short(m) for m in messages[:3])}"


def first_difference(got: list, wanted: list) -> str:
    """Where two lists of messages part: the index and both messages, shortened."""
    for number, (mine, theirs) in enumerate(zip(got, wanted, strict=False)):
        if mine != theirs:
            return f"message {number} is {short(mine)}, expected {short(theirs)}"
    return f"{len(got)} messages instead of {len(wanted)}"


# --- The test's server ----------------------------------------------------------------------


@dataclass
class Peer:
    """The server's side of one connection, and what happened on it."""

    websocket: ServerConnection
    received: list[str] = field(default_factory=list)
    sent: int = 0
    phase: str = "starting"
    """"receiving", "sending" or "closing" (reading until the client's close)."""
    waiting: str = "to start"
    close: Close | None = None
    """The close frame the client sent, if it sent one."""
    client_closed_first: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: str, total: int) -> None:
        self.phase, self.waiting = "sending", f"to send its message {self.sent + 1} of {total}"
        await self.websocket.send(message)
        self.sent += 1

    async def recv(self, total: int) -> None:
        self.phase = "receiving"
        self.waiting = f"for your message {len(self.received) + 1} of {total}"
        self.received.append(await self.websocket.recv())

    async def until_closed(self) -> None:
        """Read whatever else comes until the client closes the connection."""
        self.phase, self.waiting = "closing", "for you to close the connection"
        async for message in self.websocket:
            self.received.append(message)

    def state(self) -> str:
        return (
            f"the server had sent {self.sent} message(s), received {len(self.received)} of "
            f"yours, and was waiting {self.waiting}"
        )


Behaviour = Callable[[Peer], Awaitable[None]]


class TestServer:
    """A websockets server on the test's loop, on 127.0.0.1 port 0, running `behaviour`."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.peers: list[Peer] = []
        self.server: Any = None
        self.url = ""

    async def __aenter__(self) -> TestServer:
        # Small buffers on the server's side; the client's are whatever its OS allows.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SERVER_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SERVER_BUFFER)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        # max_queue=1: the server's websockets buffers one frame it has not read, no more.
        self.server = await websockets_serve(
            self._handle, sock=sock, compression=None, max_queue=1, ping_interval=None
        )
        self.url = f"ws://127.0.0.1:{sock.getsockname()[1]}/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for peer in self.peers:  # pull the plug: nothing may wait for a closing handshake
            peer.websocket.transport.abort()
        self.server.close()
        try:
            await asyncio.wait_for(self.server.wait_closed(), TIMEOUT)
        except TimeoutError:
            pass

    async def _handle(self, websocket: ServerConnection) -> None:
        peer = Peer(websocket)
        self.peers.append(peer)
        try:
            await self.behaviour(peer)
        except ConnectionClosed:
            pass
        finally:
            peer.close = websocket.protocol.close_rcvd
            peer.client_closed_first = bool(websocket.protocol.close_rcvd_then_sent)
            peer.finished.set()

    def progress(self) -> tuple[int, ...]:
        """Changes whenever the server sends or receives a message or a client connects."""
        return (len(self.peers), *(p.sent + len(p.received) for p in self.peers))

    def state(self) -> str:
        if not self.peers:
            return "no client had connected to the server"
        return self.peers[-1].state()

    def peer(self) -> Peer:
        if not self.peers:
            raise Verdict("duplex() returned without ever connecting to the server")
        return self.peers[-1]


def streaming(messages: list[str], gap: float = 0.0) -> Behaviour:
    """Send `messages` on the server's own schedule while reading, until the client closes.

    `gap` seconds after each message (a slow source: a sensor, a ticker); even 0 lets the
    reader and the client run in between.
    """

    async def behaviour(peer: Peer) -> None:
        async def speak() -> None:
            for message in messages:
                await peer.websocket.send(message)
                peer.sent += 1
                await asyncio.sleep(gap)

        speaker = asyncio.create_task(speak())
        try:
            await peer.until_closed()
        finally:
            speaker.cancel()
            await asyncio.gather(speaker, return_exceptions=True)

    return behaviour


def listen_first(count: int, messages: list[str]) -> Behaviour:
    """Read `count` messages before sending a single one of `messages`."""

    async def behaviour(peer: Peer) -> None:
        for _ in range(count):
            await peer.recv(count)
        for message in messages:
            await peer.send(message, len(messages))
        await peer.until_closed()

    return behaviour


def speak_first(messages: list[str], count: int) -> Behaviour:
    """Send all of `messages` before reading a single one of the client's `count`."""

    async def behaviour(peer: Peer) -> None:
        for message in messages:
            await peer.send(message, len(messages))
        for _ in range(count):
            await peer.recv(count)
        await peer.until_closed()

    return behaviour


def closing_early(messages: list[str]) -> Behaviour:
    """Send `messages`, then close the connection with 1011 (internal error)."""

    async def behaviour(peer: Peer) -> None:
        for message in messages:
            await peer.send(message, len(messages))
        await peer.websocket.close(1011, "the server gives up")

    return behaviour


# --- Calling duplex(), watched ----------------------------------------------------------------


def submission_tasks(submission: ModuleType) -> list[asyncio.Task]:
    """Tasks still running a coroutine written in the submission's file."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        and getattr(getattr(task.get_coro(), "cr_code", None), "co_filename", None)
        == submission.__file__
    ]


async def watched(
    submission: ModuleType,
    server: TestServer,
    outgoing: list[str],
    expected: int,
    stalled: dict[str, str] | None = None,
) -> asyncio.Task:
    """Run duplex() until it ends; a Verdict if it stops making progress.

    `stalled` says what a deadlock means in each phase of the server ("receiving",
    "sending", "closing"); the server's own state follows.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(submission.duplex(server.url, outgoing, expected))
    started = changed = loop.time()
    last = server.progress()
    while True:
        done, _ = await asyncio.wait({task}, timeout=POLL)
        if done:
            break
        now, when = server.progress(), loop.time()
        if now != last:
            last, changed = now, when
        if when - changed < STALL and when - started < LIMIT:
            continue
        # Stuck (or far too slow): say why, after unblocking everything.
        phase = server.peers[-1].phase if server.peers else "starting"
        if when - changed < STALL:
            why = f"duplex() was still running after {LIMIT:g} s"
        else:
            why = (stalled or {}).get(phase) or (
                f"duplex() made no progress for {STALL:g} s (nor did the server)"
            )
        state = server.state()
        for peer in server.peers:
            peer.websocket.transport.abort()
        task.cancel()
        await asyncio.wait({task}, timeout=TIMEOUT)
        if task.done() and not task.cancelled():
            task.exception()  # seen: asyncio must not log it as never retrieved
        raise Verdict(f"{why}: {state}")
    if task.cancelled():
        raise Verdict("duplex() was cancelled: CancelledError must not escape it on its own")
    # A task duplex() started and left running would go on after it returned.
    for _ in range(3):
        await asyncio.sleep(0)
    if leftovers := submission_tasks(submission):
        task.exception()  # seen: asyncio must not log it as never retrieved
        names = ", ".join(sorted(t.get_coro().__qualname__ for t in leftovers))
        for leftover in leftovers:
            leftover.cancel()
        await asyncio.wait(leftovers, timeout=TIMEOUT)
        raise Verdict(f"duplex() has ended, but left tasks of its own running: {names}")
    return task


async def exchange(
    submission: ModuleType,
    server: TestServer,
    outgoing: list[str],
    expected: int,
    stalled: dict[str, str] | None = None,
    *,
    closed: bool = True,
) -> tuple[list[str], Peer]:
    """duplex() must return a list; then (if `closed`) the server must see the client close."""
    task = await watched(submission, server, outgoing, expected, stalled)
    call = f"duplex(url, <{len(outgoing)} messages>, {expected})"
    if (error := task.exception()) is not None:
        raise Verdict(f"{call} raised {explain(error)}; {server.state()}")
    result = task.result()
    if not isinstance(result, list):
        raise Verdict(f"{call} returned {type(result).__name__}, not a list")
    peer = server.peer()
    if closed:
        try:  # the close is on its way when duplex() returns: no progress for STALL is none
            await asyncio.wait_for(peer.finished.wait(), STALL)
        except TimeoutError:
            raise Verdict(
                f"{call} returned, but {STALL:g} s later the server had seen no close: "
                f"close the connection before returning (leave `async with connect(...)`); "
                f"{peer.state()}"
            ) from None
    return result, peer


def numbered(prefix: str, count: int, size: int = 0) -> list[str]:
    """`count` distinct messages in order: "s0000", "s0001", ..., padded to `size`."""
    return [f"{prefix}{n:04d}".ljust(size, ".") for n in range(count)]


def check_received(result: list[str], wanted: list[str], expected: int) -> None:
    if result != wanted:
        detail = first_difference(result, wanted)
        raise Verdict(
            f"duplex() with expected={expected} should return {summary(wanted)}; "
            f"it returned {summary(result)}: {detail}"
        )


def check_sent(peer: Peer, outgoing: list[str]) -> None:
    if peer.received != outgoing:
        detail = first_difference(peer.received, outgoing)
        raise Verdict(
            f"the server should receive all {len(outgoing)} messages of `outgoing`, in "
            f"order, before your close (duplex() returns only when sending is done too); it "
            f"received {summary(peer.received)}: {detail}"
        )


# --- Against a server that streams while it reads ------------------------------------------


@pytest.mark.points(1)
def test_returns_expected_messages_in_order(submission):
    """duplex() returns exactly the first `expected` messages the server sent, in order."""
    pushed = numbered("s", 30)

    async def scenario() -> None:
        # At most 4 messages more than expected: more than that, left unread, could keep
        # websockets from reading the server's close frame (its queue, paused above 16
        # frames, resumes at 4), and your close would wait for close_timeout, 10 s.
        for expected in (30, 27, 26):
            async with TestServer(streaming(pushed)) as server:
                result, _ = await exchange(
                    submission, server, numbered("c", 5), expected, closed=False
                )
                check_received(result, pushed[:expected], expected)

    run(scenario())


@pytest.mark.points(1)
def test_sends_everything_in_order(submission):
    """The server receives every message of `outgoing`, in order, even when few come back."""
    outgoing = [*numbered("c", 45), "", "café ☕", "🎉", " spaces ", "\n"]

    async def scenario() -> None:
        async with TestServer(streaming(numbered("s", 3))) as server:
            result, peer = await exchange(submission, server, outgoing, 3)
            check_received(result, numbered("s", 3), 3)
            check_sent(peer, outgoing)

    run(scenario())


@pytest.mark.points(1)
def test_closes_normally(submission):
    """When both directions are done, the client closes the connection with code 1000 (§7.4.1)."""

    async def scenario() -> None:
        async with TestServer(streaming(numbered("s", 5))) as server:
            _, peer = await exchange(submission, server, numbered("c", 5), 5)
            if peer.close is None or peer.close.code != 1000:
                got = "no close frame" if peer.close is None else f"close code {peer.close.code}"
                raise Verdict(f"the server should get close code 1000 from you; it got {got}")
            if not peer.client_closed_first:
                raise Verdict("the server closed first: your client should close the connection")

    run(scenario())


@pytest.mark.points(1)
def test_nothing_to_send_or_nothing_to_receive(submission):
    """With nothing to send, or nothing to receive (expected=0), duplex() still does the rest."""

    async def scenario() -> None:
        async with TestServer(streaming(numbered("s", 5))) as server:
            result, _ = await exchange(submission, server, [], 5)
            check_received(result, numbered("s", 5), 5)
        async with TestServer(streaming([])) as server:
            result, peer = await exchange(submission, server, numbered("c", 5), 0)
            check_received(result, [], 0)
            check_sent(peer, numbered("c", 5))
        async with TestServer(streaming([])) as server:
            result, _ = await exchange(submission, server, [], 0)
            check_received(result, [], 0)

    run(scenario())


@pytest.mark.points(1)
def test_thousand_messages_each_way(submission):
    """1000 messages go each way, all of them in order."""
    outgoing, pushed = numbered("c", 1000), numbered("s", 1000)

    async def scenario() -> None:
        async with TestServer(streaming(pushed)) as server:
            result, peer = await exchange(submission, server, outgoing, 1000)
            check_received(result, pushed, 1000)
            check_sent(peer, outgoing)

    run(scenario())


# --- Against servers that only full duplex can finish with ---------------------------------


@pytest.mark.points(2)
def test_server_that_listens_first(submission):
    """A server that answers only after reading all N messages: receiving first never ends."""
    outgoing, pushed = numbered("c", 10), numbered("s", 10)
    stalled = {
        "receiving": (
            "half-duplex detected: this server sends nothing until it has read all "
            f"{len(outgoing)} of your messages, and your client stopped sending to wait for a "
            "message; send and receive at the same time"
        )
    }

    async def scenario() -> None:
        async with TestServer(listen_first(len(outgoing), pushed)) as server:
            # The server sent only after reading all of `outgoing`: no need to wait for the close.
            result, peer = await exchange(
                submission, server, outgoing, len(pushed), stalled, closed=False
            )
            check_received(result, pushed, len(pushed))
            check_sent(peer, outgoing)

    run(scenario())


def socket_buffer_limits() -> tuple[int, int]:
    """The most one socket's send buffer and receive buffer may hold here, in bytes."""
    try:
        proc = Path("/proc/sys/net")
        tcp_wmem = int((proc / "ipv4/tcp_wmem").read_text().split()[2])  # autotuning's ceiling
        tcp_rmem = int((proc / "ipv4/tcp_rmem").read_text().split()[2])
        wmem_max = int((proc / "core/wmem_max").read_text())  # setsockopt's ceiling, doubled
        rmem_max = int((proc / "core/rmem_max").read_text())
        return max(tcp_wmem, 2 * wmem_max), max(tcp_rmem, 2 * rmem_max)
    except (OSError, ValueError, IndexError):  # not Linux: more than the usual defaults allow
        return 16 * 2**20, 16 * 2**20


def beyond_buffers(client_buffer: int) -> int:
    """How many SIZE messages one direction takes to overflow everything that buffers it.

    The client's socket buffer, the server's (at most twice SERVER_BUFFER), and a slack of 64
    messages (4 MiB) for what websockets and asyncio hold at either end: up to 16 frames in
    the client's queue (max_queue), 1 in the server's, a read of 256 KiB and a write buffer of
    32 KiB plus one frame on each side.
    """
    return math.ceil((client_buffer + 2 * SERVER_BUFFER) / SIZE) + 64


@pytest.mark.points(2)
def test_server_that_speaks_first(submission):
    """A server that sends more than TCP can buffer before reading: sending first never ends."""
    client_send, client_receive = socket_buffer_limits()
    outgoing = numbered("c", beyond_buffers(client_send), SIZE)
    pushed = numbered("s", beyond_buffers(client_receive), SIZE)
    stalled = {
        "sending": (
            f"half-duplex detected: this server sends {len(pushed)} messages of 64 KiB, more "
            "than the TCP buffers between you can hold, before it reads any of yours, and your "
            "client was not receiving them (sending everything first?); receive while you send"
        )
    }

    async def scenario() -> None:
        async with TestServer(speak_first(pushed, len(outgoing))) as server:
            result, peer = await exchange(submission, server, outgoing, len(pushed), stalled)
            check_received(result, pushed, len(pushed))
            check_sent(peer, outgoing)

    run(scenario())


# --- Failing instead of hanging -------------------------------------------------------------


@pytest.mark.points(1)
def test_fails_instead_of_hanging(submission, monkeypatch):
    """Closed early: ConnectionClosed; silent: TimeoutError; slow but steady: no timeout at all."""

    async def scenario() -> None:
        async with TestServer(closing_early(numbered("s", 2))) as server:
            task = await watched(submission, server, numbered("c", 3), 5)
            error = task.exception()
            if error is None or not contains(error, ConnectionClosed):
                got = f"raised {explain(error)}" if error else f"returned {task.result()!r}"
                raise Verdict(
                    "the server closed with 1011 after 2 of the 5 expected messages: duplex() "
                    f"should raise ConnectionClosed (a ConnectionClosedError), it {got}"
                )

        monkeypatch.setattr(submission, "RECEIVE_TIMEOUT", 0.5)
        silent = {
            "closing": (
                "duplex() did not give up: the server sent 2 of the 3 expected messages and then "
                "nothing, and every receive must raise TimeoutError after RECEIVE_TIMEOUT seconds "
                "(0.5 in this test)"
            )
        }
        async with TestServer(streaming(numbered("s", 2))) as server:
            task = await watched(submission, server, numbered("c", 3), 3, silent)
            error = task.exception()
            if error is None or not contains(error, TimeoutError):
                got = f"raised {explain(error)}" if error else f"returned {task.result()!r}"
                raise Verdict(
                    "the server sent 2 of the 3 expected messages and then nothing: duplex() "
                    f"should raise TimeoutError after RECEIVE_TIMEOUT seconds, it {got}"
                )

        # A long, slow, healthy stream: 100 messages 10 ms apart, 1 s or more in all, twice
        # RECEIVE_TIMEOUT; but no message comes more than 10 ms after the one before.
        pushed = numbered("s", 100)
        async with TestServer(streaming(pushed, 0.01)) as server:
            task = await watched(submission, server, numbered("c", 3), len(pushed))
            error = task.exception()
            if error is not None:
                raise Verdict(
                    "the server sends 100 messages 10 ms apart, and duplex() raised "
                    f"{explain(error)} when it had sent {server.peer().sent}: RECEIVE_TIMEOUT "
                    "(0.5 s here) bounds each receive, not the whole stream (a long stream is "
                    "not a dead one)"
                )
            check_received(task.result(), pushed, len(pushed))

    run(scenario())
