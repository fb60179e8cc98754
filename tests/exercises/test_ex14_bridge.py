"""ex14: the bridge between a node and Redis, graded on a real Redis and two real nodes.

Each test starts two nodes (websockets servers on 127.0.0.1, port 0, each with the
submission's `Bridge` to one real redis-server) and connects two members to each. What must
not happen (a duplicate, a loop) is checked with a probe: a later event that must be the very
next thing a member receives, and Redis's own count of PUBLISH commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from types import ModuleType
from typing import Any

import pytest
import redis.asyncio as redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve

from wslab.channels import redis_server

pytestmark = pytest.mark.exercise("ex14_bridge")

TIMEOUT = 5.0
# Once a test has failed, its verdict is given: the bridges get this long to stop, and what
# still runs then is dropped with the test's event loop (and its Redis server).
CLEANUP = 1.0


@pytest.fixture
def redis_url():
    """A Redis server of its own for each test (a fresh count of PUBLISH commands)."""
    server = redis_server("ex14-redis")
    try:
        yield server.url
    finally:
        server.stop()


async def within_timeout(coroutine: Any, what: str, seconds: float = TIMEOUT) -> Any:
    """Await the bridge's `coroutine`, failing the test if it has not returned after TIMEOUT.

    Not `asyncio.timeout`, which waits until the cancelled coroutine ends: a bridge caught in
    an endless relay can leave redis-py's teardown, which no cancellation stops, waiting for
    ever (seen with redis 8.2). Here the test goes on, and `run` closes the loop.
    """
    task = asyncio.ensure_future(coroutine)
    await asyncio.wait({task}, timeout=seconds)
    if not task.done():
        task.cancel()
        pytest.fail(f"the bridge's {what} did not return within {seconds:g} s", pytrace=False)
    return task.result()


class Node:
    """One node: a websockets server whose members' publishes go through the bridge."""

    def __init__(self, submission: ModuleType, name: str, redis_url: str) -> None:
        self.name = name
        self.members: list[ServerConnection] = []
        self.bridge = submission.Bridge(redis_url, name, self.deliver)

    def deliver(self, channel: str, data: Any) -> None:
        broadcast(self.members, json.dumps({"channel": channel, "data": data}))

    async def handler(self, websocket: ServerConnection) -> None:
        self.members.append(websocket)
        await websocket.send(json.dumps({"welcome": self.name}))
        try:
            async for text in websocket:
                event = json.loads(text)
                await self.bridge.publish(event["channel"], event["data"])
        finally:
            self.members.remove(websocket)


class Cluster:
    """Two nodes, two members each: members[0:2] on node 1, members[2:4] on node 2."""

    def __init__(self, submission: ModuleType, redis_url: str) -> None:
        self.submission = submission
        self.redis_url = redis_url
        self.nodes: list[Node] = []
        self.servers: list[Any] = []
        self.members: list[ClientConnection] = []
        self.admin = redis.Redis.from_url(redis_url, decode_responses=True)

    async def __aenter__(self) -> Cluster:
        await self.admin.config_resetstat()
        for name in ("1", "2"):
            node = Node(self.submission, name, self.redis_url)
            self.nodes.append(node)
            await within_timeout(node.bridge.start(), "start()")
            server = await serve(node.handler, "127.0.0.1", 0)
            self.servers.append(server)
            port = server.sockets[0].getsockname()[1]
            for _ in range(2):
                member = await connect(f"ws://127.0.0.1:{port}/", proxy=None)
                assert json.loads(await self.recv(member)) == {"welcome": name}
                self.members.append(member)
        return self

    async def __aexit__(self, failed: type[BaseException] | None, *exc_info: object) -> None:
        for member in self.members:
            member.transport.abort()
        for server in self.servers:
            server.close()
        for node in self.nodes:
            with contextlib.suppress(Exception, pytest.fail.Exception):
                await within_timeout(node.bridge.stop(), "stop()", CLEANUP if failed else TIMEOUT)
        await self.admin.aclose()

    async def publish(self, member: int, data: Any, channel: str = "news") -> None:
        await self.members[member].send(json.dumps({"channel": channel, "data": data}))

    async def recv(self, member: ClientConnection) -> Any:
        try:
            async with asyncio.timeout(TIMEOUT):
                return await member.recv()
        except TimeoutError:
            pytest.fail("a member waited 5 s for an event that never came", pytrace=False)

    async def received(self, member: int, count: int) -> list[Any]:
        return [json.loads(await self.recv(self.members[member]))["data"] for _ in range(count)]

    async def publishes(self) -> int:
        stats = await self.admin.info("commandstats")
        return stats.get("cmdstat_publish", {}).get("calls", 0)


