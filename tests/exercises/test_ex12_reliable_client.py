"""ex12: a reliable client: acks, retries with backoff and full jitter, deduplication by id.

Each test runs the submission's `exchange` against a `Peer`: a websockets server on the
test's own loop that keeps its state across connections, like a real service would (what it
processed, which of its messages were acked) and drops connections exactly where the test
says, with no closing handshake, as a crash would. The tests count what each side
processed: every message at least once on the server, exactly once on the client. The
delays are checked through the `rng` the client is given, never against a clock alone.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from http import HTTPStatus

import pytest
from websockets.asyncio.server import serve

pytestmark = pytest.mark.exercise("ex12_reliable_client")

TIMEOUT = 10.0  # bound of a whole exchange
FAST = {"base_delay": 0.01, "cap": 0.1, "max_reconnects": 8, "timeout": 2.0}
OUTGOING = [f"from client {i}" for i in range(6)]
PUSHED = [f"from server {i}" for i in range(5)]


class Peer:
    """The server side of the protocol, with faults on the first `faulty` connections.

    ``drop_before_ack=k``: hang up (TCP close, no close frame, as a crashed process's kernel
    does) right after receiving the k-th new message, before its ack; ``lose_ack=k``: hang up
    when the ack of its own message k arrives, before recording it (the client has processed
    message k; the server will send it again); ``refuse``: answer that many handshakes with
    503; ``extra_acks``: also send an ack for an unknown id and each ack twice;
    ``connections``: how many connections the test expects; one more ends the test at once
    (a client that reconnects from a healthy connection has stopped waiting for something
    that cannot come: no need to wait for `exchange` to give up too).
    """

    def __init__(
        self,
        pushed=(),
        *,
        faulty=0,
        drop_before_ack=None,
        lose_ack=None,
        refuse=0,
        extra_acks=False,
        connections=None,
    ):
        self.pushed = dict(enumerate(pushed))
        self.faulty = faulty
        self.drop_before_ack = drop_before_ack
        self.lose_ack = lose_ack
        self.refuse = refuse
        self.extra_acks = extra_acks
        self.expected_connections = connections
        self.one_too_many = asyncio.Event()
        self.received: list[int] = []  # ids processed, repeats included
        self.bodies: dict[int, str] = {}
        self.acked: set[int] = set()
        self.connections = 0
        self.dropped = 0  # connections this peer hung up on
        self.attempts: list[float] = []  # when each handshake arrived
        self.close_codes: list[int | None] = []

    def process_request(self, connection, request):
        self.attempts.append(time.monotonic())
        if len(self.attempts) <= self.refuse:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "try again later\n")
        return None

    async def handler(self, websocket):
        self.connections += 1
        if self.expected_connections is not None and self.connections > self.expected_connections:
            self.one_too_many.set()
            return
        faulty = self.connections <= self.faulty
        new = 0
        for id, body in sorted(self.pushed.items()):
            if id not in self.acked:
                await websocket.send(json.dumps({"type": "msg", "id": id, "body": body}))
        await self.maybe_end(websocket)
        async for text in websocket:
            event = json.loads(text)
            if event["type"] == "msg":
                self.received.append(event["id"])
                self.bodies[event["id"]] = event["body"]
                new += 1
                if faulty and new == self.drop_before_ack:
                    websocket.transport.close()  # processed, never acknowledged
                    self.dropped += 1
                    return
                ack = json.dumps({"type": "ack", "id": event["id"]})
                await websocket.send(ack)
                if self.extra_acks:
                    await websocket.send(ack)
                    await websocket.send(json.dumps({"type": "ack", "id": 999}))
            elif event["type"] == "ack":
                if faulty and event["id"] == self.lose_ack:
                    websocket.transport.close()  # crash before this ack is recorded
                    self.dropped += 1
                    return
                self.acked.add(event["id"])
                await self.maybe_end(websocket)
        self.close_codes.append(websocket.close_code)

    async def maybe_end(self, websocket):
        if self.acked >= set(self.pushed) and not getattr(websocket, "ended", False):
            websocket.ended = True
            await websocket.send(json.dumps({"type": "end"}))


class RecordingRandom(random.Random):
    """A random.Random that remembers the bounds and results of uniform()."""

    def __init__(self, seed):
        super().__init__(seed)
        self.draws: list[tuple[float, float, float]] = []

    def uniform(self, a, b):
        value = super().uniform(a, b)
        self.draws.append((a, b, value))
        return value


def run(submission, peer: Peer | None, outgoing=OUTGOING, rng=None, **options):
    """Run exchange against `peer` (None: nobody listening); return (result, bodies seen)."""
    seen: list[str] = []
    rng = rng or RecordingRandom(1)
    settings = {**FAST, **options}

    async def main():
        if peer is None:
            async with serve(lambda ws: None, "127.0.0.1", 0) as server:
                port = server.sockets[0].getsockname()[1]
            url = f"ws://127.0.0.1:{port}/"  # closed again: nobody listens there now
            return await submission.exchange(url, list(outgoing), seen.append, rng=rng, **settings)
        async with serve(
            peer.handler, "127.0.0.1", 0, process_request=peer.process_request, ping_interval=None
        ) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
            exchange = asyncio.ensure_future(
                submission.exchange(url, list(outgoing), seen.append, rng=rng, **settings)
            )
            one_too_many = asyncio.ensure_future(peer.one_too_many.wait())
            await asyncio.wait({exchange, one_too_many}, return_when=asyncio.FIRST_COMPLETED)
            one_too_many.cancel()
            if not exchange.done():
                exchange.cancel()
                pytest.fail(
                    f"the client opened connection {peer.connections}, though the server hung "
                    f"up on {peer.dropped} and answered the others: it gave up on a healthy "
                    f"connection (the server received ids {peer.received}; the client acked "
                    f"{sorted(peer.acked)})",
                    pytrace=False,
                )
            return exchange.result()

    try:
        result = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    except TimeoutError:
        pytest.fail(f"exchange did not return within {TIMEOUT:g} s")
    return result, seen


def assert_all_delivered_once(peer: Peer, seen: list[str], outgoing=OUTGOING) -> None:
    missing = set(range(len(outgoing))) - set(peer.received)
    assert not missing, f"the server never got messages {sorted(missing)}"
    assert peer.bodies == dict(enumerate(outgoing)), f"bodies received: {peer.bodies}"
    assert peer.acked >= set(peer.pushed), f"acked by the client: {sorted(peer.acked)}"
    assert seen == list(peer.pushed.values()), (
        f"on_message got {seen}; each server message exactly once, in order: "
        f"{list(peer.pushed.values())}"
    )


@pytest.mark.points(2)
def test_clean_exchange(submission):
    """Nothing goes wrong: everything delivered once, no reconnection, a normal close."""
    peer = Peer(PUSHED)
    result, seen = run(submission, peer)
    assert result == 0, f"exchange returned {result!r}; with no failure that is 0 reconnections"
    assert peer.received == list(range(len(OUTGOING))), f"ids received: {peer.received}"
    assert_all_delivered_once(peer, seen)
    assert peer.close_codes == [1000], f"the connection ended with {peer.close_codes}, not 1000"


@pytest.mark.points(2)
def test_resends_what_was_not_acked(submission):
    """The server crashes after processing a message, before acking it: the client resends."""
    peer = Peer(faulty=2, drop_before_ack=2, connections=3)
    result, seen = run(submission, peer)
    assert_all_delivered_once(peer, seen)
    assert peer.connections == 3, f"{peer.connections} connections; 2 dropped, then one more"
    assert result == 2, f"exchange returned {result!r}, not the 2 reconnections made"
    for id in (1, 2):  # each was processed but never acked on a dropped connection
        assert peer.received.count(id) >= 2, (
            f"message {id} was received {peer.received.count(id)} time(s): it was not acked "
            f"on a dropped connection, so it must be sent again (server saw {peer.received})"
        )


@pytest.mark.points(2)
def test_processes_each_message_once(submission):
    """The server crashes as a message's ack arrives: the message comes again, processed once."""
    peer = Peer(PUSHED, faulty=2, lose_ack=2, connections=3)
    result, seen = run(submission, peer, outgoing=[])
    assert result == 2, f"exchange returned {result!r}, not the 2 reconnections made"
    assert_all_delivered_once(peer, seen, outgoing=[])