def run(coroutine: Any) -> None:
    """Run a test's scenario on a loop of its own, then cancel what is left, for TIMEOUT at most.

    Not `asyncio.run`: that waits without end for the tasks it cancels, and a bridge relaying
    an endless ping-pong through Redis can be left running in a state where its cancellation
    never completes (seen with redis 8.2): the test would never end. Here such a task fails
    the test, and the loop is closed with it (nothing of it runs after the test).
    """
    loop = asyncio.new_event_loop()
    limit = CLEANUP
    try:
        loop.run_until_complete(coroutine)
        limit = TIMEOUT
    finally:
        try:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            stuck: set[asyncio.Task] = set()
            if left:
                _, stuck = loop.run_until_complete(asyncio.wait(left, timeout=limit))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
    if stuck:  # only once the scenario passed: never hide why it failed
        pytest.fail(
            f"{len(stuck)} task(s) still running {TIMEOUT:g} s after the bridges stopped and "
            "they were cancelled: stop() must cancel its task and wait for it to end",
            pytrace=False,
        )


@pytest.mark.points(2)
def test_an_event_reaches_the_members_of_its_own_node_once(submission, redis_url):
    """A member of node 1 publishes: both members of node 1 get it, once (the next event they
    receive, published later on node 2, is that one)."""

    async def scenario() -> None:
        async with Cluster(submission, redis_url) as cluster:
            await cluster.publish(0, "one")
            assert await cluster.received(2, 1) == ["one"]  # it went round through Redis
            await cluster.publish(2, "probe")
            for member in (0, 1):
                assert await cluster.received(member, 2) == ["one", "probe"], f"member {member}"

    run(scenario())


@pytest.mark.points(2)
def test_an_event_reaches_the_members_of_the_other_node_once(submission, redis_url):
    """A member of node 1 publishes: both members of node 2 get it, once (then the probe
    published after they had it)."""

    async def scenario() -> None:
        async with Cluster(submission, redis_url) as cluster:
            await cluster.publish(1, {"price": 1.08})
            for member in (2, 3):
                assert await cluster.received(member, 1) == [{"price": 1.08}], f"member {member}"
            await cluster.publish(0, "probe")
            for member in (2, 3):
                assert await cluster.received(member, 1) == ["probe"], f"member {member}"

    run(scenario())


@pytest.mark.points(3)
def test_twenty_events_from_both_nodes_arrive_once_each_in_order(submission, redis_url):
    """Ten events from a member of each node, interleaved: every member gets all twenty, each
    once, each publisher's in order."""

    async def scenario() -> None:
        async with Cluster(submission, redis_url) as cluster:
            for n in range(10):
                await cluster.publish(0, f"a{n}")
                await cluster.publish(3, f"b{n}")
            for member in range(4):
                got = await cluster.received(member, 20)
                assert sorted(got) == sorted(
                    [f"a{n}" for n in range(10)] + [f"b{n}" for n in range(10)]
                )
                assert [e for e in got if e[0] == "a"] == [f"a{n}" for n in range(10)]
                assert [e for e in got if e[0] == "b"] == [f"b{n}" for n in range(10)]
            await cluster.publish(1, "probe")
            for member in range(4):
                assert await cluster.received(member, 1) == ["probe"], f"member {member}"

    run(scenario())


@pytest.mark.points(2)
def test_one_publish_to_redis_per_event_and_no_loop(submission, redis_url):
    """Redis counts exactly one PUBLISH per event published by a member: the bridges never
    publish what they received."""

    async def scenario() -> None:
        async with Cluster(submission, redis_url) as cluster:
            for n in range(5):
                await cluster.publish(n % 4, n)
            for member in range(4):
                assert sorted(await cluster.received(member, 5)) == list(range(5))
            await cluster.publish(2, "probe")
            for member in range(4):
                assert await cluster.received(member, 1) == ["probe"]
            assert await cluster.publishes() == 6

    run(scenario())


@pytest.mark.points(1)
def test_stop_unsubscribes(submission, redis_url):
    """After both bridges stop, Redis has no pattern subscription left (PUBSUB NUMPAT is 0)."""

    async def scenario() -> None:
        async with Cluster(submission, redis_url) as cluster:
            assert await cluster.admin.pubsub_numpat() >= 1
            for node in cluster.nodes:
                await within_timeout(node.bridge.stop(), "stop()")
            # Redis drops a subscription when it reads the PUNSUBSCRIBE or sees the connection
            # close, which may come a moment after stop() returns: ask until it has (2 s).
            for _ in range(200):
                if await cluster.admin.pubsub_numpat() == 0:
                    break
                await asyncio.sleep(0.01)
            assert await cluster.admin.pubsub_numpat() == 0
            cluster.nodes.clear()

    run(scenario())