@pytest.mark.points(1)
def test_ignores_repeated_and_unknown_acks(submission):
    """An ack that comes twice, or names no message, changes nothing."""
    peer = Peer(PUSHED, extra_acks=True)
    result, seen = run(submission, peer)
    assert result == 0
    assert_all_delivered_once(peer, seen)


@pytest.mark.points(2)
def test_backoff_with_full_jitter(submission):
    """Refused handshakes: retries after rng.uniform(0, min(cap, base * 2**n)), really waited."""
    rng = RecordingRandom(3)
    peer = Peer(PUSHED, refuse=4)
    result, seen = run(submission, peer, rng=rng, base_delay=0.02, cap=0.08)
    assert result == 4, f"exchange returned {result!r}, not the 4 reconnections made"
    assert_all_delivered_once(peer, seen)
    bounds = [(a, b) for a, b, _ in rng.draws]
    assert bounds == [(0, 0.02), (0, 0.04), (0, 0.08), (0, 0.08)], (
        f"rng.uniform was called with {bounds}; before reconnection n the delay is "
        "rng.uniform(0, min(cap, base_delay * 2**n)): full jitter, from 0"
    )
    gaps = [b - a for a, b in zip(peer.attempts, peer.attempts[1:], strict=False)]
    for n, (gap, (_, _, delay)) in enumerate(zip(gaps, rng.draws, strict=False)):
        assert gap >= delay - 0.002, f"reconnection {n} came {gap:.3f} s after, before its delay"


@pytest.mark.points(1)
def test_gives_up_after_max_reconnects(submission):
    """With nobody listening: max_reconnects delays, then ConnectionError."""
    rng = RecordingRandom(5)
    with pytest.raises(ConnectionError):
        run(submission, None, rng=rng, max_reconnects=3)
    assert len(rng.draws) == 3, f"{len(rng.draws)} backoff delays drawn, not 3 (one per retry)"
